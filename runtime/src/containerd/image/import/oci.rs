//! An OCI image layout tarball (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`) as a plan.

use std::collections::BTreeMap;

use crate::containerd::content::Blob;
use crate::reference::ImageReference;
use crate::service::ServiceError;

use super::super::record::parse::{self, IndexEntry};
use super::archive::{invalid, Files};
use super::plan::{blob_path, manifest_and_config, verify, Plan, PlannedImage, GC_MANIFEST};

/// containerd's annotation holding the full image name.
pub(crate) const IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation holding a tag (or, as some tools write it, a full name).
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// How deep nested indexes are followed.
const MAX_DEPTH: usize = 4;

/// Plans the import of every named image of an OCI layout, resolving indexes to `platform`.
pub(crate) fn plan(
    files: &Files,
    snapshotter: &str,
    platform: &parse::Platform,
) -> Result<Plan, ServiceError> {
    if !files.contains_key("oci-layout") {
        return Err(invalid("oci-layout", "missing"));
    }
    let index = files
        .get("index.json")
        .ok_or_else(|| invalid("index.json", "missing"))?;
    let entries = parse::parse_index(index).map_err(|e| invalid("index.json", e))?;
    let mut plan = Plan::default();
    for (i, entry) in entries.iter().enumerate() {
        let Some(reference) = entry_name(i, entry)? else {
            tracing::warn!(entry = i, digest = %entry.blob.digest, "index.json entry names no image; skipped");
            continue;
        };
        let layers = add_target(&mut plan, files, snapshotter, platform, &entry.blob)?;
        plan.images.push(PlannedImage {
            reference,
            target: entry.blob.clone(),
            layers,
        });
    }
    if plan.images.is_empty() {
        return Err(invalid(
            "index.json",
            format!("no manifest is named (annotation {IMAGE_NAME} or a full {REF_NAME})"),
        ));
    }
    Ok(plan)
}

/// The image name of an `index.json` entry: containerd's full-name annotation, else the OCI
/// ref name when it is a full name; a bare tag names no repository.
fn entry_name(i: usize, entry: &IndexEntry) -> Result<Option<ImageReference>, ServiceError> {
    let name = match (
        entry.annotations.get(IMAGE_NAME),
        entry.annotations.get(REF_NAME),
    ) {
        (Some(name), _) => name,
        (None, Some(name)) if name.contains(['/', ':', '@']) => name,
        _ => return Ok(None),
    };
    ImageReference::parse(name).map(Some).map_err(|e| {
        invalid(
            &format!("index.json: manifests[{i}]"),
            format!("image name {name:?}: {e}"),
        )
    })
}

/// The verified bytes of `blob` in the layout.
fn blob_data<'a>(files: &'a Files, blob: &Blob) -> Result<&'a [u8], ServiceError> {
    let path = blob_path(&blob.digest);
    let data = files.get(&path).ok_or_else(|| invalid(&path, "missing"))?;
    verify(&path, blob, data)?;
    Ok(data)
}

/// Adds the blobs of `target` (a manifest, or an index followed to `platform`'s manifest);
/// returns the layers to unpack.
fn add_target(
    plan: &mut Plan,
    files: &Files,
    snapshotter: &str,
    platform: &parse::Platform,
    target: &Blob,
) -> Result<Vec<crate::containerd::unpack::Layer>, ServiceError> {
    let mut indexes = Vec::new();
    let mut current = target.clone();
    for _ in 0..MAX_DEPTH {
        let data = blob_data(files, &current)?;
        let path = blob_path(&current.digest);
        if parse::is_index(&current.media_type, data) {
            let entries = parse::parse_index(data).map_err(|e| invalid(&path, e))?;
            let picked = parse::pick_platform(&entries, platform).map_err(|e| invalid(&path, e))?;
            let position = entries.iter().position(|e| e == picked).unwrap_or_default();
            let labels = BTreeMap::from([(
                format!("{GC_MANIFEST}{position}"),
                picked.blob.digest.to_string(),
            )]);
            indexes.push((current.clone(), labels, data.to_vec()));
            current = picked.blob.clone();
            continue;
        }
        let manifest_data = data;
        let (manifest, config) = {
            let config_blob = parse::parse_manifest(manifest_data)
                .map_err(|e| invalid(&path, e))?
                .config;
            manifest_and_config(&path, manifest_data, blob_data(files, &config_blob)?)?
        };
        let config_data = blob_data(files, &manifest.config)?.to_vec();
        let layer_data = manifest
            .layers
            .iter()
            .map(|layer| blob_data(files, layer).map(<[u8]>::to_vec))
            .collect::<Result<Vec<_>, _>>()?;
        let layers = plan.add_image_blobs(
            snapshotter,
            (&current, &manifest, manifest_data.to_vec()),
            (&config, config_data),
            layer_data,
        );
        // Parents after children: the innermost index first.
        for (blob, labels, data) in indexes.into_iter().rev() {
            plan.add_blob(blob, labels, data);
        }
        return Ok(layers);
    }
    Err(invalid(
        &blob_path(&target.digest),
        format!("indexes nested deeper than {MAX_DEPTH}"),
    ))
}

#[cfg(test)]
#[path = "oci_tests.rs"]
mod tests;
