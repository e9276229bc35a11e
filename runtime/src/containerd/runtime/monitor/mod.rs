//! Follows containerd's task events and publishes exits and OOM kills of Skiff's containers.
//!
//! An OOM kill is recorded as the label [`labels::OOM_KILLED`] on the container record before
//! it is published, so a status read after the exit (which containerd sends after the OOM
//! event) reports `OOMKilled`, also from a client started later. containerd does not replay
//! events: the stream is live before [`Monitor::spawn`] returns (proved by a marker event the
//! monitor publishes and receives), and when it breaks the monitor resubscribes with backoff.

mod decode;

use std::collections::HashMap;
use std::time::Duration;

use containerd_client::services::v1::{
    Container, GetContainerRequest, PublishRequest, SubscribeRequest, UpdateContainerRequest,
};
use containerd_client::types::Envelope;
use tokio::task::JoinHandle;
use tonic::Streaming;

use crate::containerd::labels;
use crate::containerd::status::{is_not_found, OrBackend};
use crate::service::{Call, ContainerId, RuntimeEvent, ServiceError};

use super::super::Connection;
use super::publisher::Publisher;
use decode::MonitorEvent;

/// How long subscribing (until the marker comes back) may take.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the marker is published until the subscription answers.
const SYNC_INTERVAL: Duration = Duration::from_millis(20);

/// Entries [`KindCache`] holds before it starts over.
const KIND_CACHE_MAX: usize = 4096;

/// The running event follower; stops when dropped.
pub(crate) struct Monitor {
    task: JoinHandle<()>,
}

