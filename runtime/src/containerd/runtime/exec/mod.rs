//! Exec in a running container: an extra process of its task with stdout and stderr through
//! FIFOs, killed when the timeout passes.
//!
//! A command runc cannot start (missing binary, not executable) is reported like a shell does
//! it, exit code 127 or 126 with runc's reason on stderr, rather than as an error (see
//! [`request::start_failure_exit_code`]).

mod fifo;
mod request;

use std::time::Duration;

use containerd_client::services::v1::{
    DeleteProcessRequest, ExecProcessRequest, GetContainerRequest, GetRequest, KillRequest,
    StartRequest, WaitRequest,
};

use crate::containerd::labels;
use crate::containerd::status::{backend, is_not_found, OrBackend};
use crate::containerd::Connection;
use crate::service::{Call, ContainerId, ExecResult, ObjectKind, ServiceError};

use super::Inner;
use fifo::ExecDir;

/// How long cleanup waits for a killed exec process to be reaped.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// Runs `cmd` in the container and captures its output and exit code; a zero `timeout` means
/// no limit.
pub(crate) async fn exec_sync(
    inner: &Inner,
    id: &ContainerId,
    cmd: &[String],
    timeout: Duration,
) -> Result<ExecResult, ServiceError> {
    if cmd.is_empty() {
        return Err(ServiceError::InvalidConfig {
            field: "cmd".to_string(),
            reason: "must not be empty".to_string(),
        });
    }
    let conn = &inner.conn;
    let process = exec_process(conn, id, cmd).await?;
    let exec_id = request::new_exec_id();
    let dir = ExecDir::create(&inner.config.state_dir, &exec_id).map_err(io_backend)?;
    let output = dir.open().map_err(io_backend)?;
    let req = ExecProcessRequest {
        container_id: id.to_string(),
        exec_id: exec_id.clone(),
        stdin: String::new(),
        stdout: dir.stdout().to_string_lossy().into_owned(),
        stderr: dir.stderr().to_string_lossy().into_owned(),
        terminal: false,
        spec: Some(process),
    };
    conn.tasks()
        .exec(conn.request(req))
        .await
        .map_err(|status| task_error(id, status))?;
    let mut process = ExecProcess {
        conn: conn.clone(),
        container_id: id.to_string(),
        exec_id,
        running: false,
        armed: true,
    };
    let result = process.run(output, timeout).await;
    process.clean_up().await;
    drop(dir);
    result
}

/// The exec process spec for `cmd` from the container's record, once the container is known
/// to be Skiff's and to run.
async fn exec_process(
    conn: &Connection,
    id: &ContainerId,
    cmd: &[String],
) -> Result<prost_types::Any, ServiceError> {
    let not_found = || ServiceError::NotFound {
        kind: ObjectKind::Container,
        id: id.to_string(),
    };
    let record = match conn
        .containers()
        .get(conn.request(GetContainerRequest { id: id.to_string() }))
        .await
    {
        Ok(resp) => resp.into_inner().container.ok_or_else(not_found)?,
        Err(status) if is_not_found(&status) => return Err(not_found()),
        Err(status) => return Err(backend(Call::ExecSync, status)),
    };
    if record.labels.get(labels::KIND).map(String::as_str) != Some(labels::KIND_CONTAINER) {
        return Err(not_found());
    }
    let task = conn
        .tasks()
        .get(conn.request(GetRequest {
            container_id: id.to_string(),
            exec_id: String::new(),
        }))
        .await;
    let status = match task {
        Ok(resp) => resp.into_inner().process.map_or(0, |p| p.status),
        Err(status) if is_not_found(&status) => return Err(wrong_state(id, "created")),
        Err(status) => return Err(backend(Call::ExecSync, status)),
    };
    request::check_task_running(status).map_err(|state| wrong_state(id, state))?;
    request::exec_process_spec(record.spec.as_ref(), cmd).map_err(|e| ServiceError::Backend {
        call: Call::ExecSync,
        source: Box::new(e),
    })
}

/// One exec process in containerd; deleted by [`clean_up`](Self::clean_up), or in the
/// background when dropped before that (the caller gave up on the call).
struct ExecProcess {
    conn: Connection,
    container_id: String,
    exec_id: String,
    /// Started and not yet seen exiting.
    running: bool,
    /// Not yet deleted.
    armed: bool,
}

