//! Network configuration lists as libcni reads them: `*.conflist` files, single-plugin
//! `*.conf`/`*.json` files wrapped into a one-plugin list, and a conf dir searched in lexical
//! order for the first valid configuration (or the one with a given network name).
//!
//! Unknown top-level keys are tolerated, as libcni does: configuration files are shared with
//! other CNI runtimes and plugins, and rejecting keys they understand would break them.

use crate::version::{self, Version};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A parsed network configuration list, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfigList {
    /// The network name (`name`), injected into every plugin's configuration.
    pub name: String,
    /// The negotiated version: the highest supported of `cniVersion` and `cniVersions`.
    pub cni_version: Version,
    /// `disableCheck`: CHECK is a no-op for this network.
    pub disable_check: bool,
    /// `disableGC`: GC is a no-op for this network.
    pub disable_gc: bool,
    /// The plugins, in ADD order.
    pub plugins: Vec<PluginConfig>,
    /// The configuration list as bytes (the file, or the wrapped single-plugin list); cached
    /// with each attachment as libcni does.
    pub bytes: Vec<u8>,
    /// The file it came from.
    pub file: PathBuf,
}

/// One plugin entry of a list, kept as the raw JSON object the plugin receives.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    /// The plugin binary's name (`type`).
    pub plugin_type: String,
    /// Capabilities the entry enables (`capabilities` keys set to `true`).
    pub capabilities: BTreeSet<String>,
    /// The entry as written.
    pub raw: Map<String, Value>,
}

/// Why a network configuration could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or directory could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{}: invalid JSON", file.display())]
    Json {
        /// The file.
        file: PathBuf,
        /// The decoding error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A field is missing or invalid.
    #[error("{}: field {field}: {problem}", file.display())]
    Field {
        /// The file.
        file: PathBuf,
        /// The field, as a path (`plugins[1].type`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The file's extension is none of `.conf`, `.conflist`, `.json`.
    #[error("{}: not a network configuration file (expected .conf, .conflist or .json)", file.display())]
    Extension {
        /// The file.
        file: PathBuf,
    },
    /// The directory holds no configuration files at all.
    #[error("no network configuration files (*.conf, *.conflist, *.json) in {}", dir.display())]
    Empty {
        /// The conf dir.
        dir: PathBuf,
    },
    /// Every configuration file in the directory is invalid.
    #[error("no valid network configuration in {}: {}", dir.display(), join(problems))]
    NoneValid {
        /// The conf dir.
        dir: PathBuf,
        /// Why each file was rejected.
        problems: Vec<ConfigError>,
    },
    /// No valid configuration has the requested name.
    #[error("no network named {name:?} in {}{}", dir.display(), skipped(problems))]
    NotFound {
        /// The conf dir.
        dir: PathBuf,
        /// The requested network name.
        name: String,
        /// Files skipped because they are invalid.
        problems: Vec<ConfigError>,
    },
}

fn join(problems: &[ConfigError]) -> String {
    let parts: Vec<String> = problems.iter().map(error_chain).collect();
    parts.join("; ")
}

fn skipped(problems: &[ConfigError]) -> String {
    if problems.is_empty() {
        String::new()
    } else {
        format!(" (invalid files skipped: {})", join(problems))
    }
}

fn error_chain(e: &ConfigError) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

impl NetworkConfigList {
    /// Parses a configuration list (`.conflist` contents); `file` names it in errors.
    pub fn from_conflist(bytes: &[u8], file: &Path) -> Result<Self, ConfigError> {
        let obj = object(bytes, file)?;
        let header = Header::parse(&obj, file)?;
        let field = |field: &str, problem: &str| ConfigError::Field {
            file: file.into(),
            field: field.into(),
            problem: problem.into(),
        };
        let plugins = match obj.get("plugins") {
            None => return Err(field("plugins", "missing")),
            Some(Value::Array(a)) if a.is_empty() => return Err(field("plugins", "is empty")),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(field("plugins", "must be an array of plugin objects")),
        };
        let plugins = plugins
            .iter()
            .enumerate()
            .map(|(i, p)| PluginConfig::parse(p, &format!("plugins[{i}]."), file))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(header.into_list(plugins, bytes.to_vec(), file))
    }

    /// Parses a single-plugin configuration (`.conf`/`.json` contents) and wraps it into a
    /// one-plugin list, as libcni does.
    pub fn from_conf(bytes: &[u8], file: &Path) -> Result<Self, ConfigError> {
        let obj = object(bytes, file)?;
        let header = Header::parse(&obj, file)?;
        let plugin = PluginConfig::parse(&Value::Object(obj.clone()), "", file)?;
        let mut wrapped = Map::new();
        for key in ["cniVersion", "cniVersions", "name"] {
            if let Some(v) = obj.get(key) {
                wrapped.insert(key.into(), v.clone());
            }
        }
        wrapped.insert("plugins".into(), Value::Array(vec![Value::Object(obj)]));
        let bytes = serde_json::to_vec(&wrapped).expect("JSON values always serialize");
        Ok(header.into_list(vec![plugin], bytes, file))
    }

    /// Loads one file, by extension: `.conflist` is a list, `.conf` and `.json` a single plugin.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !matches!(ext, "conf" | "conflist" | "json") {
            return Err(ConfigError::Extension { file: path.into() });
        }
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        if ext == "conflist" {
            Self::from_conflist(&bytes, path)
        } else {
            Self::from_conf(&bytes, path)
        }
    }

    /// Loads from a conf dir: files `*.conf`, `*.conflist`, `*.json` in lexical order; the first
    /// valid one, or the first valid one named `name`. Invalid files are skipped with a warning
    /// and reported when nothing suitable is found.
    pub fn load_dir(dir: &Path, name: Option<&str>) -> Result<Self, ConfigError> {
        let files = conf_files(dir)?;
        if files.is_empty() {
            return Err(ConfigError::Empty { dir: dir.into() });
        }
        let mut problems = Vec::new();
        for file in files {
            match Self::load_file(&file) {
                Ok(list) if name.is_none_or(|n| n == list.name) => return Ok(list),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %error_chain(&e), "skipping invalid CNI network configuration");
                    problems.push(e);
                }
            }
        }
        Err(match name {
            Some(name) => ConfigError::NotFound {
                dir: dir.into(),
                name: name.into(),
                problems,
            },
            None => ConfigError::NoneValid {
                dir: dir.into(),
                problems,
            },
        })
    }
}

