//! Sandboxes: pinned net, ipc and uts namespaces plus a task-less container record whose
//! labels and extension hold the sandbox's metadata.

mod state;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use containerd_client::services::v1::{container::Runtime, Container};

use crate::sandbox::{PinnedNamespaces, PodNamespaces, SandboxError};
use crate::service::{
    Call, ContainerId, ObjectKind, RuntimeEvent, SandboxConfig, SandboxFilter, SandboxId,
    SandboxStatus, ServiceError,
};

use super::super::labels::{self, SandboxRecord};
use super::container::{self, records, records::NameReservation};
use super::Inner;

pub(crate) use state::SPEC_TYPE;

/// How long a sandbox's containers get between SIGTERM and SIGKILL when it stops: none, as
/// containerd's CRI plugin (the kubelet stops containers with their grace period first).
const STOP_GRACE: Duration = Duration::ZERO;

/// Pins the pod's namespaces and records the sandbox.
pub(crate) async fn create(
    inner: &Inner,
    config: &SandboxConfig,
) -> Result<SandboxId, ServiceError> {
    const CALL: Call = Call::CreateSandbox;
    state::validate(config)?;
    let name = config.metadata.unique_name();
    let Some(_reservation) = NameReservation::take(inner.conn.namespace(), &name) else {
        return Err(ServiceError::SandboxExists {
            name,
            existing: "(being created)".to_string(),
        });
    };
    let meta = &config.metadata;
    let attempt = meta.attempt.to_string();
    let filter = labels::label_filter(&[
        (labels::KIND, labels::KIND_SANDBOX),
        (labels::POD_UID, &meta.pod_uid),
        (labels::POD_NAMESPACE, &meta.namespace),
        (labels::POD_NAME, &meta.name),
        (labels::ATTEMPT, &attempt),
    ]);
    if let Some(existing) = records::list(&inner.conn, CALL, filter).await?.first() {
        return Err(ServiceError::SandboxExists {
            name,
            existing: existing.id.clone(),
        });
    }

    let id = records::new_id(CALL)?;
    let pins = pin(inner, &id, &config.hostname).await?;
    let record = state::record(&id, config, SystemTime::now());
    let encoded = record.encode();
    let container = Container {
        id: id.clone(),
        extensions: encoded.extensions(),
        labels: encoded.labels,
        runtime: Some(Runtime {
            name: inner.config.runtime.clone(),
            options: None,
        }),
        spec: Some(state::spec(&config.hostname, &pins)),
        ..Default::default()
    };
    if let Err(e) = records::create(&inner.conn, CALL, container).await {
        if let Err(undo) = unpin(inner, &id).await {
            tracing::warn!(sandbox = %id, error = %undo, "removing the pins of a sandbox whose record failed");
        }
        return Err(e);
    }
    tracing::info!(sandbox = %id, pod = %name, "sandbox created");
    Ok(SandboxId::new(id))
}