impl ExecProcess {
    /// Starts the process, reads its output to the end and waits for its exit, within
    /// `timeout` (none when zero).
    async fn run(
        &mut self,
        output: fifo::ExecOutput,
        timeout: Duration,
    ) -> Result<ExecResult, ServiceError> {
        let start = self
            .conn
            .tasks()
            .start(self.conn.request(StartRequest {
                container_id: self.container_id.clone(),
                exec_id: self.exec_id.clone(),
            }))
            .await;
        if let Err(status) = start {
            return match request::start_failure_exit_code(status.message()) {
                Some(exit_code) => {
                    tracing::debug!(container = %self.container_id, exec = %self.exec_id, exit_code, reason = status.message(), "exec command could not start");
                    Ok(ExecResult {
                        stdout: Vec::new(),
                        stderr: format!("{}\n", status.message()).into_bytes(),
                        exit_code,
                    })
                }
                None => Err(backend(Call::ExecSync, status)),
            };
        }
        self.running = true;
        let finish = async {
            let (read, waited) = tokio::join!(output.read_to_end(), self.wait());
            let exit_status = waited?;
            let (stdout, stderr) = read.map_err(io_backend)?;
            Ok(ExecResult {
                stdout,
                stderr,
                exit_code: request::exit_code(exit_status),
            })
        };
        let result = if timeout.is_zero() {
            finish.await
        } else {
            match tokio::time::timeout(timeout, finish).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::debug!(container = %self.container_id, exec = %self.exec_id, ?timeout, "exec timed out; killing it");
                    Err(ServiceError::Timeout {
                        call: Call::ExecSync,
                        after: timeout,
                    })
                }
            }
        };
        if result.is_ok() {
            self.running = false;
        }
        result
    }

    /// Waits for the process to exit; its exit status.
    async fn wait(&self) -> Result<u32, ServiceError> {
        let resp = self
            .conn
            .tasks()
            .wait(self.conn.request(WaitRequest {
                container_id: self.container_id.clone(),
                exec_id: self.exec_id.clone(),
            }))
            .await
            .or_backend(Call::ExecSync)?;
        Ok(resp.into_inner().exit_status)
    }

    /// Kills the process if it may still run, and deletes it; failures are logged.
    async fn clean_up(&mut self) {
        self.armed = false;
        clean_up(&self.conn, &self.container_id, &self.exec_id, self.running).await;
    }
}

impl Drop for ExecProcess {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(container = %self.container_id, exec = %self.exec_id, "exec process left behind: no runtime to delete it");
            return;
        };
        let (conn, container_id, exec_id, running) = (
            self.conn.clone(),
            std::mem::take(&mut self.container_id),
            std::mem::take(&mut self.exec_id),
            self.running,
        );
        runtime.spawn(async move { clean_up(&conn, &container_id, &exec_id, running).await });
    }
}

/// SIGKILL (when it may run), wait for the reaping, delete the process.
async fn clean_up(conn: &Connection, container_id: &str, exec_id: &str, running: bool) {
    if running {
        let kill = conn
            .tasks()
            .kill(conn.request(KillRequest {
                container_id: container_id.to_string(),
                exec_id: exec_id.to_string(),
                signal: libc::SIGKILL as u32,
                all: false,
            }))
            .await;
        if let Err(status) = kill {
            tracing::debug!(container = container_id, exec = exec_id, error = %status, "killing exec process");
        }
        let mut tasks = conn.tasks();
        let wait = tasks.wait(conn.request(WaitRequest {
            container_id: container_id.to_string(),
            exec_id: exec_id.to_string(),
        }));
        if tokio::time::timeout(KILL_WAIT, wait).await.is_err() {
            tracing::warn!(
                container = container_id,
                exec = exec_id,
                "killed exec process not reaped in time"
            );
        }
    }
    let delete = conn
        .tasks()
        .delete_process(conn.request(DeleteProcessRequest {
            container_id: container_id.to_string(),
            exec_id: exec_id.to_string(),
        }))
        .await;
    match delete {
        Ok(_) => {}
        Err(status) if is_not_found(&status) => {}
        Err(status) => {
            tracing::warn!(container = container_id, exec = exec_id, error = %status, "cannot delete exec process; it stays in the task until the task is deleted");
        }
    }
}

/// A failed task call of the container: gone task means it no longer runs.
fn task_error(id: &ContainerId, status: tonic::Status) -> ServiceError {
    if is_not_found(&status) {
        wrong_state(id, "not running")
    } else {
        backend(Call::ExecSync, status)
    }
}

fn wrong_state(id: &ContainerId, state: &'static str) -> ServiceError {
    ServiceError::WrongState {
        call: Call::ExecSync,
        kind: ObjectKind::Container,
        id: id.to_string(),
        state,
    }
}

fn io_backend(error: std::io::Error) -> ServiceError {
    ServiceError::Backend {
        call: Call::ExecSync,
        source: Box::new(error),
    }
}
