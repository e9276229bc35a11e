//! The `CNI_*` environment of a plugin invocation, parsed and validated per command.

use crate::error::{CniError, Code};
use std::path::PathBuf;

/// A CNI command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Attach a container to the network.
    Add,
    /// Detach; must succeed when repeated, without a netns and without `prevResult`.
    Del,
    /// Verify an attachment is as ADD left it.
    Check,
    /// Report supported versions.
    Version,
    /// Report whether ADD can succeed now (CNI 1.1).
    Status,
    /// Remove resources of attachments not listed as valid (CNI 1.1).
    Gc,
}

impl Command {
    /// Parses `CNI_COMMAND`.
    pub fn parse(s: &str) -> Result<Self, CniError> {
        Ok(match s {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "VERSION" => Command::Version,
            "STATUS" => Command::Status,
            "GC" => Command::Gc,
            other => {
                return Err(CniError::new(
                    Code::InvalidEnvironment,
                    format!("unknown CNI_COMMAND {other:?}"),
                ))
            }
        })
    }

    /// The value of `CNI_COMMAND`.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Version => "VERSION",
            Command::Status => "STATUS",
            Command::Gc => "GC",
        }
    }
}

/// The parsed environment of one invocation. Fields a command does not need are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `CNI_COMMAND`.
    pub command: Command,
    /// `CNI_CONTAINERID` (ADD, DEL, CHECK).
    pub container_id: Option<String>,
    /// `CNI_NETNS`: required for ADD and CHECK, optional (may be empty) for DEL.
    pub netns: Option<PathBuf>,
    /// `CNI_IFNAME` (ADD, DEL, CHECK).
    pub ifname: Option<String>,
    /// `CNI_ARGS` as `KEY=VALUE` pairs.
    pub args: Vec<(String, String)>,
    /// `CNI_PATH`, split on `:`.
    pub path: Vec<PathBuf>,
}

impl Invocation {
    /// Reads the invocation from the process environment.
    pub fn from_env() -> Result<Self, CniError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the invocation through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, CniError> {
        let nonempty = |k: &str| get(k).filter(|v| !v.is_empty());
        let missing = |k: &str, command: Command| {
            CniError::new(
                Code::InvalidEnvironment,
                format!("{k} is required for {}", command.as_str()),
            )
        };
        let command =
            Command::parse(&nonempty("CNI_COMMAND").ok_or_else(|| {
                CniError::new(Code::InvalidEnvironment, "CNI_COMMAND is not set")
            })?)?;
        let per_attachment = matches!(command, Command::Add | Command::Del | Command::Check);
        let container_id = nonempty("CNI_CONTAINERID");
        let ifname = nonempty("CNI_IFNAME");
        let netns = nonempty("CNI_NETNS").map(PathBuf::from);
        if per_attachment {
            let id = container_id
                .as_deref()
                .ok_or_else(|| missing("CNI_CONTAINERID", command))?;
            validate_container_id(id)?;
            let name = ifname
                .as_deref()
                .ok_or_else(|| missing("CNI_IFNAME", command))?;
            validate_ifname(name)?;
            if command != Command::Del && netns.is_none() {
                return Err(missing("CNI_NETNS", command));
            }
        }
        let path: Vec<PathBuf> = get("CNI_PATH")
            .unwrap_or_default()
            .split(':')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
        if path.is_empty() && command != Command::Version {
            return Err(missing("CNI_PATH", command));
        }
        let args = parse_args(&get("CNI_ARGS").unwrap_or_default())?;
        Ok(Self {
            command,
            container_id,
            netns,
            ifname,
            args,
            path,
        })
    }

    /// The container id; only call for ADD, DEL and CHECK, where it was validated.
    pub fn container_id(&self) -> &str {
        self.container_id.as_deref().unwrap_or_default()
    }

    /// The interface name; only call for ADD, DEL and CHECK, where it was validated.
    pub fn ifname(&self) -> &str {
        self.ifname.as_deref().unwrap_or_default()
    }

