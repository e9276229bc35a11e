//! The result cache, in libcni's format and place: one JSON file per attachment at
//! `<cacheDir>/results/<network>-<containerID>-<ifname>`, kind `cniCacheV1`, so tools that
//! read libcni's cache (and a runtime switching between libcni and Skiff) see our attachments.

use super::base64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// libcni's default cache directory.
pub const DEFAULT_CACHE_DIR: &str = "/var/lib/cni";

/// The `kind` of entries this format describes.
pub const KIND: &str = "cniCacheV1";

/// One cached attachment, field for field as libcni writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// Always [`KIND`].
    pub kind: String,
    /// Container id.
    #[serde(rename = "containerId")]
    pub container_id: String,
    /// The network configuration list as bytes (base64 in JSON, like Go's `[]byte`).
    #[serde(with = "bytes_as_base64", default)]
    pub config: Vec<u8>,
    /// Interface name inside the container.
    #[serde(rename = "ifName")]
    pub if_name: String,
    /// Network name.
    #[serde(rename = "networkName")]
    pub network_name: String,
    /// Network namespace path at ADD time.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub netns: String,
    /// `CNI_ARGS` pairs.
    #[serde(rename = "cniArgs", default, skip_serializing_if = "Vec::is_empty")]
    pub cni_args: Vec<(String, String)>,
    /// Capability arguments (`runtimeConfig` values) given to ADD.
    #[serde(
        rename = "capabilityArgs",
        default,
        skip_serializing_if = "Map::is_empty"
    )]
    pub capability_args: Map<String, Value>,
    /// The result of ADD, as the last plugin printed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

mod bytes_as_base64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::base64::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        // Go writes `null` for a nil slice.
        match Option::<String>::deserialize(d)? {
            None => Ok(Vec::new()),
            Some(s) => super::base64::decode(&s).map_err(serde::de::Error::custom),
        }
    }
}

/// Why the cache could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Reading, writing or removing a file failed.
    #[error("cannot {action} result cache file {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a libcni cache entry we can read.
    #[error("result cache file {} is not a cniCacheV1 entry: {problem}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

/// The result cache rooted at a cache dir (`/var/lib/cni` by default).
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl ResultCache {
    /// A cache rooted at `cache_dir`; entries live in `cache_dir/results`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: cache_dir.into(),
        }
    }

    /// The directory holding the entries.
    pub fn results_dir(&self) -> PathBuf {
        self.dir.join("results")
    }

    /// The file of one attachment.
    pub fn path(&self, network: &str, container_id: &str, ifname: &str) -> PathBuf {
        self.results_dir()
            .join(format!("{network}-{container_id}-{ifname}"))
    }

    /// Writes an entry atomically (temp file, fsync, rename), creating the directory.
    pub fn write(&self, entry: &CacheEntry) -> Result<PathBuf, CacheError> {
        let path = self.path(&entry.network_name, &entry.container_id, &entry.if_name);
        let dir = self.results_dir();
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| CacheError::Io {
                action,
                path,
                source,
            }
        };
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&dir)
            .map_err(io("create", &dir))?;
        let bytes = serde_json::to_vec(entry).expect("cache entries always serialize");
        // Hidden temp names: libcni's readers skip files that do not parse, ours skip dot files.
        let tmp = dir.join(format!(
            ".{}.tmp-{}-{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default(),
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut f = open_private(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()
        })();
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io("write", &path)(e));
        }
        Ok(path)
    }

    /// Reads an attachment's entry; `None` when there is none.
    pub fn read(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<Option<CacheEntry>, CacheError> {
        read_entry(&self.path(network, container_id, ifname))
    }

    /// Removes an attachment's entry; a missing entry is not an error.
    pub fn remove(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<(), CacheError> {
        let path = self.path(network, container_id, ifname);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(CacheError::Io {
                action: "remove",
                path,
                source,
            }),
        }
    }

    /// Every readable entry of `network`, sorted by file name. Unreadable files are skipped
    /// with a warning, as libcni does.
    pub fn entries(&self, network: &str) -> Result<Vec<CacheEntry>, CacheError> {
        let dir = self.results_dir();
        let listing = match std::fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(CacheError::Io {
                    action: "list",
                    path: dir,
                    source,
                })
            }
        };
        let mut names: Vec<String> = listing
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(&format!("{network}-")))
            .collect();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            match read_entry(&dir.join(&name)) {
                Ok(Some(e)) if e.network_name == network && !e.if_name.is_empty() => out.push(e),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(network, file = %name, error = %e, "skipping unreadable CNI result cache entry")
                }
            }
        }
        Ok(out)
    }
}

