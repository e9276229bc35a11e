use serde_json::json;

use super::super::plan::{GC_CONFIG, GC_LAYER, GC_MANIFEST, GC_SNAPSHOT, UNCOMPRESSED};
use super::*;
use crate::reference::Digest;

const LAYER: &[u8] = b"layer tar bytes";
const CONFIG_MT: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_MT: &str = "application/vnd.oci.image.layer.v1.tar";

fn desc(media_type: &str, data: &[u8]) -> serde_json::Value {
    json!({ "mediaType": media_type, "digest": Digest::sha256_of(data).to_string(), "size": data.len() })
}

fn put(files: &mut Files, data: &[u8]) {
    files.insert(blob_path(&Digest::sha256_of(data)), data.to_vec());
}

fn amd64() -> parse::Platform {
    parse::Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
    }
}

/// A one-layer image; returns the files and the manifest bytes.
fn layout(annotations: serde_json::Value) -> (Files, Vec<u8>) {
    let config = serde_json::to_vec(&json!({
        "config": { "Cmd": ["sh"] },
        "rootfs": { "type": "layers", "diff_ids": [Digest::sha256_of(LAYER).to_string()] },
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": parse::OCI_MANIFEST,
        "config": desc(CONFIG_MT, &config),
        "layers": [desc(LAYER_MT, LAYER)],
    }))
    .unwrap();
    let mut entry = desc(parse::OCI_MANIFEST, &manifest);
    entry["annotations"] = annotations;
    let index = serde_json::to_vec(&json!({ "schemaVersion": 2, "manifests": [entry] })).unwrap();
    let mut files = Files::new();
    files.insert(
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    );
    files.insert("index.json".into(), index);
    put(&mut files, LAYER);
    put(&mut files, &config);
    put(&mut files, &manifest);
    (files, manifest)
}

fn named() -> serde_json::Value {
    json!({ IMAGE_NAME: "busybox:1.36", REF_NAME: "1.36" })
}

#[test]
fn layout_plans_layer_config_manifest_in_order_with_gc_labels() {
    let (files, manifest) = layout(named());
    let plan = plan(&files, "overlayfs", &amd64()).unwrap();
    assert_eq!(plan.images.len(), 1);
    let image = &plan.images[0];
    assert_eq!(
        image.reference.to_string(),
        "docker.io/library/busybox:1.36"
    );
    assert_eq!(image.target.digest, Digest::sha256_of(&manifest));
    let diff_id = Digest::sha256_of(LAYER);
    assert_eq!(image.layers.len(), 1);
    assert_eq!(image.layers[0].diff_id, diff_id);

    let [layer, config, man] = plan.blobs.as_slice() else {
        panic!("three blobs: {:?}", plan.blobs.len());
    };
    assert_eq!(layer.labels[UNCOMPRESSED], diff_id.to_string());
    // One layer: the top chain id is its diff id.
    assert_eq!(
        config.labels[&format!("{GC_SNAPSHOT}overlayfs")],
        diff_id.to_string()
    );
    assert_eq!(man.labels[GC_CONFIG], config.blob.digest.to_string());
    assert_eq!(
        man.labels[&format!("{GC_LAYER}0")],
        layer.blob.digest.to_string()
    );
    assert_eq!(man.data, manifest);
}

#[test]
fn a_full_ref_name_names_the_image_and_a_bare_tag_does_not() {
    let (files, _) = layout(json!({ REF_NAME: "example.com/app:2" }));
    let planned = plan(&files, "overlayfs", &amd64()).unwrap();
    assert_eq!(planned.images[0].reference.to_string(), "example.com/app:2");

    let (files, _) = layout(json!({ REF_NAME: "1.36" }));
    let err = plan(&files, "overlayfs", &amd64()).unwrap_err();
    assert!(
        err.to_string().contains("index.json: no manifest is named"),
        "{err}"
    );
}

#[test]
fn a_flipped_byte_in_a_blob_is_a_digest_mismatch_naming_the_blob() {
    let (mut files, _) = layout(named());
    let path = blob_path(&Digest::sha256_of(LAYER));
    files.get_mut(&path).unwrap()[0] ^= 1;
    let err = plan(&files, "overlayfs", &amd64()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("invalid config: tarball: {path}: digest mismatch")
    );
}

#[test]
fn missing_parts_are_named() {
    let (mut files, _) = layout(named());
    files.remove(&blob_path(&Digest::sha256_of(LAYER)));
    let err = plan(&files, "overlayfs", &amd64()).unwrap_err().to_string();
    assert!(
        err.ends_with(": missing") && err.contains("blobs/sha256/"),
        "{err}"
    );

    let (mut files, _) = layout(named());
    files.remove("index.json");
    let err = plan(&files, "overlayfs", &amd64()).unwrap_err().to_string();
    assert_eq!(err, "invalid config: tarball: index.json: missing");

    let (mut files, _) = layout(named());
    files.remove("oci-layout");
    assert!(plan(&files, "overlayfs", &amd64()).is_err());
}

#[test]
fn a_nested_index_is_followed_to_the_platform_and_written_after_its_manifest() {
    let (mut files, manifest) = layout(json!({}));
    let mut entry = desc(parse::OCI_MANIFEST, &manifest);
    entry["platform"] = json!({ "architecture": "amd64", "os": "linux" });
    let other = json!({ "mediaType": parse::OCI_MANIFEST, "size": 1,
        "digest": Digest::sha256_of(b"absent").to_string(),
        "platform": { "architecture": "arm64", "os": "linux" } });
    let nested = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": parse::OCI_INDEX, "manifests": [other, entry],
    }))
    .unwrap();
    put(&mut files, &nested);
    let mut top = desc(parse::OCI_INDEX, &nested);
    top["annotations"] = named();
    files.insert(
        "index.json".into(),
        serde_json::to_vec(&json!({ "schemaVersion": 2, "manifests": [top] })).unwrap(),
    );
    let plan = plan(&files, "overlayfs", &amd64()).unwrap();
    assert_eq!(plan.images[0].target.digest, Digest::sha256_of(&nested));
    let last = plan.blobs.last().unwrap();
    assert_eq!(last.blob.digest, Digest::sha256_of(&nested));
    assert_eq!(
        last.labels[&format!("{GC_MANIFEST}1")],
        Digest::sha256_of(&manifest).to_string()
    );
    assert_eq!(plan.blobs.len(), 4);
}