/// The configuration files of a conf dir, sorted by name; a missing dir has none.
pub fn conf_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: dir.into(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_err(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let is_conf = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("conf" | "conflist" | "json")
        );
        if is_conf && !path.is_dir() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn object(bytes: &[u8], file: &Path) -> Result<Map<String, Value>, ConfigError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ConfigError::Field {
            file: file.into(),
            field: "(top level)".into(),
            problem: "must be a JSON object".into(),
        }),
        Err(source) => Err(ConfigError::Json {
            file: file.into(),
            source,
        }),
    }
}

/// The list-level fields shared by `.conflist` and wrapped `.conf` files.
struct Header {
    name: String,
    version: Version,
    disable_check: bool,
    disable_gc: bool,
}

impl Header {
    fn parse(obj: &Map<String, Value>, file: &Path) -> Result<Self, ConfigError> {
        let field = |field: &str, problem: String| ConfigError::Field {
            file: file.into(),
            field: field.into(),
            problem,
        };
        let name = match obj.get("name") {
            None => return Err(field("name", "missing".into())),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(field("name", "must be a string".into())),
        };
        validate_network_name(&name).map_err(|p| field("name", p))?;
        let cni_version = match obj.get("cniVersion") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(field("cniVersion", "must be a string".into())),
        };
        let mut versions = match obj.get("cniVersions") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        field(&format!("cniVersions[{i}]"), "must be a string".into())
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(field("cniVersions", "must be an array of strings".into())),
        };
        // libcni considers `cniVersion` a candidate alongside `cniVersions`.
        let which = if versions.is_empty() {
            "cniVersion"
        } else {
            "cniVersions"
        };
        if !versions.is_empty() {
            versions.extend(cni_version.clone());
        }
        let version = version::negotiate(cni_version.as_deref(), &versions).map_err(|e| {
            let problem = if e.details.is_empty() {
                e.msg
            } else {
                format!("{} ({})", e.msg, e.details)
            };
            field(which, problem)
        })?;
        Ok(Self {
            name,
            version,
            disable_check: flag(obj, "disableCheck").map_err(|p| field("disableCheck", p))?,
            disable_gc: flag(obj, "disableGC").map_err(|p| field("disableGC", p))?,
        })
    }

    fn into_list(
        self,
        plugins: Vec<PluginConfig>,
        bytes: Vec<u8>,
        file: &Path,
    ) -> NetworkConfigList {
        NetworkConfigList {
            name: self.name,
            cni_version: self.version,
            disable_check: self.disable_check,
            disable_gc: self.disable_gc,
            plugins,
            bytes,
            file: file.into(),
        }
    }
}

/// A boolean flag; libcni also accepts the strings "true" and "false" in any case.
fn flag(obj: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match obj.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(format!("must be true or false, not {other}")),
    }
}

/// Network names become file names (result cache, IPAM data): alphanumerics plus `_.-`,
/// starting with an alphanumeric, as libcni requires.
fn validate_network_name(name: &str) -> Result<(), String> {
    if crate::invocation::is_identifier(name) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid network name: it must start with an alphanumeric and hold only alphanumerics, '_', '.' and '-'"
        ))
    }
}

impl PluginConfig {
    /// Parses one plugin object; `prefix` (`plugins[2].`) locates it in error messages.
    fn parse(value: &Value, prefix: &str, file: &Path) -> Result<Self, ConfigError> {
        let field = |name: &str, problem: &str| ConfigError::Field {
            file: file.into(),
            field: format!("{prefix}{name}"),
            problem: problem.into(),
        };
        let Value::Object(raw) = value else {
            let whole = prefix.trim_end_matches('.');
            return Err(ConfigError::Field {
                file: file.into(),
                field: whole.into(),
                problem: "must be a JSON object".into(),
            });
        };
        let plugin_type = match raw.get("type") {
            None => return Err(field("type", "missing (the plugin to run)")),
            Some(Value::String(s)) if s.is_empty() => return Err(field("type", "is empty")),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(field("type", "must be a string")),
        };
        let mut capabilities = BTreeSet::new();
        match raw.get("capabilities") {
            None => {}
            Some(Value::Object(caps)) => {
                for (cap, enabled) in caps {
                    match enabled {
                        Value::Bool(true) => {
                            capabilities.insert(cap.clone());
                        }
                        Value::Bool(false) => {}
                        _ => {
                            return Err(field(
                                &format!("capabilities.{cap}"),
                                "must be true or false",
                            ))
                        }
                    }
                }
            }
            Some(_) => {
                return Err(field(
                    "capabilities",
                    "must be an object of capability names to booleans",
                ))
            }
        }
        Ok(Self {
            plugin_type,
            capabilities,
            raw: raw.clone(),
        })
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
