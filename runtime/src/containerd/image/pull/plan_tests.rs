use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;

use super::*;
use crate::containerd::image::record::parse::ParseError;

/// A repository held in memory; counts blob fetches.
#[derive(Default)]
struct FakeRegistry {
    manifests: HashMap<String, Vec<u8>>,
    blobs: HashMap<Digest, Vec<u8>>,
    fetched: Mutex<Vec<String>>,
}

impl FakeRegistry {
    fn manifest(&mut self, tag: Option<&str>, bytes: Vec<u8>) -> Digest {
        let digest = Digest::sha256_of(&bytes);
        if let Some(tag) = tag {
            self.manifests.insert(tag.to_string(), bytes.clone());
        }
        self.manifests.insert(digest.to_string(), bytes);
        digest
    }

    fn blob(&mut self, bytes: &[u8]) -> serde_json::Value {
        let digest = Digest::sha256_of(bytes);
        self.blobs.insert(digest.clone(), bytes.to_vec());
        json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": bytes.len()})
    }

    /// An image of one layer `layer`; returns the manifest bytes.
    fn image(&mut self, layer: &[u8], arch: &str) -> Vec<u8> {
        let layer_desc = self.blob(layer);
        let config = serde_json::to_vec(&json!({
            "architecture": arch, "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(layer)]},
        }))
        .unwrap();
        let mut config_desc = self.blob(&config);
        config_desc["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_desc,
            "layers": [layer_desc],
        }))
        .unwrap()
    }
}

#[async_trait]
impl Registry for FakeRegistry {
    async fn fetch_manifest(&self, reference: &str) -> Result<Vec<u8>, RegistryError> {
        self.manifests
            .get(reference)
            .cloned()
            .ok_or_else(|| RegistryError::NotFound {
                what: reference.to_string(),
            })
    }

    async fn fetch_blob(&self, blob: &Blob) -> Result<BlobStream, RegistryError> {
        self.fetched.lock().unwrap().push(blob.digest.to_string());
        let bytes =
            self.blobs
                .get(&blob.digest)
                .cloned()
                .ok_or_else(|| RegistryError::NotFound {
                    what: blob.digest.to_string(),
                })?;
        // Arrives in pieces of 2 bytes, as a network would cut it.
        let chunks: Vec<Result<Vec<u8>, RegistryError>> =
            bytes.chunks(2).map(|c| Ok(c.to_vec())).collect();
        Ok(futures::stream::iter(chunks).boxed())
    }
}

fn amd64() -> Platform {
    Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
    }
}

fn reference(s: &str) -> ImageReference {
    ImageReference::parse(s).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

#[test]
fn a_tagged_manifest_resolves_to_itself_with_its_config_and_layers() {
    let mut registry = FakeRegistry::default();
    let manifest = registry.image(b"layer-amd64", "amd64");
    let digest = registry.manifest(Some("1.0"), manifest);
    let manifests = block_on(resolve_manifests(
        &registry,
        &reference("127.0.0.1:5000/app:1.0"),
        &amd64(),
    ))
    .unwrap();
    assert!(manifests.indexes.is_empty());
    assert_eq!(manifests.manifest.blob.digest, digest);
    assert_eq!(manifests.manifest.blob.media_type, OCI_MANIFEST);
    assert_eq!(manifests.root(), &manifests.manifest.blob);
    let config = block_on(fetch_small(&registry, &manifests.parsed.config)).unwrap();
    let plan = plan(manifests, config).unwrap();
    assert_eq!(plan.layers.len(), 1);
    assert_eq!(plan.layers[0].diff_id, Digest::sha256_of(b"layer-amd64"));
    assert_eq!(plan.top_chain_id, Digest::sha256_of(b"layer-amd64"));
}

#[test]
fn an_index_resolves_to_this_platforms_manifest() {
    let mut registry = FakeRegistry::default();
    let amd = registry.image(b"layer-amd64", "amd64");
    let arm = registry.image(b"layer-arm64", "arm64");
    let (amd_len, arm_len) = (amd.len(), arm.len());
    let amd_digest = registry.manifest(None, amd);
    let arm_digest = registry.manifest(None, arm);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": arm_digest, "size": arm_len,
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": OCI_MANIFEST, "digest": amd_digest, "size": amd_len,
             "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }))
    .unwrap();
    let index_digest = registry.manifest(Some("multi"), index);
    let manifests = block_on(resolve_manifests(
        &registry,
        &reference("localhost/app:multi"),
        &amd64(),
    ))
    .unwrap();
    assert_eq!(manifests.manifest.blob.digest, amd_digest);
    assert_eq!(manifests.indexes.len(), 1);
    assert_eq!(manifests.root().digest, index_digest);
    assert_eq!(manifests.root().media_type, OCI_INDEX);

    let arm64 = Platform {
        architecture: "arm64".into(),
        ..amd64()
    };
    let manifests = block_on(resolve_manifests(
        &registry,
        &reference("localhost/app:multi"),
        &arm64,
    ))
    .unwrap();
    assert_eq!(manifests.manifest.blob.digest, arm_digest);

    let s390x = Platform {
        architecture: "s390x".into(),
        ..amd64()
    };
    let error = block_on(resolve_manifests(
        &registry,
        &reference("localhost/app:multi"),
        &s390x,
    ))
    .unwrap_err();
    assert!(matches!(
        error,
        RegistryError::Invalid(ParseError::NoPlatform { .. })
    ));
}

#[test]
fn a_digest_reference_must_match_the_manifest_served() {
    let mut registry = FakeRegistry::default();
    let manifest = registry.image(b"l", "amd64");
    let digest = registry.manifest(Some("t"), manifest.clone());
    let pinned = reference(&format!("localhost/app@{digest}"));
    assert!(block_on(resolve_manifests(&registry, &pinned, &amd64())).is_ok());
    // The registry serves other bytes under that digest.
    let other = registry.image(b"other", "amd64");
    registry.manifests.insert(digest.to_string(), other);
    let error = block_on(resolve_manifests(&registry, &pinned, &amd64())).unwrap_err();
    assert!(matches!(error, RegistryError::Corrupt { digest: d, .. } if d == digest));
}

#[test]
fn an_index_entry_whose_manifest_differs_from_its_descriptor_is_refused() {
    let mut registry = FakeRegistry::default();
    let amd = registry.image(b"l", "amd64");
    let digest = Digest::sha256_of(&amd);
    registry
        .manifests
        .insert(digest.to_string(), b"{}".to_vec());
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest, "size": amd.len(),
                       "platform": {"os": "linux", "architecture": "amd64"}}],
    }))
    .unwrap();
    registry.manifest(Some("t"), index);
    let error = block_on(resolve_manifests(
        &registry,
        &reference("localhost/app:t"),
        &amd64(),
    ))
    .unwrap_err();
    assert!(matches!(error, RegistryError::Corrupt { .. }));
}