impl Monitor {
    /// Subscribes to containerd's task events and starts publishing them to `hub`; fails only
    /// when this first subscription fails.
    pub(crate) async fn spawn(conn: Connection, hub: Publisher) -> Result<Self, ServiceError> {
        let (stream, pending) = subscribe(&conn).await.or_backend(Call::Events)?;
        tracing::debug!(
            namespace = conn.namespace(),
            "following containerd task events"
        );
        let task = tokio::spawn(follow(conn, hub, stream, pending));
        Ok(Self { task })
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A live subscription and the events that arrived before its marker.
async fn subscribe(
    conn: &Connection,
) -> Result<(Streaming<Envelope>, Vec<Envelope>), tonic::Status> {
    match tokio::time::timeout(SUBSCRIBE_TIMEOUT, subscribe_synced(conn)).await {
        Ok(result) => result,
        Err(_) => Err(tonic::Status::deadline_exceeded(
            "containerd's event subscription did not deliver the monitor's marker",
        )),
    }
}

/// Subscribes, then publishes a marker until it comes back through the stream: from then on
/// every event containerd publishes reaches the stream.
///
/// containerd sends the response headers of `Subscribe` only with the first event, so the
/// call itself completes only once some event arrived.
async fn subscribe_synced(
    conn: &Connection,
) -> Result<(Streaming<Envelope>, Vec<Envelope>), tonic::Status> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).expect("the kernel's random source is available");
    let request = conn.request(SubscribeRequest {
        filters: decode::subscribe_filters(conn.namespace()),
    });
    let mut events = conn.events();
    let call = events.subscribe(request);
    tokio::pin!(call);
    let mut tick = tokio::time::interval(SYNC_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stream = loop {
        tokio::select! {
            response = &mut call => break response?.into_inner(),
            _ = tick.tick() => publish_marker(conn, &nonce).await?,
        }
    };
    // The call answered, so the subscription exists: this marker cannot be missed.
    publish_marker(conn, &nonce).await?;
    let mut pending = Vec::new();
    loop {
        let Some(envelope) = stream.message().await? else {
            return Err(tonic::Status::unavailable(
                "containerd closed the event stream",
            ));
        };
        if decode::is_sync(&envelope, &nonce) {
            return Ok((stream, pending));
        }
        pending.push(envelope);
    }
}

/// Publishes the marker event carrying `nonce` in the connection's namespace.
async fn publish_marker(conn: &Connection, nonce: &[u8]) -> Result<(), tonic::Status> {
    let request = conn.request(PublishRequest {
        topic: decode::TOPIC_SYNC.to_string(),
        event: Some(prost_types::Any {
            type_url: decode::SYNC_TYPE_URL.to_string(),
            value: nonce.to_vec(),
        }),
    });
    conn.events().publish(request).await?;
    Ok(())
}

/// Handles events until aborted, resubscribing with backoff whenever the stream breaks.
async fn follow(
    conn: Connection,
    hub: Publisher,
    mut stream: Streaming<Envelope>,
    mut pending: Vec<Envelope>,
) {
    let mut kinds = KindCache::default();
    loop {
        for envelope in pending.drain(..) {
            handle(&conn, &hub, &mut kinds, &envelope).await;
        }
        loop {
            match stream.message().await {
                Ok(Some(envelope)) => handle(&conn, &hub, &mut kinds, &envelope).await,
                Ok(None) => {
                    tracing::warn!(
                        namespace = conn.namespace(),
                        "containerd closed the event stream; resubscribing"
                    );
                    break;
                }
                Err(error) => {
                    tracing::warn!(namespace = conn.namespace(), %error, "containerd event stream broke; resubscribing");
                    break;
                }
            }
        }
        let mut wait = decode::BACKOFF_START;
        (stream, pending) = loop {
            tokio::time::sleep(wait).await;
            match subscribe(&conn).await {
                Ok(live) => break live,
                Err(error) => {
                    wait = decode::next_backoff(wait);
                    tracing::warn!(namespace = conn.namespace(), %error, retry_in = ?wait, "cannot resubscribe to containerd events; is containerd running?");
                }
            }
        };
        tracing::info!(namespace = conn.namespace(), "resubscribed to containerd task events; exits while the stream was down are only visible in container status");
    }
}

/// Publishes what the envelope means for a Skiff container, after recording an OOM kill.
async fn handle(conn: &Connection, hub: &Publisher, kinds: &mut KindCache, envelope: &Envelope) {
    let Some(event) = decode::decode(envelope, conn.namespace()) else {
        return;
    };
    match event {
        MonitorEvent::Exit {
            container_id,
            exit_code,
            at,
        } => {
            if kinds.is_container(conn, &container_id).await {
                tracing::debug!(container = %container_id, exit_code, "container exited");
                hub.publish(RuntimeEvent::ContainerExited {
                    id: ContainerId::new(container_id.clone()),
                    exit_code,
                    at,
                });
            }
            // The init process exits once per task; a new task starts a new record lookup.
            kinds.forget(&container_id);
        }
        MonitorEvent::Oom { container_id, at } => {
            if kinds.is_container(conn, &container_id).await {
                mark_oom_killed(conn, &container_id).await;
                tracing::info!(container = %container_id, "container hit its memory limit; the OOM killer killed a process");
                hub.publish(RuntimeEvent::ContainerOom {
                    id: ContainerId::new(container_id),
                    at,
                });
            }
        }
    }
}

/// Sets [`labels::OOM_KILLED`] on the container record; failures are logged.
async fn mark_oom_killed(conn: &Connection, container_id: &str) {
    let request = conn.request(oom_label_update(container_id));
    match conn.containers().update(request).await {
        Ok(_) => {}
        Err(status) if is_not_found(&status) => {}
        Err(error) => {
            tracing::warn!(container = container_id, %error, "cannot record the OOM kill on the container; its status will say Error instead of OOMKilled");
        }
    }
}

/// The update setting only [`labels::OOM_KILLED`] to `true`.
fn oom_label_update(container_id: &str) -> UpdateContainerRequest {
    UpdateContainerRequest {
        container: Some(Container {
            id: container_id.to_string(),
            labels: HashMap::from([(labels::OOM_KILLED.to_string(), "true".to_string())]),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec![format!("labels.{}", labels::OOM_KILLED)],
        }),
    }
}

/// Which container ids are Skiff containers, remembered so an OOM and the exit after it cost
/// one lookup.
#[derive(Default)]
struct KindCache {
    known: HashMap<String, bool>,
}

impl KindCache {
    /// Whether the record of `id` is labelled as a Skiff container. When containerd cannot
    /// say, the event is passed on: a stray event is ignored by consumers, a lost exit is not.
    async fn is_container(&mut self, conn: &Connection, id: &str) -> bool {
        if let Some(&known) = self.known.get(id) {
            return known;
        }
        let request = conn.request(GetContainerRequest { id: id.to_string() });
        let is_container = match conn.containers().get(request).await {
            Ok(resp) => resp.into_inner().container.is_some_and(|c| {
                c.labels.get(labels::KIND).map(String::as_str) == Some(labels::KIND_CONTAINER)
            }),
            Err(status) if is_not_found(&status) => return false,
            Err(error) => {
                tracing::warn!(container = id, %error, "cannot read the container record of a task event; passing the event on");
                return true;
            }
        };
        if self.known.len() >= KIND_CACHE_MAX {
            self.known.clear();
        }
        self.known.insert(id.to_string(), is_container);
        is_container
    }

    /// Drops what is known about `id`.
    fn forget(&mut self, id: &str) {
        self.known.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_update_touches_only_the_oom_label() {
        let update = oom_label_update("c1");
        let container = update.container.unwrap();
        assert_eq!(container.id, "c1");
        assert_eq!(
            container.labels,
            HashMap::from([("io.skiff.oom-killed".to_string(), "true".to_string())])
        );
        assert_eq!(
            update.update_mask.unwrap().paths,
            vec!["labels.io.skiff.oom-killed".to_string()]
        );
    }
}