    /// The value of a `CNI_ARGS` key.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The environment to pass on to a delegated plugin (e.g. IPAM), for `command`.
    pub fn to_env(&self, command: Command) -> Vec<(String, String)> {
        let mut env = vec![("CNI_COMMAND".to_string(), command.as_str().to_string())];
        if let Some(id) = &self.container_id {
            env.push(("CNI_CONTAINERID".into(), id.clone()));
        }
        env.push((
            "CNI_NETNS".into(),
            self.netns
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ));
        if let Some(ifname) = &self.ifname {
            env.push(("CNI_IFNAME".into(), ifname.clone()));
        }
        let args: Vec<String> = self.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.push(("CNI_ARGS".into(), args.join(";")));
        let path: Vec<String> = self.path.iter().map(|p| p.display().to_string()).collect();
        env.push(("CNI_PATH".into(), path.join(":")));
        env
    }
}

/// Whether `s` is a CNI identifier (container id, network name): it starts with an
/// alphanumeric and holds only alphanumerics and `_.-`, so it is safe in file names.
pub fn is_identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Validates a container id as the spec restricts it: non-empty, alphanumerics plus `_.-`.
pub fn validate_container_id(id: &str) -> Result<(), CniError> {
    if is_identifier(id) {
        Ok(())
    } else {
        Err(CniError::new(
            Code::InvalidEnvironment,
            format!("CNI_CONTAINERID {id:?} is invalid: it must start with an alphanumeric and hold only alphanumerics, '_', '.' and '-'"),
        ))
    }
}

/// Validates an interface name as Linux and the spec require.
pub fn validate_ifname(name: &str) -> Result<(), CniError> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.len() > 15 {
        Some("is longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("may not be '.' or '..'")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("may not contain '/', ':' or whitespace")
    } else {
        None
    };
    match problem {
        Some(p) => Err(CniError::new(
            Code::InvalidEnvironment,
            format!("CNI_IFNAME {name:?} {p}"),
        )),
        None => Ok(()),
    }
}

fn parse_args(s: &str) -> Result<Vec<(String, String)>, CniError> {
    s.split(';')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(CniError::new(
                Code::InvalidEnvironment,
                format!("CNI_ARGS entry {kv:?} is not KEY=VALUE"),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn inv(pairs: &[(&str, &str)]) -> Result<Invocation, CniError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Invocation::from_lookup(|k| m.get(k).cloned())
    }

    const ADD: &[(&str, &str)] = &[
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "abc-1"),
        ("CNI_NETNS", "/run/netns/x"),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
        ("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=web"),
    ];

    #[test]
    fn add_environment_parses() {
        let i = inv(ADD).unwrap();
        assert_eq!(i.command, Command::Add);
        assert_eq!(i.container_id(), "abc-1");
        assert_eq!(i.path.len(), 2);
        assert_eq!(i.arg("K8S_POD_NAME"), Some("web"));
    }

    #[test]
    fn add_without_netns_names_the_variable() {
        let mut env = ADD.to_vec();
        env.retain(|(k, _)| *k != "CNI_NETNS");
        let e = inv(&env).unwrap_err();
        assert!(e.is(Code::InvalidEnvironment));
        assert!(e.msg.contains("CNI_NETNS"), "{e}");
    }

    #[test]
    fn del_accepts_empty_netns() {
        let mut env = ADD.to_vec();
        env[0] = ("CNI_COMMAND", "DEL");
        env[2] = ("CNI_NETNS", "");
        assert_eq!(inv(&env).unwrap().netns, None);
    }

    #[test]
    fn bad_ifname_and_container_id_are_rejected() {
        let mut env = ADD.to_vec();
        env[3] = ("CNI_IFNAME", "a-very-long-interface-name");
        assert!(inv(&env).unwrap_err().msg.contains("CNI_IFNAME"));
        let mut env = ADD.to_vec();
        env[1] = ("CNI_CONTAINERID", "bad id!");
        assert!(inv(&env).unwrap_err().msg.contains("CNI_CONTAINERID"));
    }

    #[test]
    fn unknown_command_is_code_4() {
        let e = inv(&[("CNI_COMMAND", "FROB")]).unwrap_err();
        assert!(e.is(Code::InvalidEnvironment));
    }

    #[test]
    fn version_needs_nothing_else() {
        assert!(inv(&[("CNI_COMMAND", "VERSION")]).is_ok());
    }

    #[test]
    fn env_round_trips_for_delegation() {
        let i = inv(ADD).unwrap();
        let env = i.to_env(Command::Del);
        let m: HashMap<String, String> = env.into_iter().collect();
        let back = Invocation::from_lookup(|k| m.get(k).cloned()).unwrap();
        assert_eq!(back.command, Command::Del);
        assert_eq!(back.args, i.args);
        assert_eq!(back.netns, i.netns);
    }
}
