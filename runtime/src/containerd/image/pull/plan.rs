//! What a pull stores, worked out from the registry's manifests and the image config: the
//! index chain resolved to this platform, the manifest, config and layers, each verified
//! against its descriptor, and the GC labels containerd puts on each blob.

use std::collections::BTreeMap;

use futures::stream::{self, BoxStream};
use futures::StreamExt;
use serde::Deserialize;

use crate::containerd::content::Blob;
use crate::containerd::image::record::parse::{self, Manifest, Platform, OCI_INDEX, OCI_MANIFEST};
use crate::containerd::unpack::{chain_ids, Layer};
use crate::reference::{Digest, DigestVerifier, ImageReference};

use super::registry::{BlobStream, Registry, RegistryError};

/// GC reference from an index to its `i`-th manifest.
pub(crate) const LABEL_REF_MANIFEST: &str = "containerd.io/gc.ref.content.m.";
/// GC reference from a manifest to its config.
pub(crate) const LABEL_REF_CONFIG: &str = "containerd.io/gc.ref.content.config";
/// GC reference from a manifest to its `i`-th layer.
pub(crate) const LABEL_REF_LAYER: &str = "containerd.io/gc.ref.content.l.";
/// GC reference from a config to its unpacked snapshot, per snapshotter.
pub(crate) const LABEL_REF_SNAPSHOT: &str = "containerd.io/gc.ref.snapshot.";
/// The uncompressed digest of a layer blob.
pub(crate) const LABEL_UNCOMPRESSED: &str = "containerd.io/uncompressed";

/// Indexes deeper than this are refused (a loop of indexes would never end).
const MAX_INDEX_DEPTH: usize = 4;

/// A small blob fetched whole: a manifest, an index or a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// Its descriptor.
    pub blob: Blob,
    /// Its bytes, verified against the descriptor.
    pub bytes: Vec<u8>,
}

/// The manifests a reference resolves to on this platform.
#[derive(Debug, Clone)]
pub(crate) struct Manifests {
    /// The indexes followed, outermost first (empty when the reference names a manifest).
    pub indexes: Vec<Fetched>,
    /// The platform's image manifest.
    pub manifest: Fetched,
    /// The manifest parsed.
    pub parsed: Manifest,
}

impl Manifests {
    /// The blob the reference names: the outermost index, else the manifest.
    pub(crate) fn root(&self) -> &Blob {
        self.indexes
            .first()
            .map_or(&self.manifest.blob, |i| &i.blob)
    }
}

/// Everything one pull stores.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Indexes and manifest.
    pub manifests: Manifests,
    /// The image config.
    pub config: Fetched,
    /// Layers bottom first, with their diff ids.
    pub layers: Vec<Layer>,
    /// The chain id of the top layer.
    pub top_chain_id: Digest,
}

/// Fetches the manifest `reference` names, following indexes to `platform`'s manifest; the
/// first document is checked against the reference's digest, the others against their
/// descriptors.
pub(crate) async fn resolve_manifests(
    registry: &dyn Registry,
    reference: &ImageReference,
    platform: &Platform,
) -> Result<Manifests, RegistryError> {
    let bytes = registry
        .fetch_manifest(&reference.manifest_reference())
        .await?;
    if let Some(pinned) = reference.digest() {
        check(pinned, 0, &bytes)?;
    }
    let mut current = Fetched {
        blob: Blob {
            media_type: media_type_of(&bytes),
            digest: Digest::sha256_of(&bytes),
            size: bytes.len() as u64,
        },
        bytes,
    };
    let mut indexes = Vec::new();
    while parse::is_index(&current.blob.media_type, &current.bytes) {
        if indexes.len() == MAX_INDEX_DEPTH {
            return Err(RegistryError::Protocol(
                format!("indexes nested deeper than {MAX_INDEX_DEPTH}").into(),
            ));
        }
        let entries = parse::parse_index(&current.bytes)?;
        let mut blob = parse::pick_platform(&entries, platform)?.blob.clone();
        let bytes = registry.fetch_manifest(&blob.digest.to_string()).await?;
        check(&blob.digest, blob.size, &bytes)?;
        if blob.media_type.is_empty() {
            blob.media_type = media_type_of(&bytes);
        }
        indexes.push(std::mem::replace(&mut current, Fetched { blob, bytes }));
    }
    let parsed = parse::parse_manifest(&current.bytes)?;
    Ok(Manifests {
        indexes,
        manifest: current,
        parsed,
    })
}

