//! Containers: a container record (labels and extension), a rootfs snapshot prepared from the
//! image, and a runc task in the pod's shim with its output going to the log driver.
//!
//! The record is created before the snapshot is prepared: a record naming its snapshot key
//! keeps containerd's GC off the snapshot from the moment it exists, without a lease.

mod create;
mod plan;
pub(crate) mod records;
mod status;
mod task;

use std::time::{Duration, SystemTime};

use containerd_client::services::v1::snapshots::RemoveSnapshotRequest;

use crate::service::{Call, ContainerId, ContainerState, ObjectKind, RuntimeEvent, ServiceError};

use super::super::labels::{self, ContainerRecord};
use super::super::status::{backend, is_not_found};
use super::Inner;

pub(crate) use create::create;
pub(crate) use status::{list, status};

/// How long to wait for the exit after SIGKILL before giving up.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// Starts a created container.
pub(crate) async fn start(inner: &Inner, id: &ContainerId) -> Result<(), ServiceError> {
    const CALL: Call = Call::StartContainer;
    let (record, task) = tokio::join!(
        load(inner, CALL, id),
        task::get(&inner.conn, CALL, id.as_str())
    );
    let (record, task) = (record?, task?);
    let state = status::derive(record, task.as_ref()).state;
    if state != ContainerState::Created || task.is_none() {
        return Err(ServiceError::WrongState {
            call: CALL,
            kind: ObjectKind::Container,
            id: id.to_string(),
            state: state.name(),
        });
    }
    // The start time is taken before the start, so it never follows the exit; the exit and
    // OOM events of a process that dies at once are held until the start is published.
    let at = SystemTime::now();
    let guard = inner.hub.starting(id.as_str());
    let pid = task::start(&inner.conn, CALL, id.as_str()).await?;
    let recorded = records::set_labels(
        &inner.conn,
        CALL,
        ObjectKind::Container,
        id.as_str(),
        &[(labels::STARTED_AT, labels::unix_nanos(at).to_string())],
    )
    .await;
    tracing::info!(container = %id, pid, "container started");
    guard.started(RuntimeEvent::ContainerStarted {
        id: id.clone(),
        pid,
        at,
    });
    recorded
}

/// SIGTERM, SIGKILL after `grace`, and waits for the exit.
pub(crate) async fn stop(
    inner: &Inner,
    id: &ContainerId,
    grace: Duration,
) -> Result<(), ServiceError> {
    const CALL: Call = Call::StopContainer;
    load(inner, CALL, id).await?;
    let Some(task) = task::get(&inner.conn, CALL, id.as_str()).await? else {
        return Ok(());
    };
    if !task::is_running(&task) {
        return Ok(());
    }
    if !grace.is_zero() {
        task::kill(&inner.conn, CALL, id.as_str(), libc::SIGTERM, false).await?;
        if task::wait(&inner.conn, CALL, id.as_str(), grace).await? {
            tracing::info!(container = %id, "container stopped by SIGTERM");
            return Ok(());
        }
    }
    kill_and_wait(inner, CALL, id).await?;
    tracing::info!(container = %id, grace_ms = grace.as_millis() as u64, "container killed");
    Ok(())
}

/// Removes the container, killing it first if it runs.
pub(crate) async fn remove(inner: &Inner, id: &ContainerId) -> Result<(), ServiceError> {
    const CALL: Call = Call::RemoveContainer;
    let (record, task) = tokio::join!(
        records::get(&inner.conn, CALL, id.as_str()),
        task::get(&inner.conn, CALL, id.as_str())
    );
    let Some(record) = record? else {
        return Ok(());
    };
    if let Some(task) = task? {
        if task::is_running(&task) {
            kill_and_wait(inner, CALL, id).await?;
        }
        task::delete(&inner.conn, CALL, id.as_str()).await?;
    }
    if !record.snapshot_key.is_empty() {
        remove_snapshot(inner, CALL, &record.snapshotter, &record.snapshot_key).await?;
    }
    records::delete(&inner.conn, CALL, id.as_str()).await?;
    tracing::info!(container = %id, "container removed");
    inner.hub.publish(RuntimeEvent::ContainerRemoved {
        id: id.clone(),
        at: SystemTime::now(),
    });
    Ok(())
}

/// SIGKILL to every process of the task, then waits for the exit.
async fn kill_and_wait(inner: &Inner, call: Call, id: &ContainerId) -> Result<(), ServiceError> {
    task::kill(&inner.conn, call, id.as_str(), libc::SIGKILL, true).await?;
    if task::wait(&inner.conn, call, id.as_str(), KILL_WAIT).await? {
        Ok(())
    } else {
        Err(ServiceError::Timeout {
            call,
            after: KILL_WAIT,
        })
    }
}

/// Removes a snapshot; absent is fine.
async fn remove_snapshot(
    inner: &Inner,
    call: Call,
    snapshotter: &str,
    key: &str,
) -> Result<(), ServiceError> {
    let request = inner.conn.request(RemoveSnapshotRequest {
        snapshotter: snapshotter.to_string(),
        key: key.to_string(),
    });
    match inner.conn.snapshots().remove(request).await {
        Ok(_) => Ok(()),
        Err(status) if is_not_found(&status) => Ok(()),
        Err(status) => Err(backend(call, status)),
    }
}

/// The container record `id`; `NotFound` when absent or not a Skiff container.
async fn load(
    inner: &Inner,
    call: Call,
    id: &ContainerId,
) -> Result<ContainerRecord, ServiceError> {
    let not_found = || ServiceError::NotFound {
        kind: ObjectKind::Container,
        id: id.to_string(),
    };
    let container = records::get(&inner.conn, call, id.as_str())
        .await?
        .ok_or_else(not_found)?;
    decode(&container).ok_or_else(not_found)
}

/// The record as a container, logging records that are not Skiff's containers.
fn decode(container: &containerd_client::services::v1::Container) -> Option<ContainerRecord> {
    match ContainerRecord::decode(&container.id, &container.labels, &container.extensions) {
        Ok(record) => Some(record),
        Err(e) => {
            tracing::debug!(record = %container.id, error = %e, "not a Skiff container record");
            None
        }
    }
}
