//! A container's status: derived purely from its record and its task, read with one call per
//! container or one list of all tasks.

use std::collections::HashMap;

use containerd_client::services::v1::ListTasksRequest;
use containerd_client::types::v1::{Process, Status};

use crate::service::{
    Call, ContainerFilter, ContainerId, ContainerState, ContainerStatus, ExitReason, ServiceError,
};

use super::super::super::labels::{self, ContainerRecord};
use super::super::super::status::OrBackend;
use super::super::Inner;
use super::{decode, load, records, task};

/// The container's status.
pub(crate) async fn status(
    inner: &Inner,
    id: &ContainerId,
) -> Result<ContainerStatus, ServiceError> {
    const CALL: Call = Call::ContainerStatus;
    let record = load(inner, CALL, id).await?;
    let task = task::get(&inner.conn, CALL, id.as_str()).await?;
    Ok(derive(record, task.as_ref()))
}

/// Containers passing the filter, sorted by id.
pub(crate) async fn list(
    inner: &Inner,
    filter: &ContainerFilter,
) -> Result<Vec<ContainerStatus>, ServiceError> {
    const CALL: Call = Call::ListContainers;
    let found = records::list(&inner.conn, CALL, list_filter(filter)).await?;
    let request = inner.conn.request(ListTasksRequest {
        filter: String::new(),
    });
    let tasks: HashMap<String, Process> = inner
        .conn
        .tasks()
        .list(request)
        .await
        .or_backend(CALL)?
        .into_inner()
        .tasks
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let mut statuses: Vec<ContainerStatus> = found
        .iter()
        .filter_map(decode)
        .map(|record| {
            let task = tasks.get(record.id.as_str());
            derive(record, task)
        })
        .filter(|status| filter.matches(status))
        .collect();
    statuses.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(statuses)
}

/// The containerd filter narrowing a list (by sandbox; the rest is filtered here).
fn list_filter(filter: &ContainerFilter) -> String {
    match &filter.sandbox_id {
        Some(sandbox) => labels::label_filter(&[
            (labels::KIND, labels::KIND_CONTAINER),
            (labels::SANDBOX_ID, sandbox.as_str()),
        ]),
        None => labels::label_filter(&[(labels::KIND, labels::KIND_CONTAINER)]),
    }
}

