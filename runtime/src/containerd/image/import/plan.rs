//! What an import writes: blobs with their GC labels (children before parents), and the
//! images to unpack and record.

use std::collections::BTreeMap;

use crate::containerd::content::Blob;
use crate::containerd::unpack::{chain_ids, Layer};
use crate::reference::{Digest, ImageReference};
use crate::service::ServiceError;

use super::super::record::parse::{self, ConfigFile, Manifest};
use super::archive::invalid;

/// Label naming a layer's uncompressed digest.
pub(crate) const UNCOMPRESSED: &str = "containerd.io/uncompressed";
/// Label prefix of a config's reference to its snapshot (`<prefix><snapshotter>`).
pub(crate) const GC_SNAPSHOT: &str = "containerd.io/gc.ref.snapshot.";
/// Label of a manifest's reference to its config.
pub(crate) const GC_CONFIG: &str = "containerd.io/gc.ref.content.config";
/// Label prefix of a manifest's references to its layers (`<prefix><i>`).
pub(crate) const GC_LAYER: &str = "containerd.io/gc.ref.content.l.";
/// Label prefix of an index's references to its manifests (`<prefix><i>`).
pub(crate) const GC_MANIFEST: &str = "containerd.io/gc.ref.content.m.";

/// One blob to write, verified already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedBlob {
    /// Its descriptor.
    pub blob: Blob,
    /// GC and uncompressed labels.
    pub labels: BTreeMap<String, String>,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// One image to unpack and record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedImage {
    /// The name it is stored under.
    pub reference: ImageReference,
    /// The record's target (a manifest, or an index resolving to one).
    pub target: Blob,
    /// Its layers, bottom first.
    pub layers: Vec<Layer>,
}

/// Everything one archive imports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Blobs in write order (children before parents), each digest once.
    pub blobs: Vec<PlannedBlob>,
    /// Images in archive order.
    pub images: Vec<PlannedImage>,
}

impl Plan {
    /// Adds a blob unless one with its digest is planned already.
    pub(crate) fn add_blob(&mut self, blob: Blob, labels: BTreeMap<String, String>, data: Vec<u8>) {
        if !self.blobs.iter().any(|b| b.blob.digest == blob.digest) {
            self.blobs.push(PlannedBlob { blob, labels, data });
        }
    }

    /// Adds the blobs of one image: layers, config (labelled with the top snapshot) and
    /// manifest; returns its layers for unpacking.
    pub(crate) fn add_image_blobs(
        &mut self,
        snapshotter: &str,
        manifest: (&Blob, &Manifest, Vec<u8>),
        config: (&ConfigFile, Vec<u8>),
        layer_data: Vec<Vec<u8>>,
    ) -> Vec<Layer> {
        let (manifest_blob, manifest, manifest_data) = manifest;
        let (config_file, config_data) = config;
        let mut layers = Vec::with_capacity(manifest.layers.len());
        for ((blob, diff_id), data) in manifest
            .layers
            .iter()
            .zip(&config_file.diff_ids)
            .zip(layer_data)
        {
            let labels = BTreeMap::from([(UNCOMPRESSED.to_string(), diff_id.to_string())]);
            self.add_blob(blob.clone(), labels, data);
            layers.push(Layer {
                blob: blob.clone(),
                diff_id: diff_id.clone(),
            });
        }
        let mut labels = BTreeMap::new();
        if let Some(top) = chain_ids(&config_file.diff_ids).pop() {
            labels.insert(format!("{GC_SNAPSHOT}{snapshotter}"), top.to_string());
        }
        self.add_blob(manifest.config.clone(), labels, config_data);
        self.add_blob(
            manifest_blob.clone(),
            manifest_labels(manifest),
            manifest_data,
        );
        layers
    }
}

/// A manifest's GC labels: its config and each layer.
pub(crate) fn manifest_labels(manifest: &Manifest) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([(GC_CONFIG.to_string(), manifest.config.digest.to_string())]);
    for (i, layer) in manifest.layers.iter().enumerate() {
        labels.insert(format!("{GC_LAYER}{i}"), layer.digest.to_string());
    }
    labels
}

/// Checks `data` is the blob `blob` says (digest and size); `what` names it in the error.
pub(crate) fn verify(what: &str, blob: &Blob, data: &[u8]) -> Result<(), ServiceError> {
    if !blob.digest.verify(data) {
        return Err(invalid(what, "digest mismatch"));
    }
    if blob.size != data.len() as u64 {
        return Err(invalid(
            what,
            format!("size {} but the descriptor says {}", data.len(), blob.size),
        ));
    }
    Ok(())
}

/// Parses and checks a manifest and its config; `what` names the manifest in errors.
pub(crate) fn manifest_and_config(
    what: &str,
    manifest_data: &[u8],
    config_data: &[u8],
) -> Result<(Manifest, ConfigFile), ServiceError> {
    let manifest = parse::parse_manifest(manifest_data).map_err(|e| invalid(what, e))?;
    let config = parse::parse_config(config_data).map_err(|e| invalid(what, e))?;
    parse::check_layers(&manifest, &config).map_err(|e| invalid(what, e))?;
    if config.diff_ids.is_empty() {
        return Err(invalid(what, "image has no layers"));
    }
    Ok((manifest, config))
}

/// `blobs/<algorithm>/<hex>`: where an OCI layout keeps `digest`.
pub(crate) fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm(), digest.hex())
}
