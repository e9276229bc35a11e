//! Pure parts of exec: the exec process spec derived from the container's spec, exec ids, the
//! task states exec accepts and what a failed start means.

use containerd_client::types::v1::Status;
use prost_types::Any;

/// Type URL containerd expects for an OCI `Process` in an exec request.
pub(crate) const PROCESS_TYPE_URL: &str =
    "types.containerd.io/opencontainers/runtime-spec/1/Process";

/// Exit code of a command that could not be found (as shells report it).
pub(crate) const EXIT_NOT_FOUND: i32 = 127;

/// Exit code of a command that was found but could not be executed.
pub(crate) const EXIT_NOT_EXECUTABLE: i32 = 126;

/// Why the container's record gives no process to exec from.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProcessSpecError {
    /// The container record carries no OCI spec.
    #[error("the container record has no OCI spec")]
    NoSpec,
    /// The stored spec is not a JSON object.
    #[error("the container's OCI spec is not valid JSON")]
    Json(#[source] serde_json::Error),
    /// The stored spec has no `process` object.
    #[error("the container's OCI spec has no process")]
    NoProcess,
}

/// The exec process as an `Any` for `tasks.Exec`: the container's own process (env, cwd, user,
/// capabilities, rlimits, apparmor/selinux labels, no_new_privileges) with `cmd` as its args
/// and no terminal.
///
/// Works on the JSON rather than a typed spec so fields this crate does not model pass through
/// unchanged.
pub(crate) fn exec_process_spec(
    container_spec: Option<&Any>,
    cmd: &[String],
) -> Result<Any, ProcessSpecError> {
    let spec = container_spec.ok_or(ProcessSpecError::NoSpec)?;
    let mut spec: serde_json::Value =
        serde_json::from_slice(&spec.value).map_err(ProcessSpecError::Json)?;
    let process = spec
        .get_mut("process")
        .and_then(serde_json::Value::as_object_mut)
        .ok_or(ProcessSpecError::NoProcess)?;
    process.insert("args".to_string(), serde_json::json!(cmd));
    process.insert("terminal".to_string(), serde_json::Value::Bool(false));
    process.remove("consoleSize");
    // The container's command line (Windows only) would override args.
    process.remove("commandLine");
    let value = serde_json::to_vec(process).map_err(ProcessSpecError::Json)?;
    Ok(Any {
        type_url: PROCESS_TYPE_URL.to_string(),
        value,
    })
}

/// A fresh exec id: 64 lowercase hex characters.
pub(crate) fn new_exec_id() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the kernel's random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Ok` when a task in `status` can run an exec, else the state name for `WrongState`.
pub(crate) fn check_task_running(status: i32) -> Result<(), &'static str> {
    match Status::try_from(status).unwrap_or(Status::Unknown) {
        Status::Running => Ok(()),
        Status::Created => Err("created"),
        Status::Stopped => Err("exited"),
        Status::Paused | Status::Pausing => Err("paused"),
        Status::Unknown => Err("unknown"),
    }
}

/// The exit code a shell would report when runc could not start the exec's command, judged
/// from the start error's message; `None` when the failure is not about the command itself.
///
/// runc fails `exec` (so containerd fails `Start`) before the command runs when the binary is
/// missing or not executable; the CRI reports an error there, Skiff reports what `sh -c` would,
/// so probes see an ordinary failed command with the reason on stderr.
pub(crate) fn start_failure_exit_code(message: &str) -> Option<i32> {
    let message = message.to_ascii_lowercase();
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
    {
        Some(EXIT_NOT_FOUND)
    } else if message.contains("permission denied") || message.contains("exec format error") {
        Some(EXIT_NOT_EXECUTABLE)
    } else {
        None
    }
}