/// The status of a container from its record and its task's init process (`None`: no task).
///
/// A record without a task is `Created` while it never started (creation failed part-way, or
/// the task was lost before start) and `Unknown` once it did: its exit code is gone.
pub(crate) fn derive(record: ContainerRecord, task: Option<&Process>) -> ContainerStatus {
    let task_status = task.map(|t| Status::try_from(t.status).unwrap_or(Status::Unknown));
    let (state, message) = match task_status {
        None if record.started_at.is_none() => (ContainerState::Created, None),
        None => (
            ContainerState::Unknown,
            Some("the container's task is gone".to_string()),
        ),
        Some(Status::Created) => (ContainerState::Created, None),
        Some(Status::Running | Status::Paused | Status::Pausing) => (ContainerState::Running, None),
        Some(Status::Stopped) => (ContainerState::Exited, None),
        Some(Status::Unknown) => (
            ContainerState::Unknown,
            Some("containerd reports the task's state as unknown".to_string()),
        ),
    };
    let exited = state == ContainerState::Exited;
    let exit_code = task.filter(|_| exited).map(|t| t.exit_status as i32);
    let reason = exit_code.map(|code| {
        if record.oom_killed {
            ExitReason::OomKilled
        } else {
            ExitReason::for_exit_code(code)
        }
    });
    ContainerStatus {
        pid: task
            .filter(|_| state == ContainerState::Running)
            .map(|t| t.pid),
        exit_code,
        finished_at: task
            .filter(|_| exited)
            .and_then(|t| labels::from_timestamp(t.exited_at.as_ref())),
        reason,
        message,
        state,
        id: record.id,
        sandbox_id: record.sandbox_id,
        metadata: record.metadata,
        image: record.image,
        created_at: record.created_at,
        started_at: record.started_at,
        log_path: record.log_path,
        labels: record.labels,
        annotations: record.annotations,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::reference::ImageReference;
    use crate::service::{ContainerMetadata, SandboxId};

    fn record() -> ContainerRecord {
        ContainerRecord {
            id: ContainerId::new("c1"),
            sandbox_id: SandboxId::new("s1"),
            pod_uid: "u".into(),
            pod_namespace: "default".into(),
            pod_name: "web".into(),
            metadata: ContainerMetadata {
                name: "app".into(),
                attempt: 0,
            },
            image: ImageReference::parse("busybox").unwrap(),
            log_path: "/logs/app.log".into(),
            labels: BTreeMap::from([("k".into(), "v".into())]),
            annotations: BTreeMap::new(),
            created_at: UNIX_EPOCH + Duration::from_secs(100),
            started_at: None,
            oom_killed: false,
        }
    }

    fn started() -> ContainerRecord {
        ContainerRecord {
            started_at: Some(UNIX_EPOCH + Duration::from_secs(101)),
            ..record()
        }
    }

    fn task(status: Status, pid: u32, exit_status: u32, exited_secs: i64) -> Process {
        Process {
            container_id: "c1".into(),
            id: "c1".into(),
            pid,
            status: status as i32,
            exit_status,
            exited_at: Some(prost_types::Timestamp {
                seconds: exited_secs,
                nanos: 0,
            }),
            ..Default::default()
        }
    }

    /// Go's zero time, which containerd sends as `exited_at` of a live process.
    const GO_ZERO: i64 = -62_135_596_800;

    #[test]
    fn created_task_is_created_without_pid() {
        let s = derive(record(), Some(&task(Status::Created, 42, 0, GO_ZERO)));
        assert_eq!(s.state, ContainerState::Created);
        assert_eq!(
            (s.pid, s.exit_code, s.finished_at, s.reason),
            (None, None, None, None)
        );
        assert_eq!(s.log_path, std::path::PathBuf::from("/logs/app.log"));
        assert_eq!(s.labels["k"], "v");
    }

    #[test]
    fn running_task_reports_its_pid_and_start_time() {
        let s = derive(started(), Some(&task(Status::Running, 42, 0, GO_ZERO)));
        assert_eq!(s.state, ContainerState::Running);
        assert_eq!(s.pid, Some(42));
        assert_eq!(s.started_at, Some(UNIX_EPOCH + Duration::from_secs(101)));
        assert_eq!((s.exit_code, s.finished_at), (None, None));
    }

    #[test]
    fn stopped_task_reports_exit_code_time_and_reason() {
        let ok = derive(started(), Some(&task(Status::Stopped, 42, 0, 200)));
        assert_eq!(ok.state, ContainerState::Exited);
        assert_eq!(ok.exit_code, Some(0));
        assert_eq!(ok.reason, Some(ExitReason::Completed));
        assert_eq!(ok.finished_at, Some(UNIX_EPOCH + Duration::from_secs(200)));
        assert_eq!(ok.pid, None);

        let failed = derive(started(), Some(&task(Status::Stopped, 42, 3, 200)));
        assert_eq!(failed.exit_code, Some(3));
        assert_eq!(failed.reason, Some(ExitReason::Error));
    }

    #[test]
    fn oom_mark_makes_the_reason_oom_killed() {
        let oom = ContainerRecord {
            oom_killed: true,
            ..started()
        };
        let s = derive(oom, Some(&task(Status::Stopped, 42, 137, 200)));
        assert_eq!(s.exit_code, Some(137));
        assert_eq!(s.reason, Some(ExitReason::OomKilled));
    }

    #[test]
    fn record_without_task_is_created_only_if_never_started() {
        let never = derive(record(), None);
        assert_eq!(never.state, ContainerState::Created);
        assert_eq!(never.message, None);

        let lost = derive(started(), None);
        assert_eq!(lost.state, ContainerState::Unknown);
        assert!(lost.message.is_some());
        assert_eq!((lost.exit_code, lost.reason), (None, None));
    }

    #[test]
    fn paused_counts_as_running_and_unknown_stays_unknown() {
        let paused = derive(started(), Some(&task(Status::Paused, 7, 0, GO_ZERO)));
        assert_eq!(
            (paused.state, paused.pid),
            (ContainerState::Running, Some(7))
        );
        let unknown = derive(started(), Some(&task(Status::Unknown, 7, 0, GO_ZERO)));
        assert_eq!(unknown.state, ContainerState::Unknown);
        assert_eq!(unknown.pid, None);
    }

    #[test]
    fn list_filter_narrows_by_sandbox_only() {
        let all = list_filter(&ContainerFilter::default());
        assert_eq!(all, r#"labels."io.skiff.kind"=="container""#);
        let one = list_filter(&ContainerFilter {
            sandbox_id: Some(SandboxId::new("s1")),
            ..Default::default()
        });
        assert!(
            one.ends_with(r#"labels."io.skiff.sandbox-id"=="s1""#),
            "{one}"
        );
    }
}
