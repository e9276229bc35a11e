//! Pulls from OCI and Docker registries with `oci-client`: manifests resolved to this
//! platform and verified, blobs streamed into containerd's content store under a lease with
//! containerd's GC labels, layers unpacked, then the image record; concurrent pulls of one
//! image share one download.

mod plan;
mod registry;
mod shared;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt, TryStreamExt};

use crate::reference::{Digest, ImageReference};
use crate::service::{Call, ImageInfo, RegistryAuth, ServiceError};

use super::super::content::{self, Blob};
use super::super::lease::Lease;
use super::super::unpack::{self, Layer};
use super::record::parse::this_platform;
use super::ContainerdImages;

use plan::{Fetched, Plan};
use registry::{OciRegistry, Registry, RegistryError};

pub(crate) use shared::InFlight;

/// The lease of a pull ends by itself this long after a crash (containerd's default).
const LEASE_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

/// Layers downloaded at once.
const CONCURRENT_LAYERS: usize = 3;

const CALL: Call = Call::PullImage;

/// Pulls `reference` into containerd and unpacks it.
pub(crate) async fn pull(
    images: &ContainerdImages,
    reference: &ImageReference,
    auth: Option<&RegistryAuth>,
) -> Result<ImageInfo, ServiceError> {
    let key = shared::key(&reference.to_string(), auth);
    let pulls = images.pulls.clone();
    let shared = pulls.join_or_start(key, |finished| {
        let (images, reference, auth) = (images.clone(), reference.clone(), auth.cloned());
        // A task of its own: a caller that gives up does not cut the pull short for the
        // others, nor leave it half done.
        let task = tokio::spawn(async move {
            let _finished = finished;
            pull_once(&images, &reference, auth.as_ref())
                .await
                .map_err(Arc::new)
        });
        async move {
            match task.await {
                Ok(result) => result,
                Err(join) => std::panic::resume_unwind(join.into_panic()),
            }
        }
        .boxed()
    });
    shared.await.map_err(|error| shared::unshare(&error))
}

/// One pull, start to end.
async fn pull_once(
    images: &ContainerdImages,
    reference: &ImageReference,
    auth: Option<&RegistryAuth>,
) -> Result<ImageInfo, ServiceError> {
    let plain = registry::plain_http(reference.registry(), &images.config.plain_http_registries);
    let registry = OciRegistry::new(reference, auth, plain);
    tracing::info!(image = %reference, plain_http = plain, "pulling image");
    let plan = fetch_plan(images, &registry, reference).await?;
    let lease = Lease::create(&images.conn, CALL, "pull", LEASE_EXPIRY).await?;
    let stored = store(images, &registry, reference, &plan, &lease).await;
    let released = lease.release(&images.conn, CALL).await;
    let info = stored?;
    released?;
    tracing::info!(image = %reference, digest = %info.digest, size = info.size, "image pulled");
    Ok(info)
}

/// Resolves manifests from the registry; the config comes from the store when it is there.
async fn fetch_plan(
    images: &ContainerdImages,
    registry: &dyn Registry,
    reference: &ImageReference,
) -> Result<Plan, ServiceError> {
    let in_registry = |e: RegistryError| e.into_service(reference);
    let manifests = plan::resolve_manifests(registry, reference, &this_platform())
        .await
        .map_err(in_registry)?;
    let config = &manifests.parsed.config;
    let local = match content::exists(&images.conn, CALL, &config.digest).await? {
        Some(_) => Some(content::read_all(&images.conn, CALL, &config.digest).await?),
        None => None,
    };
    let bytes = match local.filter(|bytes| config.digest.verify(bytes)) {
        Some(bytes) => bytes,
        None => plan::fetch_small(registry, config)
            .await
            .map_err(in_registry)?,
    };
    plan::plan(manifests, bytes).map_err(in_registry)
}

/// Writes every blob under `lease`, unpacks, and creates the image record.
async fn store(
    images: &ContainerdImages,
    registry: &dyn Registry,
    reference: &ImageReference,
    plan: &Plan,
    lease: &Lease,
) -> Result<ImageInfo, ServiceError> {
    let conn = &images.conn;
    let snapshotter = &images.config.snapshotter;
    let labels = plan::gc_labels(plan, snapshotter);
    let labels_of = |digest: &Digest| labels.get(digest).cloned().unwrap_or_default();
    // Collected first: a stream of futures borrowing `plan` keeps the spawned pull `Send`.
    let layers: Vec<_> = plan
        .layers
        .iter()
        .map(|layer| {
            let labels = labels_of(&layer.blob.digest);
            store_layer(images, registry, reference, lease, layer, labels)
        })
        .collect();
    futures::stream::iter(layers)
        .buffer_unordered(CONCURRENT_LAYERS)
        .try_collect::<Vec<()>>()
        .await?;
    store_small(
        images,
        lease,
        &plan.config,
        &labels_of(&plan.config.blob.digest),
    )
    .await?;
    let top = unpack::unpack(conn, CALL, lease, snapshotter, &plan.layers).await?;
    debug_assert_eq!(top, plan.top_chain_id);
    let manifests = &plan.manifests;
    store_small(
        images,
        lease,
        &manifests.manifest,
        &labels_of(&manifests.manifest.blob.digest),
    )
    .await?;
    for index in manifests.indexes.iter().rev() {
        store_small(images, lease, index, &labels_of(&index.blob.digest)).await?;
    }
    super::record::put(images, CALL, reference, manifests.root()).await
}

/// A manifest, index or config: only labelled when the store has it.
async fn store_small(
    images: &ContainerdImages,
    lease: &Lease,
    fetched: &Fetched,
    labels: &BTreeMap<String, String>,
) -> Result<(), ServiceError> {
    let conn = &images.conn;
    if content::exists(conn, CALL, &fetched.blob.digest)
        .await?
        .is_some()
    {
        return keep(images, lease, &fetched.blob, labels).await;
    }
    content::write_bytes(
        conn,
        CALL,
        lease,
        &fetched.blob,
        labels,
        fetched.bytes.clone(),
    )
    .await
}

/// A layer: streamed from the registry into the store unless the store has it.
async fn store_layer(
    images: &ContainerdImages,
    registry: &dyn Registry,
    reference: &ImageReference,
    lease: &Lease,
    layer: &Layer,
    labels: BTreeMap<String, String>,
) -> Result<(), ServiceError> {
    let conn = &images.conn;
    let blob = &layer.blob;
    if content::exists(conn, CALL, &blob.digest).await?.is_some() {
        tracing::debug!(image = %reference, layer = %blob.digest, "layer already in the store");
        return keep(images, lease, blob, &labels).await;
    }
    let stream = registry
        .fetch_blob(blob)
        .await
        .map_err(|e| e.into_service(reference))?;
    let reference = reference.clone();
    let chunks = plan::verified(stream, blob.clone()).map_err(move |e| e.into_service(&reference));
    content::write_stream(conn, CALL, lease, blob, &labels, chunks).await?;
    tracing::debug!(layer = %blob.digest, size = blob.size, "layer downloaded");
    Ok(())
}

/// A blob the store has: held by the lease until the record references it, and labelled.
async fn keep(
    images: &ContainerdImages,
    lease: &Lease,
    blob: &Blob,
    labels: &BTreeMap<String, String>,
) -> Result<(), ServiceError> {
    let conn = &images.conn;
    lease
        .hold_content(conn, CALL, &blob.digest.to_string())
        .await?;
    content::set_labels(conn, CALL, &blob.digest, labels).await
}