/// Exit code from containerd's unsigned exit status (signals arrive as 128 + n already).
pub(crate) fn exit_code(exit_status: u32) -> i32 {
    i32::try_from(exit_status).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_any(json: serde_json::Value) -> Any {
        Any {
            type_url: "types.containerd.io/opencontainers/runtime-spec/1/Spec".to_string(),
            value: serde_json::to_vec(&json).unwrap(),
        }
    }

    fn cmd(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn exec_process_keeps_the_containers_process_and_replaces_args() {
        let spec = spec_any(serde_json::json!({
            "ociVersion": "1.1.0",
            "process": {
                "terminal": true,
                "consoleSize": {"height": 10, "width": 80},
                "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]},
                "args": ["sleep", "100"],
                "env": ["PATH=/bin", "A=b"],
                "cwd": "/work",
                "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"]},
                "noNewPrivileges": true,
                "apparmorProfile": "cri-containerd.apparmor.d",
                "selinuxLabel": "system_u:system_r:container_t:s0",
                "oomScoreAdj": 100,
                "futureField": {"kept": true}
            },
            "root": {"path": "rootfs"}
        }));
        let any = exec_process_spec(Some(&spec), &cmd(&["sh", "-c", "echo hi"])).unwrap();
        assert_eq!(any.type_url, PROCESS_TYPE_URL);
        let process: serde_json::Value = serde_json::from_slice(&any.value).unwrap();
        assert_eq!(
            process,
            serde_json::json!({
                "terminal": false,
                "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]},
                "args": ["sh", "-c", "echo hi"],
                "env": ["PATH=/bin", "A=b"],
                "cwd": "/work",
                "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"]},
                "noNewPrivileges": true,
                "apparmorProfile": "cri-containerd.apparmor.d",
                "selinuxLabel": "system_u:system_r:container_t:s0",
                "oomScoreAdj": 100,
                "futureField": {"kept": true}
            })
        );
    }

    #[test]
    fn exec_process_of_a_spec_built_by_this_crate_parses_as_an_oci_process() {
        let config = crate::spec::ContainerSpecConfig {
            args: cmd(&["sleep", "100"]),
            env: vec![("A".to_string(), "b".to_string())],
            ..Default::default()
        };
        let spec = crate::spec::build(&config).expect("spec builds");
        let any = Any {
            type_url: String::new(),
            value: serde_json::to_vec(&spec).unwrap(),
        };
        let any = exec_process_spec(Some(&any), &cmd(&["true"])).unwrap();
        let process: oci_spec::runtime::Process = serde_json::from_slice(&any.value).unwrap();
        assert_eq!(process.args().as_deref(), Some(&cmd(&["true"])[..]));
        assert_eq!(process.terminal(), Some(false));
        assert_eq!(process.env(), spec.process().as_ref().unwrap().env());
    }

    #[test]
    fn exec_process_needs_a_spec_with_a_process() {
        assert!(matches!(
            exec_process_spec(None, &cmd(&["true"])),
            Err(ProcessSpecError::NoSpec)
        ));
        let bad = Any {
            type_url: String::new(),
            value: b"{not json".to_vec(),
        };
        assert!(matches!(
            exec_process_spec(Some(&bad), &cmd(&["true"])),
            Err(ProcessSpecError::Json(_))
        ));
        let no_process = spec_any(serde_json::json!({"ociVersion": "1.1.0"}));
        assert!(matches!(
            exec_process_spec(Some(&no_process), &cmd(&["true"])),
            Err(ProcessSpecError::NoProcess)
        ));
    }

    #[test]
    fn exec_ids_are_64_lowercase_hex_and_differ() {
        let a = new_exec_id();
        let b = new_exec_id();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        assert_ne!(a, b);
    }

    #[test]
    fn only_running_tasks_accept_exec() {
        assert_eq!(check_task_running(Status::Running as i32), Ok(()));
        assert_eq!(check_task_running(Status::Created as i32), Err("created"));
        assert_eq!(check_task_running(Status::Stopped as i32), Err("exited"));
        assert_eq!(check_task_running(Status::Paused as i32), Err("paused"));
        assert_eq!(check_task_running(Status::Pausing as i32), Err("paused"));
        assert_eq!(check_task_running(42), Err("unknown"));
    }

    #[test]
    fn start_failures_map_to_shell_exit_codes() {
        let missing = "failed to start exec: OCI runtime exec failed: exec failed: unable to start \
                       container process: exec: \"nope\": executable file not found in $PATH: unknown";
        assert_eq!(start_failure_exit_code(missing), Some(EXIT_NOT_FOUND));
        let missing_path = "exec: \"/nope\": stat /nope: no such file or directory: unknown";
        assert_eq!(start_failure_exit_code(missing_path), Some(EXIT_NOT_FOUND));
        let denied = "exec: \"/etc/passwd\": permission denied: unknown";
        assert_eq!(start_failure_exit_code(denied), Some(EXIT_NOT_EXECUTABLE));
        assert_eq!(start_failure_exit_code("ttrpc: closed: unavailable"), None);
    }

    #[test]
    fn exit_status_is_passed_through() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(137), 137);
        assert_eq!(exit_code(u32::MAX), i32::MAX);
    }
}
