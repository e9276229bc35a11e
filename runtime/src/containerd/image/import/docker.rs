//! A `docker save` tarball (`manifest.json`, configs, layer tars) as a plan, with a Docker
//! schema 2 manifest made for each image.

use std::path::Path;

use serde::Deserialize;

use crate::containerd::content::Blob;
use crate::reference::{Digest, ImageReference};
use crate::service::ServiceError;

use super::super::record::parse::{
    self, Manifest, DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR, DOCKER_MANIFEST,
};
use super::archive::{invalid, Files};
use super::plan::{Plan, PlannedImage};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

/// Plans the import of every tagged image of a docker archive.
pub(crate) fn plan(files: &Files, snapshotter: &str) -> Result<Plan, ServiceError> {
    let listing = files
        .get("manifest.json")
        .ok_or_else(|| invalid("manifest.json", "missing"))?;
    let entries: Vec<Entry> =
        serde_json::from_slice(listing).map_err(|e| invalid("manifest.json", e))?;
    let mut plan = Plan::default();
    for (i, entry) in entries.iter().enumerate() {
        let tags = entry.repo_tags.clone().unwrap_or_default();
        if tags.is_empty() {
            tracing::warn!(entry = i, config = %entry.config, "manifest.json entry has no RepoTags; skipped");
            continue;
        }
        let references = tags
            .iter()
            .map(|tag| {
                ImageReference::parse(tag).map_err(|e| {
                    invalid(
                        &format!("manifest.json[{i}].RepoTags"),
                        format!("{tag:?}: {e}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (target, layers) = add_entry(&mut plan, files, snapshotter, entry)?;
        for reference in references {
            plan.images.push(PlannedImage {
                reference,
                target: target.clone(),
                layers: layers.clone(),
            });
        }
    }
    if plan.images.is_empty() {
        return Err(invalid("manifest.json", "no entry has RepoTags"));
    }
    Ok(plan)
}

fn file<'a>(files: &'a Files, path: &str) -> Result<&'a [u8], ServiceError> {
    let path = super::archive::normalise(path);
    files
        .get(&path)
        .map(Vec::as_slice)
        .ok_or_else(|| invalid(&path, "missing"))
}

/// The digest a file's name claims (`<hex>.json`, `blobs/sha256/<hex>`), if it claims one.
fn named_digest(path: &str) -> Option<Digest> {
    let name = Path::new(path).file_name()?.to_str()?;
    let hex = name.strip_suffix(".json").unwrap_or(name);
    Digest::parse(&format!("sha256:{hex}")).ok()
}

/// Whether `data` uncompresses (gzip or not) to the tar with digest `diff_id`.
fn matches_diff_id(data: &[u8], gzip: bool, diff_id: &Digest) -> bool {
    if !gzip {
        return diff_id.verify(data);
    }
    let mut verifier = diff_id.verifier();
    std::io::copy(&mut flate2::read::GzDecoder::new(data), &mut verifier).is_ok()
        && verifier.verified()
}

fn add_entry(
    plan: &mut Plan,
    files: &Files,
    snapshotter: &str,
    entry: &Entry,
) -> Result<(Blob, Vec<crate::containerd::unpack::Layer>), ServiceError> {
    let config_data = file(files, &entry.config)?;
    let config_digest = Digest::sha256_of(config_data);
    if named_digest(&entry.config).is_some_and(|named| named != config_digest) {
        return Err(invalid(&entry.config, "digest mismatch"));
    }
    let config = parse::parse_config(config_data).map_err(|e| invalid(&entry.config, e))?;
    if config.diff_ids.len() != entry.layers.len() || config.diff_ids.is_empty() {
        return Err(invalid(
            &entry.config,
            format!(
                "{} diff ids for {} layers",
                config.diff_ids.len(),
                entry.layers.len()
            ),
        ));
    }
    let mut layer_blobs = Vec::with_capacity(entry.layers.len());
    let mut layer_data = Vec::with_capacity(entry.layers.len());
    for (path, diff_id) in entry.layers.iter().zip(&config.diff_ids) {
        let data = file(files, path)?;
        let gzip = data.starts_with(&[0x1f, 0x8b]);
        if !matches_diff_id(data, gzip, diff_id) {
            return Err(invalid(
                path,
                format!("digest mismatch: not the layer {diff_id}"),
            ));
        }
        layer_blobs.push(Blob {
            media_type: if gzip {
                DOCKER_LAYER_GZIP
            } else {
                DOCKER_LAYER_TAR
            }
            .to_string(),
            digest: Digest::sha256_of(data),
            size: data.len() as u64,
        });
        layer_data.push(data.to_vec());
    }
    let manifest = Manifest {
        config: Blob {
            media_type: DOCKER_CONFIG.to_string(),
            digest: config_digest,
            size: config_data.len() as u64,
        },
        layers: layer_blobs,
    };
    let manifest_data = schema2(&manifest);
    let target = Blob {
        media_type: DOCKER_MANIFEST.to_string(),
        digest: Digest::sha256_of(&manifest_data),
        size: manifest_data.len() as u64,
    };
    let layers = plan.add_image_blobs(
        snapshotter,
        (&target, &manifest, manifest_data),
        (&config, config_data.to_vec()),
        layer_data,
    );
    Ok((target, layers))
}

/// The Docker schema 2 manifest JSON of `manifest`.
pub(crate) fn schema2(manifest: &Manifest) -> Vec<u8> {
    let descriptor = |blob: &Blob| {
        serde_json::json!({
            "mediaType": blob.media_type,
            "size": blob.size,
            "digest": blob.digest.to_string(),
        })
    };
    let json = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": descriptor(&manifest.config),
        "layers": manifest.layers.iter().map(descriptor).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&json).unwrap_or_default()
}

#[cfg(test)]
#[path = "docker_tests.rs"]
mod tests;