#[test]
fn an_unknown_tag_is_not_found() {
    let registry = FakeRegistry::default();
    let error = block_on(resolve_manifests(
        &registry,
        &reference("localhost/app:nope"),
        &amd64(),
    ))
    .unwrap_err();
    assert!(matches!(error, RegistryError::NotFound { .. }));
}

#[test]
fn a_config_whose_diff_ids_do_not_match_the_layers_is_refused() {
    let mut registry = FakeRegistry::default();
    let manifest = registry.image(b"l", "amd64");
    registry.manifest(Some("t"), manifest);
    let manifests = block_on(resolve_manifests(
        &registry,
        &reference("localhost/app:t"),
        &amd64(),
    ))
    .unwrap();
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    // Served bytes must match the config descriptor first.
    assert!(matches!(
        plan(manifests.clone(), config),
        Err(RegistryError::Corrupt { .. })
    ));
    let mut manifests = manifests;
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    manifests.parsed.config.digest = Digest::sha256_of(&config);
    manifests.parsed.config.size = config.len() as u64;
    assert!(matches!(
        plan(manifests, config),
        Err(RegistryError::Invalid(ParseError::LayerCount { .. }))
    ));
}

fn collect(
    stream: BoxStream<'static, Result<Vec<u8>, RegistryError>>,
) -> Vec<Result<Vec<u8>, RegistryError>> {
    block_on(stream.collect::<Vec<_>>())
}

fn chunks(parts: &[&[u8]]) -> BlobStream {
    let items: Vec<Result<Vec<u8>, RegistryError>> = parts.iter().map(|p| Ok(p.to_vec())).collect();
    futures::stream::iter(items).boxed()
}

#[test]
fn a_verified_stream_passes_matching_content_through() {
    let blob = Blob {
        media_type: String::new(),
        digest: Digest::sha256_of(b"hello world"),
        size: 11,
    };
    let out = collect(verified(chunks(&[b"hello", b" ", b"world"]), blob));
    let bytes: Vec<u8> = out.into_iter().flat_map(Result::unwrap).collect();
    assert_eq!(bytes, b"hello world");
}

#[test]
fn a_verified_stream_ends_in_an_error_on_wrong_digest_short_or_long_content() {
    let blob = Blob {
        media_type: String::new(),
        digest: Digest::sha256_of(b"hello world"),
        size: 11,
    };
    for parts in [
        &[&b"hello"[..], b" ", b"WORLD"][..],
        &[b"hello"],
        &[b"hello world", b"!!"],
    ] {
        let out = collect(verified(chunks(parts), blob.clone()));
        let last = out.last().unwrap();
        assert!(
            matches!(last, Err(RegistryError::Corrupt { .. })),
            "{parts:?}"
        );
        assert_eq!(out.iter().filter(|i| i.is_err()).count(), 1);
    }
}

#[test]
fn gc_labels_are_containerds() {
    let mut registry = FakeRegistry::default();
    let amd = registry.image(b"layer-amd64", "amd64");
    let amd_digest = registry.manifest(None, amd.clone());
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": amd_digest, "size": amd.len(),
                       "platform": {"os": "linux", "architecture": "amd64"}}],
    }))
    .unwrap();
    let index_digest = registry.manifest(Some("t"), index);
    let manifests = block_on(resolve_manifests(
        &registry,
        &reference("localhost/app:t"),
        &amd64(),
    ))
    .unwrap();
    let config = block_on(fetch_small(&registry, &manifests.parsed.config)).unwrap();
    let plan = plan(manifests, config).unwrap();
    let labels = gc_labels(&plan, "overlayfs");
    let config = &plan.config.blob.digest;
    let layer = &plan.layers[0];
    let expect = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    assert_eq!(
        labels[&index_digest],
        expect(&[("containerd.io/gc.ref.content.m.0", amd_digest.to_string())])
    );
    assert_eq!(
        labels[&amd_digest],
        expect(&[
            ("containerd.io/gc.ref.content.config", config.to_string()),
            (
                "containerd.io/gc.ref.content.l.0",
                layer.blob.digest.to_string()
            ),
        ])
    );
    assert_eq!(
        labels[config],
        expect(&[(
            "containerd.io/gc.ref.snapshot.overlayfs",
            plan.top_chain_id.to_string()
        )])
    );
    assert_eq!(
        labels[&layer.blob.digest],
        expect(&[("containerd.io/uncompressed", layer.diff_id.to_string())])
    );
    assert_eq!(labels.len(), 4);
}
