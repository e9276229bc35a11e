//! The plugin side of the protocol: read the environment and stdin, dispatch to a [`Plugin`],
//! print a result or an error JSON on stdout, and pick the exit status.

use crate::error::{CniError, Code};
use crate::invocation::{Command, Invocation};
use crate::types::CniResult;
use crate::version::{self, Version};
use std::io::Read;

/// One request to a plugin: the parsed environment, the raw configuration and its version.
#[derive(Debug, Clone)]
pub struct Request {
    /// The `CNI_*` environment.
    pub inv: Invocation,
    /// The network configuration from stdin, as given.
    pub stdin: Vec<u8>,
    /// The configuration's `cniVersion`, which results are encoded for.
    pub version: Version,
}

/// What a CNI plugin does for each command. VERSION is answered by [`dispatch`].
pub trait Plugin {
    /// ADD: attach and return the result.
    fn add(&self, req: &Request) -> Result<CniResult, CniError>;
    /// DEL: detach; idempotent, works without netns and without `prevResult`.
    fn del(&self, req: &Request) -> Result<(), CniError>;
    /// CHECK: verify the attachment against `prevResult`.
    fn check(&self, req: &Request) -> Result<(), CniError>;
    /// STATUS: can ADD succeed now?
    fn status(&self, req: &Request) -> Result<(), CniError>;
    /// GC: remove what belongs to attachments not listed as valid.
    fn gc(&self, req: &Request) -> Result<(), CniError>;
}

/// The outcome of one invocation: what to print on stdout and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Text for stdout (a result, version info, an error JSON, or nothing).
    pub stdout: String,
    /// 0 on success, 1 on error.
    pub status: i32,
}

/// Runs one invocation against `plugin` with the given environment and stdin.
pub fn dispatch(
    plugin: &dyn Plugin,
    get_env: impl Fn(&str) -> Option<String>,
    stdin: &[u8],
) -> Outcome {
    // The error JSON carries the config's version when it is readable.
    let version_hint = version::of_config(stdin)
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(|_| Version::latest().as_str().to_string());
    match run_command(plugin, get_env, stdin) {
        Ok(stdout) => Outcome { stdout, status: 0 },
        Err(e) => Outcome {
            stdout: e.to_json(&version_hint).to_string(),
            status: 1,
        },
    }
}

fn run_command(
    plugin: &dyn Plugin,
    get_env: impl Fn(&str) -> Option<String>,
    stdin: &[u8],
) -> Result<String, CniError> {
    let command = Command::parse(&get_env("CNI_COMMAND").unwrap_or_default())?;
    if command == Command::Version {
        // VERSION may come with an empty stdin or with {"cniVersion": ...}.
        let asked = if stdin.iter().all(u8::is_ascii_whitespace) {
            Version::latest().as_str().to_string()
        } else {
            let v: serde_json::Value = serde_json::from_slice(stdin)
                .map_err(|e| crate::error::from_json_error("VERSION request", &e))?;
            v["cniVersion"]
                .as_str()
                .unwrap_or(Version::latest().as_str())
                .to_string()
        };
        return Ok(version::version_info(&asked).to_string());
    }
    let inv = Invocation::from_lookup(&get_env)?;
    let version = version::of_config(stdin)?;
    if matches!(command, Command::Status | Command::Gc) && version < Version::V1_1_0 {
        return Err(CniError::new(
            Code::IncompatibleVersion,
            format!(
                "{} needs cniVersion 1.1.0 or later, the configuration says {version}",
                command.as_str()
            ),
        ));
    }
    let req = Request {
        inv,
        stdin: stdin.to_vec(),
        version,
    };
    match command {
        Command::Add => Ok(plugin.add(&req)?.to_json(version).to_string()),
        Command::Del => plugin.del(&req).map(|()| String::new()),
        Command::Check => plugin.check(&req).map(|()| String::new()),
        Command::Status => plugin.status(&req).map(|()| String::new()),
        Command::Gc => plugin.gc(&req).map(|()| String::new()),
        Command::Version => unreachable!("answered above"),
    }
}

/// The `main` of a plugin binary: reads the process environment and stdin, prints the outcome.
pub fn run(plugin: &dyn Plugin) -> std::process::ExitCode {
    let mut stdin = Vec::new();
    let outcome = match std::io::stdin().read_to_end(&mut stdin) {
        Ok(_) => dispatch(plugin, |k| std::env::var(k).ok(), &stdin),
        Err(e) => Outcome {
            stdout: CniError::new(Code::Io, "cannot read stdin")
                .details(e)
                .to_json(Version::latest().as_str())
                .to_string(),
            status: 1,
        },
    };
    if !outcome.stdout.is_empty() {
        println!("{}", outcome.stdout);
    }
    std::process::ExitCode::from(outcome.status as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Echo;
    impl Plugin for Echo {
        fn add(&self, _: &Request) -> Result<CniResult, CniError> {
            Ok(CniResult::default())
        }
        fn del(&self, _: &Request) -> Result<(), CniError> {
            Ok(())
        }
        fn check(&self, _: &Request) -> Result<(), CniError> {
            Err(CniError::new(Code::InvalidConfig, "check failed"))
        }
        fn status(&self, _: &Request) -> Result<(), CniError> {
            Ok(())
        }
        fn gc(&self, _: &Request) -> Result<(), CniError> {
            Ok(())
        }
    }

    fn run_with(cmd: &str, stdin: &str) -> Outcome {
        let env: HashMap<&str, &str> = [
            ("CNI_COMMAND", cmd),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_NETNS", "/run/netns/c1"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", "/opt/cni/bin"),
        ]
        .into_iter()
        .collect();
        dispatch(
            &Echo,
            |k| env.get(k).map(|v| v.to_string()),
            stdin.as_bytes(),
        )
    }

    #[test]
    fn add_prints_result_in_config_version() {
        let o = run_with("ADD", r#"{"cniVersion":"1.0.0","name":"n","type":"t"}"#);
        assert_eq!(o.status, 0);
        assert_eq!(o.stdout, r#"{"cniVersion":"1.0.0","dns":{}}"#);
    }

    #[test]
    fn version_works_with_empty_stdin() {
        let o = run_with("VERSION", "");
        assert_eq!(o.status, 0);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(
            v["supportedVersions"],
            serde_json::json!(["1.0.0", "1.1.0"])
        );
    }

    #[test]
    fn errors_are_json_with_code_and_exit_1() {
        let o = run_with("CHECK", r#"{"cniVersion":"1.1.0","name":"n","type":"t"}"#);
        assert_eq!(o.status, 1);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["code"], 7);
        assert_eq!(v["cniVersion"], "1.1.0");
    }

    #[test]
    fn gc_needs_1_1_0() {
        let o = run_with("GC", r#"{"cniVersion":"1.0.0","name":"n","type":"t"}"#);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["code"], 1);
    }

    #[test]
    fn unsupported_version_is_code_1() {
        let o = run_with("ADD", r#"{"cniVersion":"0.2.0","name":"n","type":"t"}"#);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["code"], 1);
    }

    #[test]
    fn malformed_stdin_is_code_6() {
        let o = run_with("ADD", "{not json");
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["code"], 6);
    }
}
