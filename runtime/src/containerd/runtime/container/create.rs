//! Creating a container: record, rootfs snapshot, task; any failure undoes all three.

use std::time::SystemTime;

use containerd_client::services::v1::container::Runtime;
use containerd_client::services::v1::snapshots::PrepareSnapshotRequest;
use containerd_client::services::v1::{Container, CreateTaskRequest};
use containerd_client::types::Mount;

use crate::service::{
    Call, ContainerConfig, ContainerId, ObjectKind, RuntimeEvent, SandboxId, ServiceError,
};

use super::super::super::image::record as image_record;
use super::super::super::labels::{self, ContainerRecord};
use super::super::super::status::OrBackend;
use super::super::sandbox::{self, SPEC_TYPE};
use super::super::Inner;
use super::{decode, plan, records, records::NameReservation, remove_snapshot, task};

const CALL: Call = Call::CreateContainer;

/// Creates (does not start) a container in a ready sandbox.
pub(crate) async fn create(
    inner: &Inner,
    sandbox_id: &SandboxId,
    config: &ContainerConfig,
) -> Result<ContainerId, ServiceError> {
    plan::validate(config)?;
    // The three look-ups are independent; their errors are reported in this order.
    let (sandbox, pins, image) = tokio::join!(
        sandbox::load(inner, CALL, sandbox_id),
        sandbox::pins(inner, sandbox_id),
        image_record::resolve(&inner.conn, CALL, &config.image),
    );
    let sandbox = sandbox?.ok_or_else(|| ServiceError::NotFound {
        kind: ObjectKind::Sandbox,
        id: sandbox_id.to_string(),
    })?;
    let pins = match pins {
        Some(pins) if !sandbox.stopped => pins,
        _ => {
            return Err(ServiceError::WrongState {
                call: CALL,
                kind: ObjectKind::Sandbox,
                id: sandbox_id.to_string(),
                state: crate::service::SandboxState::NotReady.name(),
            })
        }
    };
    let log_path = plan::log_path(&sandbox.log_directory, &config.log_path)?;

    let id = records::new_id(CALL)?;
    let record = plan::record(&id, &sandbox, config, log_path, SystemTime::now());
    let name = record.unique_name();
    let Some(_reservation) = NameReservation::take(inner.conn.namespace(), &name) else {
        return Err(ServiceError::ContainerExists {
            name,
            existing: "(being created)".to_string(),
        });
    };
    if let Some(existing) = existing(inner, &record).await? {
        return Err(ServiceError::ContainerExists { name, existing });
    }

    let image = image?.ok_or_else(|| ServiceError::ImageNotFound {
        reference: config.image.to_string(),
    })?;
    let spec_config = plan::spec_config(config, &id, &sandbox, &pins, &inner.config.cgroup_parent);
    let spec = crate::spec::build(&spec_config)?;
    let spec_json = serde_json::to_vec(&spec).map_err(|e| ServiceError::Backend {
        call: CALL,
        source: Box::new(e),
    })?;

    let encoded = record.encode();
    let container = Container {
        id: id.clone(),
        extensions: encoded.extensions(),
        labels: encoded.labels,
        image: image.info.reference.to_string(),
        runtime: Some(Runtime {
            name: inner.config.runtime.clone(),
            options: None,
        }),
        spec: Some(prost_types::Any {
            type_url: SPEC_TYPE.to_string(),
            value: spec_json,
        }),
        snapshotter: inner.config.snapshotter.clone(),
        snapshot_key: id.clone(),
        ..Default::default()
    };
    records::create(&inner.conn, CALL, container).await?;
    let terminal = config.spec.tty;
    if let Err(e) =
        prepare_and_create_task(inner, &record, &image.chain_id.to_string(), terminal).await
    {
        discard(inner, &id).await;
        return Err(e);
    }
    tracing::info!(container = %id, sandbox = %sandbox_id, name = %name, image = %config.image, "container created");
    let id = ContainerId::new(id);
    inner.hub.publish(RuntimeEvent::ContainerCreated {
        id: id.clone(),
        sandbox_id: sandbox_id.clone(),
        at: record.created_at,
    });
    Ok(id)
}

/// The id of a container with the record's sandbox, name and attempt, if one exists.
async fn existing(inner: &Inner, record: &ContainerRecord) -> Result<Option<String>, ServiceError> {
    let attempt = record.metadata.attempt.to_string();
    let filter = labels::label_filter(&[
        (labels::KIND, labels::KIND_CONTAINER),
        (labels::SANDBOX_ID, record.sandbox_id.as_str()),
        (labels::CONTAINER_NAME, &record.metadata.name),
        (labels::ATTEMPT, &attempt),
    ]);
    let found = records::list(&inner.conn, CALL, filter).await?;
    Ok(found.iter().find_map(decode).map(|r| r.id.to_string()))
}

/// Prepares the rootfs snapshot from the image's top layer and creates the task.
async fn prepare_and_create_task(
    inner: &Inner,
    record: &ContainerRecord,
    chain_id: &str,
    terminal: bool,
) -> Result<(), ServiceError> {
    let id = record.id.as_str();
    let request = inner.conn.request(PrepareSnapshotRequest {
        snapshotter: inner.config.snapshotter.clone(),
        key: id.to_string(),
        parent: chain_id.to_string(),
        labels: Default::default(),
    });
    let mounts: Vec<Mount> = inner
        .conn
        .snapshots()
        .prepare(request)
        .await
        .or_backend(CALL)?
        .into_inner()
        .mounts;

    let io = if record.log_path.as_os_str().is_empty() {
        String::new()
    } else {
        if let Some(dir) = record.log_path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| ServiceError::Backend {
                    call: CALL,
                    source: Box::new(e),
                })?;
        }
        crate::logs::logger_uri(
            &inner.config.logger,
            &record.log_path,
            inner.config.log_max_bytes,
            inner.config.log_max_files,
        )
    };
    let request = inner.conn.request(CreateTaskRequest {
        container_id: id.to_string(),
        rootfs: mounts,
        stdout: io.clone(),
        stderr: io,
        terminal,
        ..Default::default()
    });
    let created = inner.conn.tasks().create(request).await.or_backend(CALL)?;
    tracing::debug!(container = %id, pid = created.into_inner().pid, "task created");
    Ok(())
}

/// Undoes a create that failed after its record: task, snapshot and record go, each step
/// tried whatever the others did.
async fn discard(inner: &Inner, id: &str) {
    if let Err(e) = task::delete(&inner.conn, CALL, id).await {
        tracing::warn!(container = %id, error = %e, "deleting the task of a failed create");
    }
    if let Err(e) = remove_snapshot(inner, CALL, &inner.config.snapshotter, id).await {
        tracing::warn!(container = %id, error = %e, "removing the snapshot of a failed create");
    }
    if let Err(e) = records::delete(&inner.conn, CALL, id).await {
        tracing::warn!(container = %id, error = %e, "deleting the record of a failed create");
    }
}