fn read_entry(path: &Path) -> Result<Option<CacheEntry>, CacheError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CacheError::Io {
                action: "read",
                path: path.into(),
                source,
            })
        }
    };
    let corrupt = |problem: String| CacheError::Corrupt {
        path: path.into(),
        problem,
    };
    let entry: CacheEntry = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if entry.kind != KIND {
        return Err(corrupt(format!("kind is {:?}", entry.kind)));
    }
    Ok(Some(entry))
}

fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry() -> CacheEntry {
        CacheEntry {
            kind: KIND.into(),
            container_id: "c1".into(),
            config: br#"{"name":"pods"}"#.to_vec(),
            if_name: "eth0".into(),
            network_name: "pods".into(),
            netns: "/run/netns/p".into(),
            cni_args: vec![("K8S_POD_NAME".into(), "web".into())],
            capability_args: json!({"mac": "02:00:00:00:00:01"})
                .as_object()
                .unwrap()
                .clone(),
            result: Some(json!({"cniVersion": "1.0.0", "ips": []})),
        }
    }

    #[test]
    fn entry_serializes_with_libcni_field_names() {
        let v = serde_json::to_value(entry()).unwrap();
        assert_eq!(
            v,
            json!({
                "kind": "cniCacheV1",
                "containerId": "c1",
                "config": "eyJuYW1lIjoicG9kcyJ9",
                "ifName": "eth0",
                "networkName": "pods",
                "netns": "/run/netns/p",
                "cniArgs": [["K8S_POD_NAME", "web"]],
                "capabilityArgs": {"mac": "02:00:00:00:00:01"},
                "result": {"cniVersion": "1.0.0", "ips": []}
            })
        );
    }

    #[test]
    fn reads_an_entry_written_by_libcni() {
        let go = r#"{"kind":"cniCacheV1","containerId":"abc","config":"eyJ4IjoxfQ==","ifName":"eth0","networkName":"n","result":{"cniVersion":"1.0.0"}}"#;
        let e: CacheEntry = serde_json::from_str(go).unwrap();
        assert_eq!(e.config, br#"{"x":1}"#);
        assert!(e.cni_args.is_empty());
    }

    #[test]
    fn write_read_remove_round_trip_at_libcni_path() {
        let d = tempfile::tempdir().unwrap();
        let cache = ResultCache::new(d.path());
        let path = cache.write(&entry()).unwrap();
        assert_eq!(path, d.path().join("results/pods-c1-eth0"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(cache.read("pods", "c1", "eth0").unwrap(), Some(entry()));
        assert_eq!(cache.entries("pods").unwrap().len(), 1);
        assert!(cache.entries("other").unwrap().is_empty());
        cache.remove("pods", "c1", "eth0").unwrap();
        cache.remove("pods", "c1", "eth0").unwrap();
        assert_eq!(cache.read("pods", "c1", "eth0").unwrap(), None);
        let leftovers: Vec<_> = std::fs::read_dir(cache.results_dir()).unwrap().collect();
        assert!(
            leftovers.is_empty(),
            "temp files left behind: {leftovers:?}"
        );
    }

    #[test]
    fn corrupt_or_foreign_entries_are_reported_and_skipped_in_listings() {
        let d = tempfile::tempdir().unwrap();
        let cache = ResultCache::new(d.path());
        std::fs::create_dir_all(cache.results_dir()).unwrap();
        std::fs::write(cache.path("pods", "c1", "eth0"), "{").unwrap();
        std::fs::write(
            cache.path("pods", "c2", "eth0"),
            r#"{"kind":"other","containerId":"c2","ifName":"eth0","networkName":"pods"}"#,
        )
        .unwrap();
        assert!(matches!(
            cache.read("pods", "c1", "eth0"),
            Err(CacheError::Corrupt { .. })
        ));
        assert!(matches!(
            cache.read("pods", "c2", "eth0"),
            Err(CacheError::Corrupt { .. })
        ));
        assert!(cache.entries("pods").unwrap().is_empty());
    }
}