/// Stops the sandbox's containers and releases its namespaces.
pub(crate) async fn stop(inner: &Inner, id: &SandboxId) -> Result<(), ServiceError> {
    const CALL: Call = Call::StopSandbox;
    if load(inner, CALL, id).await?.is_none() {
        // Stopping an absent sandbox succeeds, as in the CRI.
        return Ok(());
    }
    for container in container_ids(inner, CALL, id).await? {
        match container::stop(inner, &container, STOP_GRACE).await {
            Ok(()) | Err(ServiceError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    // Marked first: a failure part-way through unpinning leaves a sandbox that is already
    // not ready, and stopping again finishes the job.
    records::set_labels(
        &inner.conn,
        CALL,
        ObjectKind::Sandbox,
        id.as_str(),
        &[(labels::STOPPED, "true".to_string())],
    )
    .await?;
    unpin(inner, id.as_str()).await?;
    tracing::info!(sandbox = %id, "sandbox stopped");
    inner.hub.publish(RuntimeEvent::SandboxStopped {
        id: id.clone(),
        at: SystemTime::now(),
    });
    Ok(())
}

/// Removes the sandbox and its containers.
pub(crate) async fn remove(inner: &Inner, id: &SandboxId) -> Result<(), ServiceError> {
    const CALL: Call = Call::RemoveSandbox;
    for container in container_ids(inner, CALL, id).await? {
        container::remove(inner, &container).await?;
    }
    if load(inner, CALL, id).await?.is_none() {
        // Removing an absent sandbox succeeds; pins left by a crash between pinning and
        // recording go too.
        if let Err(e) = unpin(inner, id.as_str()).await {
            tracing::debug!(sandbox = %id, error = %e, "no pins of an absent sandbox removed");
        }
        return Ok(());
    }
    unpin(inner, id.as_str()).await?;
    records::delete(&inner.conn, CALL, id.as_str()).await?;
    tracing::info!(sandbox = %id, "sandbox removed");
    Ok(())
}

/// The sandbox's status.
pub(crate) async fn status(inner: &Inner, id: &SandboxId) -> Result<SandboxStatus, ServiceError> {
    const CALL: Call = Call::SandboxStatus;
    let record = load(inner, CALL, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            kind: ObjectKind::Sandbox,
            id: id.to_string(),
        })?;
    let pins = pins(inner, id).await;
    Ok(state::status(record, pins))
}

/// Sandboxes passing the filter, sorted by id.
pub(crate) async fn list(
    inner: &Inner,
    filter: &SandboxFilter,
) -> Result<Vec<SandboxStatus>, ServiceError> {
    const CALL: Call = Call::ListSandboxes;
    let found = records::list(
        &inner.conn,
        CALL,
        labels::label_filter(&[(labels::KIND, labels::KIND_SANDBOX)]),
    )
    .await?;
    let pinned = all_pins(inner, CALL).await?;
    let mut statuses: Vec<SandboxStatus> = found
        .iter()
        .filter_map(decode)
        .map(|record| {
            let pins = pinned.get(record.id.as_str()).cloned();
            state::status(record, pins)
        })
        .filter(|status| filter.matches(status))
        .collect();
    statuses.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(statuses)
}

/// The sandbox record `id`, or `None` when absent (or not Skiff's).
pub(crate) async fn load(
    inner: &Inner,
    call: Call,
    id: &SandboxId,
) -> Result<Option<SandboxRecord>, ServiceError> {
    Ok(records::get(&inner.conn, call, id.as_str())
        .await?
        .as_ref()
        .and_then(decode))
}

/// The sandbox's pins, when all three are mounted.
pub(crate) async fn pins(inner: &Inner, id: &SandboxId) -> Option<PinnedNamespaces> {
    let run_dir = inner.config.netns_dir.clone();
    let pod = id.to_string();
    let loaded = tokio::task::spawn_blocking(move || PodNamespaces::load(&run_dir, &pod)).await;
    match loaded {
        Ok(Ok(pins)) => Some(pins),
        Ok(Err(e)) => {
            tracing::debug!(sandbox = %id, error = %e, "sandbox namespaces not pinned");
            None
        }
        Err(e) => {
            tracing::warn!(sandbox = %id, error = %e, "loading sandbox namespaces panicked");
            None
        }
    }
}

/// Ids of the containers of sandbox `id`.
async fn container_ids(
    inner: &Inner,
    call: Call,
    id: &SandboxId,
) -> Result<Vec<ContainerId>, ServiceError> {
    let filter = labels::label_filter(&[
        (labels::KIND, labels::KIND_CONTAINER),
        (labels::SANDBOX_ID, id.as_str()),
    ]);
    let found = records::list(&inner.conn, call, filter).await?;
    Ok(found.into_iter().map(|c| ContainerId::new(c.id)).collect())
}

/// The record as a sandbox, logging records that are not Skiff's sandboxes.
fn decode(container: &Container) -> Option<SandboxRecord> {
    match SandboxRecord::decode(&container.id, &container.labels, &container.extensions) {
        Ok(record) => Some(record),
        Err(e) => {
            tracing::debug!(record = %container.id, error = %e, "not a Skiff sandbox record");
            None
        }
    }
}

/// Pins new namespaces for sandbox `id` off the async runtime.
async fn pin(inner: &Inner, id: &str, hostname: &str) -> Result<PinnedNamespaces, ServiceError> {
    let run_dir = inner.config.netns_dir.clone();
    let (pod, host) = (id.to_string(), hostname.to_string());
    let pinned = tokio::task::spawn_blocking(move || PodNamespaces::create(&run_dir, &pod, &host))
        .await
        .map_err(|e| join_failure(Call::CreateSandbox, e))?;
    pinned.map_err(|e| match e {
        SandboxError::InvalidHostname(reason) => ServiceError::InvalidConfig {
            field: "hostname".to_string(),
            reason: format!("{reason:?} is not a valid hostname"),
        },
        e => ServiceError::Backend {
            call: Call::CreateSandbox,
            source: Box::new(e),
        },
    })
}

/// Unmounts and deletes sandbox `id`'s pins; missing is fine.
async fn unpin(inner: &Inner, id: &str) -> Result<(), ServiceError> {
    let run_dir = inner.config.netns_dir.clone();
    let pod = id.to_string();
    tokio::task::spawn_blocking(move || PodNamespaces::remove(&run_dir, &pod))
        .await
        .map_err(|e| join_failure(Call::RemoveSandbox, e))?
        .map_err(|e| ServiceError::Backend {
            call: Call::RemoveSandbox,
            source: Box::new(e),
        })
}

/// The pins of every pod whose three pins are mounted under the run dir, by pod id.
async fn all_pins(
    inner: &Inner,
    call: Call,
) -> Result<BTreeMap<String, PinnedNamespaces>, ServiceError> {
    let run_dir: PathBuf = inner.config.netns_dir.clone();
    if !run_dir.exists() {
        return Ok(BTreeMap::new());
    }
    let report = tokio::task::spawn_blocking(move || PodNamespaces::load_all(&run_dir))
        .await
        .map_err(|e| join_failure(call, e))?
        .map_err(|e| ServiceError::Backend {
            call,
            source: Box::new(e),
        })?;
    Ok(report
        .pinned
        .into_iter()
        .map(|p| (p.pod_id.clone(), p))
        .collect())
}

/// A blocking task that panicked or was cancelled, as a backend failure.
fn join_failure(call: Call, e: tokio::task::JoinError) -> ServiceError {
    ServiceError::Backend {
        call,
        source: Box::new(e),
    }
}
