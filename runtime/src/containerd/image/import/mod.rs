//! Imports of OCI-layout and docker-archive tarballs: the archive is read and checked in full
//! first (every blob's digest verified), then its blobs are written under a lease with GC
//! labels, layers unpacked, records created, and the lease released. A bad archive is
//! rejected before anything is written; a failure later leaves only leased content, which
//! containerd collects once the lease is released.

mod archive;
mod docker;
mod oci;
mod plan;

use std::path::Path;
use std::time::Duration;

use crate::service::{ArchiveFormat, Call, ImageInfo, ServiceError};

use super::super::content;
use super::super::lease::Lease;
use super::super::unpack;
use super::record::{self, parse};
use super::ContainerdImages;

use plan::Plan;

const CALL: Call = Call::ImportImages;

/// How long the import's lease outlives a crash of this process.
const LEASE_EXPIRY: Duration = Duration::from_secs(3600);

/// Imports every image of `tarball`.
pub(crate) async fn import(
    images: &ContainerdImages,
    tarball: &Path,
    format: ArchiveFormat,
) -> Result<Vec<ImageInfo>, ServiceError> {
    let path = tarball.to_path_buf();
    let snapshotter = images.config.snapshotter.clone();
    let plan = tokio::task::spawn_blocking(move || read_plan(&path, format, &snapshotter))
        .await
        .map_err(|e| ServiceError::Backend {
            call: CALL,
            source: Box::new(e),
        })??;
    let lease = Lease::create(&images.conn, CALL, "import", LEASE_EXPIRY).await?;
    let written = write(images, &lease, plan).await;
    let released = lease.release(&images.conn, CALL).await;
    let infos = written?;
    released?;
    tracing::info!(tarball = %tarball.display(), images = infos.len(), "images imported");
    Ok(infos)
}

/// Reads and checks the whole archive (blocking).
fn read_plan(path: &Path, format: ArchiveFormat, snapshotter: &str) -> Result<Plan, ServiceError> {
    let files = archive::read_file(path)?;
    match format {
        ArchiveFormat::OciLayout => oci::plan(&files, snapshotter, &parse::this_platform()),
        ArchiveFormat::DockerArchive => docker::plan(&files, snapshotter),
    }
}

/// Writes the plan's blobs, unpacks and records its images, all under `lease`.
async fn write(
    images: &ContainerdImages,
    lease: &Lease,
    plan: Plan,
) -> Result<Vec<ImageInfo>, ServiceError> {
    let conn = &images.conn;
    for planned in plan.blobs {
        content::write_bytes(
            conn,
            CALL,
            lease,
            &planned.blob,
            &planned.labels,
            planned.data,
        )
        .await?;
    }
    let mut infos = Vec::with_capacity(plan.images.len());
    for image in plan.images {
        unpack::unpack(conn, CALL, lease, &images.config.snapshotter, &image.layers).await?;
        infos.push(record::put(images, CALL, &image.reference, &image.target).await?);
    }
    Ok(infos)
}
