//! Running another CNI plugin binary: finding it on `CNI_PATH`, passing the environment and
//! configuration, enforcing a timeout, and decoding its result or error.

use crate::error::{CniError, Code};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Finds plugin `name` in the directories of `path`.
pub fn find_plugin(name: &str, path: &[PathBuf]) -> Result<PathBuf, CniError> {
    if name.is_empty() || name.contains('/') {
        return Err(CniError::new(
            Code::InvalidConfig,
            format!("plugin type {name:?} is not a plugin name"),
        ));
    }
    path.iter()
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            CniError::new(
                Code::InvalidConfig,
                format!("plugin {name:?} not found in CNI_PATH"),
            )
            .details(format!("searched {path:?}"))
        })
}

/// Runs `binary` with `env` (added to this process's environment) and `stdin`. Returns stdout
/// on success; on failure, the plugin's own error when it printed one.
pub fn exec_plugin(
    binary: &Path,
    env: &[(String, String)],
    stdin: &[u8],
    timeout: Option<Duration>,
) -> Result<Vec<u8>, CniError> {
    let name = binary.display().to_string();
    let mut child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            CniError::new(Code::Delegate, format!("cannot run plugin {name}")).details(e)
        })?;
    let pid = child.id();
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    // Feed stdin from a thread so a plugin that prints before reading cannot deadlock us.
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let received = match timeout {
        Some(t) => match rx.recv_timeout(t) {
            Ok(r) => r,
            Err(_) => {
                // The waiting thread has not reaped the child yet, so the pid is still ours.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = rx.recv();
                return Err(CniError::new(
                    Code::TryAgainLater,
                    format!("plugin {name} did not finish within {t:?} and was killed"),
                ));
            }
        },
        None => rx.recv().expect("waiter thread sends once"),
    };
    let _ = feeder.join();
    let output = received.map_err(|e| {
        CniError::new(Code::Delegate, format!("waiting for plugin {name} failed")).details(e)
    })?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    if let Ok(err) = serde_json::from_slice::<CniError>(&output.stdout) {
        return Err(err);
    }
    Err(CniError::new(
        Code::Delegate,
        format!(
            "plugin {name} failed ({}) without a CNI error",
            output.status
        ),
    )
    .details(format!(
        "stdout: {} stderr: {}",
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn finds_plugin_on_path_and_reports_missing() {
        let d = tempfile::tempdir().unwrap();
        script(d.path(), "p", "true");
        let path = vec![PathBuf::from("/nonexistent"), d.path().to_path_buf()];
        assert_eq!(find_plugin("p", &path).unwrap(), d.path().join("p"));
        assert!(find_plugin("q", &path).unwrap_err().msg.contains("\"q\""));
        assert!(find_plugin("../p", &path).is_err());
    }

    #[test]
    fn passes_env_and_stdin_and_returns_stdout() {
        let d = tempfile::tempdir().unwrap();
        let p = script(d.path(), "p", r#"read line; echo "$CNI_COMMAND $line""#);
        let out = exec_plugin(&p, &[("CNI_COMMAND".into(), "ADD".into())], b"hi\n", None).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "ADD hi\n");
    }

    #[test]
    fn plugin_error_json_is_returned_as_is() {
        let d = tempfile::tempdir().unwrap();
        let p = script(
            d.path(),
            "p",
            r#"echo '{"cniVersion":"1.0.0","code":7,"msg":"bad range"}'; exit 1"#,
        );
        let e = exec_plugin(&p, &[], b"", None).unwrap_err();
        assert_eq!(e.code, 7);
        assert_eq!(e.msg, "bad range");
    }

    #[test]
    fn failure_without_json_keeps_stderr() {
        let d = tempfile::tempdir().unwrap();
        let p = script(d.path(), "p", "echo oops >&2; exit 3");
        let e = exec_plugin(&p, &[], b"", None).unwrap_err();
        assert!(e.is(Code::Delegate));
        assert!(e.details.contains("oops"));
    }

    #[test]
    fn slow_plugin_is_killed_at_timeout() {
        let d = tempfile::tempdir().unwrap();
        let p = script(d.path(), "p", "exec sleep 30");
        let e = exec_plugin(&p, &[], b"", Some(Duration::from_millis(200))).unwrap_err();
        assert!(e.is(Code::TryAgainLater), "{e:?}");
    }
}
