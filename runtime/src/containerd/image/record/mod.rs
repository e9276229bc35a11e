//! Image records: creating them once content is written and unpacked, listing, status, removal.

pub(crate) mod parse;

use std::collections::HashMap;

use containerd_client::services::v1::CreateImageRequest;
use containerd_client::services::v1::{
    DeleteImageRequest, GetImageRequest, Image, ListImagesRequest, ReadContentRequest,
    UpdateImageRequest,
};
use containerd_client::types::Descriptor;
use futures::StreamExt;

use crate::reference::{Digest, ImageReference};
use crate::service::{Call, ImageInfo, ServiceError};

use super::super::content::Blob;
use super::super::status::{backend, is_already_exists, is_not_found, OrBackend};
use super::super::unpack::chain_ids;
use super::super::Connection;
use super::ContainerdImages;

/// An image ready to run: what the image service reports and the snapshot to start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The image as the image service reports it.
    pub info: ImageInfo,
    /// The top chain id: the committed snapshot a container's rootfs is prepared from.
    pub chain_id: Digest,
}

/// Finds the image record `reference` (or one with its digest) and the snapshot it unpacked
/// to; `None` when the image is absent. Images imported by `ctr` resolve too.
pub(crate) async fn resolve(
    conn: &Connection,
    call: Call,
    reference: &ImageReference,
) -> Result<Option<Resolved>, ServiceError> {
    let Some(image) = find(conn, call, reference).await? else {
        return Ok(None);
    };
    let stored = ImageReference::parse(&image.name).unwrap_or_else(|_| reference.clone());
    describe(conn, call, stored, image.target.as_ref()).await
}

/// Creates or updates the image record `reference` pointing at the manifest `target`, and
/// returns what the image service reports for it. The manifest, its config and layers must be
/// in the content store and unpacked.
pub(crate) async fn put(
    images: &ContainerdImages,
    call: Call,
    reference: &ImageReference,
    target: &Blob,
) -> Result<ImageInfo, ServiceError> {
    let conn = &images.conn;
    let image = Image {
        name: reference.to_string(),
        labels: HashMap::new(),
        target: Some(Descriptor {
            media_type: target.media_type.clone(),
            digest: target.digest.to_string(),
            size: target.size as i64,
            annotations: HashMap::new(),
        }),
        created_at: None,
        updated_at: None,
    };
    let created = conn
        .images()
        .create(conn.request(CreateImageRequest {
            image: Some(image.clone()),
            source_date_epoch: None,
        }))
        .await;
    match created {
        Ok(_) => {}
        Err(status) if is_already_exists(&status) => {
            conn.images()
                .update(conn.request(UpdateImageRequest {
                    image: Some(image.clone()),
                    update_mask: None,
                    source_date_epoch: None,
                }))
                .await
                .or_backend(call)?;
        }
        Err(status) => return Err(backend(call, status)),
    }
    tracing::debug!(image = %reference, digest = %target.digest, "image record stored");
    let resolved = describe(conn, call, reference.clone(), image.target.as_ref()).await?;
    resolved
        .map(|r| r.info)
        .ok_or_else(|| ServiceError::ImageNotFound {
            reference: reference.to_string(),
        })
}

/// All images, sorted by reference.
pub(crate) async fn list(images: &ContainerdImages) -> Result<Vec<ImageInfo>, ServiceError> {
    let conn = &images.conn;
    let call = Call::ListImages;
    let records = conn
        .images()
        .list(conn.request(ListImagesRequest { filters: vec![] }))
        .await
        .or_backend(call)?
        .into_inner()
        .images;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let Ok(reference) = ImageReference::parse(&record.name) else {
            tracing::debug!(image = %record.name, "image record name is not a reference; skipped");
            continue;
        };
        match describe(conn, call, reference, record.target.as_ref()).await {
            Ok(Some(resolved)) => out.push(resolved.info),
            Ok(None) => {
                tracing::debug!(image = %record.name, "image content missing; skipped");
            }
            Err(error) => {
                tracing::warn!(image = %record.name, error = %error, "image record unreadable; skipped");
            }
        }
    }
    out.sort_by_cached_key(|info| info.reference.to_string());
    Ok(out)
}

/// The image stored under `reference` (or with its digest), if any.
pub(crate) async fn status(
    images: &ContainerdImages,
    reference: &ImageReference,
) -> Result<Option<ImageInfo>, ServiceError> {
    Ok(resolve(&images.conn, Call::ImageStatus, reference)
        .await?
        .map(|r| r.info))
}