/// Completes the plan with the config's bytes (from the store or the registry).
pub(crate) fn plan(manifests: Manifests, config_bytes: Vec<u8>) -> Result<Plan, RegistryError> {
    let config_blob = manifests.parsed.config.clone();
    check(&config_blob.digest, config_blob.size, &config_bytes)?;
    let config = parse::parse_config(&config_bytes)?;
    parse::check_layers(&manifests.parsed, &config)?;
    let top_chain_id = chain_ids(&config.diff_ids)
        .pop()
        .ok_or_else(|| RegistryError::Protocol("the image has no layers".into()))?;
    let layers = manifests
        .parsed
        .layers
        .iter()
        .cloned()
        .zip(config.diff_ids)
        .map(|(blob, diff_id)| Layer { blob, diff_id })
        .collect();
    Ok(Plan {
        manifests,
        config: Fetched {
            blob: config_blob,
            bytes: config_bytes,
        },
        layers,
        top_chain_id,
    })
}

/// Fetches a small blob whole and verifies it.
pub(crate) async fn fetch_small(
    registry: &dyn Registry,
    blob: &Blob,
) -> Result<Vec<u8>, RegistryError> {
    let mut stream = verified(registry.fetch_blob(blob).await?, blob.clone());
    let mut bytes = Vec::with_capacity(blob.size as usize);
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}

/// `stream` passed through, ending in an error instead of its end when what arrived is not
/// `blob` (digest or size), or as soon as it grows past the size.
pub(crate) fn verified(
    stream: BlobStream,
    blob: Blob,
) -> BoxStream<'static, Result<Vec<u8>, RegistryError>> {
    struct State {
        stream: BlobStream,
        verifier: DigestVerifier,
        blob: Blob,
        done: bool,
    }
    let state = State {
        stream,
        verifier: blob.digest.verifier(),
        blob,
        done: false,
    };
    stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let item = match s.stream.next().await {
            Some(Ok(chunk)) => {
                s.verifier.update(&chunk);
                if s.verifier.len() > s.blob.size {
                    Err(corrupt(&s.blob, &s.verifier))
                } else {
                    Ok(chunk)
                }
            }
            Some(Err(error)) => Err(error),
            None if s.verifier.len() == s.blob.size && s.verifier.verified() => return None,
            None => Err(corrupt(&s.blob, &s.verifier)),
        };
        s.done = item.is_err();
        Some((item, s))
    })
    .boxed()
}

fn corrupt(blob: &Blob, verifier: &DigestVerifier) -> RegistryError {
    RegistryError::Corrupt {
        digest: blob.digest.clone(),
        size: blob.size,
        actual: verifier.computed(),
        actual_size: verifier.len(),
    }
}

/// Checks `bytes` against a digest and (when not 0) a size.
fn check(digest: &Digest, size: u64, bytes: &[u8]) -> Result<(), RegistryError> {
    if digest.verify(bytes) && (size == 0 || size == bytes.len() as u64) {
        Ok(())
    } else {
        Err(RegistryError::Corrupt {
            digest: digest.clone(),
            size,
            actual: Digest::compute(digest.algorithm(), bytes),
            actual_size: bytes.len() as u64,
        })
    }
}

/// The `mediaType` a manifest or index names, else the OCI type its shape says.
fn media_type_of(bytes: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, rename = "mediaType")]
        media_type: Option<String>,
    }
    match serde_json::from_slice::<Probe>(bytes)
        .ok()
        .and_then(|p| p.media_type)
    {
        Some(media_type) if !media_type.is_empty() => media_type,
        _ if parse::is_index("", bytes) => OCI_INDEX.to_string(),
        _ => OCI_MANIFEST.to_string(),
    }
}

/// The labels of every blob of a pull, by digest, as containerd's pull sets them.
pub(crate) fn gc_labels(
    plan: &Plan,
    snapshotter: &str,
) -> BTreeMap<Digest, BTreeMap<String, String>> {
    let mut out: BTreeMap<Digest, BTreeMap<String, String>> = BTreeMap::new();
    let mut add = |digest: &Digest, key: String, value: String| {
        out.entry(digest.clone()).or_default().insert(key, value);
    };
    let manifests = &plan.manifests;
    let children = manifests
        .indexes
        .iter()
        .skip(1)
        .chain(std::iter::once(&manifests.manifest));
    for (index, child) in manifests.indexes.iter().zip(children) {
        let key = format!("{LABEL_REF_MANIFEST}0");
        add(&index.blob.digest, key, child.blob.digest.to_string());
    }
    let manifest = &manifests.manifest.blob.digest;
    let config = &plan.config.blob.digest;
    add(manifest, LABEL_REF_CONFIG.to_string(), config.to_string());
    for (i, layer) in plan.layers.iter().enumerate() {
        let key = format!("{LABEL_REF_LAYER}{i}");
        add(manifest, key, layer.blob.digest.to_string());
        let diff_id = layer.diff_id.to_string();
        add(&layer.blob.digest, LABEL_UNCOMPRESSED.to_string(), diff_id);
    }
    let key = format!("{LABEL_REF_SNAPSHOT}{snapshotter}");
    add(config, key, plan.top_chain_id.to_string());
    out
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
