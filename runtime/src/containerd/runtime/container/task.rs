//! A container's runc task: get, start, signal, wait, delete, with containerd's statuses
//! mapped (an absent task or an already finished process is not an error where it need not be).

use std::time::Duration;

use containerd_client::services::v1::{
    DeleteTaskRequest, GetRequest, KillRequest, StartRequest, WaitRequest,
};
use containerd_client::types::v1::{Process, Status};

use crate::service::{Call, ServiceError};

use super::super::super::status::{backend, is_not_found, OrBackend};
use super::super::super::Connection;

/// The task's init process, or `None` when the container has no task.
pub(crate) async fn get(
    conn: &Connection,
    call: Call,
    id: &str,
) -> Result<Option<Process>, ServiceError> {
    let request = conn.request(GetRequest {
        container_id: id.to_string(),
        exec_id: String::new(),
    });
    match conn.tasks().get(request).await {
        Ok(response) => Ok(response.into_inner().process),
        Err(status) if is_not_found(&status) => Ok(None),
        Err(status) => Err(backend(call, status)),
    }
}

/// Whether the task's process runs (or is paused).
pub(crate) fn is_running(task: &Process) -> bool {
    matches!(
        Status::try_from(task.status),
        Ok(Status::Running | Status::Paused | Status::Pausing)
    )
}

/// Starts the created task; returns its pid.
pub(crate) async fn start(conn: &Connection, call: Call, id: &str) -> Result<u32, ServiceError> {
    let request = conn.request(StartRequest {
        container_id: id.to_string(),
        exec_id: String::new(),
    });
    let response = conn.tasks().start(request).await.or_backend(call)?;
    Ok(response.into_inner().pid)
}

/// Sends `signal` to the task's init process (`all`: to every process of the container); a
/// process that already finished is fine.
pub(crate) async fn kill(
    conn: &Connection,
    call: Call,
    id: &str,
    signal: i32,
    all: bool,
) -> Result<(), ServiceError> {
    let request = conn.request(KillRequest {
        container_id: id.to_string(),
        exec_id: String::new(),
        signal: signal as u32,
        all,
    });
    match conn.tasks().kill(request).await {
        Ok(_) => Ok(()),
        Err(status) if is_not_found(&status) => Ok(()),
        Err(status) => Err(backend(call, status)),
    }
}

/// Waits up to `limit` for the task to exit; `false` when it still runs then.
pub(crate) async fn wait(
    conn: &Connection,
    call: Call,
    id: &str,
    limit: Duration,
) -> Result<bool, ServiceError> {
    let request = conn.request(WaitRequest {
        container_id: id.to_string(),
        exec_id: String::new(),
    });
    let mut tasks = conn.tasks();
    match tokio::time::timeout(limit, tasks.wait(request)).await {
        Err(_elapsed) => Ok(false),
        Ok(Ok(_)) => Ok(true),
        Ok(Err(status)) if is_not_found(&status) => Ok(true),
        Ok(Err(status)) => Err(backend(call, status)),
    }
}

/// Deletes the (exited or never started) task; absent is fine.
pub(crate) async fn delete(conn: &Connection, call: Call, id: &str) -> Result<(), ServiceError> {
    let request = conn.request(DeleteTaskRequest {
        container_id: id.to_string(),
    });
    match conn.tasks().delete(request).await {
        Ok(_) => Ok(()),
        Err(status) if is_not_found(&status) => Ok(()),
        Err(status) => Err(backend(call, status)),
    }
}