/// Removes the image record; its content and snapshots are collected by containerd's GC.
pub(crate) async fn remove(
    images: &ContainerdImages,
    reference: &ImageReference,
) -> Result<(), ServiceError> {
    let conn = &images.conn;
    let call = Call::RemoveImage;
    let mut names = vec![reference.to_string()];
    if let (None, Some(digest)) = (reference.tag(), reference.digest()) {
        names.extend(
            by_digest(conn, call, digest)
                .await?
                .into_iter()
                .map(|i| i.name),
        );
    }
    for name in names {
        let deleted = conn
            .images()
            .delete(conn.request(DeleteImageRequest {
                name: name.clone(),
                sync: true,
                target: None,
            }))
            .await;
        match deleted {
            Ok(_) => tracing::info!(image = %name, "image removed"),
            Err(status) if is_not_found(&status) => {}
            Err(status) => return Err(backend(call, status)),
        }
    }
    Ok(())
}

/// The record named `reference`, else (for a digest-only reference) one whose target has its
/// digest.
async fn find(
    conn: &Connection,
    call: Call,
    reference: &ImageReference,
) -> Result<Option<Image>, ServiceError> {
    let got = conn
        .images()
        .get(conn.request(GetImageRequest {
            name: reference.to_string(),
        }))
        .await;
    match got {
        Ok(response) => return Ok(response.into_inner().image),
        Err(status) if is_not_found(&status) => {}
        Err(status) => return Err(backend(call, status)),
    }
    match reference.digest() {
        Some(digest) if reference.tag().is_none() => {
            let mut found = by_digest(conn, call, digest).await?;
            // Prefer a record of the same repository.
            found.sort_by_key(|image| {
                let same = ImageReference::parse(&image.name)
                    .map(|r| r.name() == reference.name())
                    .unwrap_or(false);
                (!same, image.name.clone())
            });
            Ok(found.into_iter().next())
        }
        _ => Ok(None),
    }
}

/// Records whose target has `digest`.
async fn by_digest(
    conn: &Connection,
    call: Call,
    digest: &Digest,
) -> Result<Vec<Image>, ServiceError> {
    Ok(conn
        .images()
        .list(conn.request(ListImagesRequest {
            filters: vec![format!("target.digest=={digest}")],
        }))
        .await
        .or_backend(call)?
        .into_inner()
        .images)
}

/// Reads the record's target down to its config; `None` when some of it is not in the store.
async fn describe(
    conn: &Connection,
    call: Call,
    reference: ImageReference,
    target: Option<&Descriptor>,
) -> Result<Option<Resolved>, ServiceError> {
    let Some(target) = target else {
        return Ok(None);
    };
    let invalid = |source: parse::ParseError| ServiceError::Backend {
        call,
        source: Box::new(source),
    };
    let mut digest = Digest::parse(&target.digest).map_err(|source| ServiceError::Backend {
        call,
        source: Box::new(source),
    })?;
    let mut media_type = target.media_type.clone();
    // Nested indexes are followed to this platform's manifest, a few levels at most.
    for _ in 0..4 {
        let Some(bytes) = read_blob(conn, call, &digest).await? else {
            return Ok(None);
        };
        if parse::is_index(&media_type, &bytes) {
            let entries = parse::parse_index(&bytes).map_err(invalid)?;
            let entry = parse::pick_platform(&entries, &parse::this_platform()).map_err(invalid)?;
            digest = entry.blob.digest.clone();
            media_type = entry.blob.media_type.clone();
            continue;
        }
        let manifest = parse::parse_manifest(&bytes).map_err(invalid)?;
        let Some(config_bytes) = read_blob(conn, call, &manifest.config.digest).await? else {
            return Ok(None);
        };
        let config = parse::parse_config(&config_bytes).map_err(invalid)?;
        parse::check_layers(&manifest, &config).map_err(invalid)?;
        let Some(chain_id) = chain_ids(&config.diff_ids).pop() else {
            return Ok(None);
        };
        return Ok(Some(Resolved {
            info: ImageInfo {
                reference,
                digest,
                size: manifest.layers.iter().map(|l| l.size).sum(),
                config: config.config,
            },
            chain_id,
        }));
    }
    Ok(None)
}

/// A whole small blob (manifest, index, config) from the content store; `None` when absent.
async fn read_blob(
    conn: &Connection,
    call: Call,
    digest: &Digest,
) -> Result<Option<Vec<u8>>, ServiceError> {
    let stream = conn
        .content()
        .read(conn.request(ReadContentRequest {
            digest: digest.to_string(),
            offset: 0,
            size: 0,
        }))
        .await;
    let mut stream = match stream {
        Ok(response) => response.into_inner(),
        Err(status) if is_not_found(&status) => return Ok(None),
        Err(status) => return Err(backend(call, status)),
    };
    let mut data = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => data.extend_from_slice(&chunk.data),
            Err(status) if is_not_found(&status) => return Ok(None),
            Err(status) => return Err(backend(call, status)),
        }
    }
    Ok(Some(data))
}
