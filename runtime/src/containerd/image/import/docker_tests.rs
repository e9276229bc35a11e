use std::io::Write;

use serde_json::json;

use super::super::plan::{GC_CONFIG, GC_LAYER, UNCOMPRESSED};
use super::*;

const LAYER: &[u8] = b"layer tar bytes";

fn config() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "config": { "Cmd": ["sh"], "ExposedPorts": { "80/tcp": {} } },
        "rootfs": { "type": "layers", "diff_ids": [Digest::sha256_of(LAYER).to_string()] },
    }))
    .unwrap()
}

fn archive(layer: &[u8], tags: serde_json::Value) -> Files {
    let config = config();
    let config_name = format!("{}.json", Digest::sha256_of(&config).hex());
    let manifest = serde_json::to_vec(&json!([{
        "Config": config_name, "RepoTags": tags, "Layers": ["abc/layer.tar"],
    }]))
    .unwrap();
    Files::from([
        ("manifest.json".to_string(), manifest),
        (config_name, config),
        ("abc/layer.tar".to_string(), layer.to_vec()),
    ])
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

#[test]
fn docker_archive_gets_a_schema2_manifest_naming_config_and_layer() {
    let files = archive(LAYER, json!(["busybox:1.36"]));
    let plan = plan(&files, "overlayfs").unwrap();
    let [layer, config, manifest] = plan.blobs.as_slice() else {
        panic!("three blobs");
    };
    assert_eq!(layer.blob.media_type, DOCKER_LAYER_TAR);
    assert_eq!(
        layer.labels[UNCOMPRESSED],
        Digest::sha256_of(LAYER).to_string()
    );
    assert_eq!(config.blob.media_type, DOCKER_CONFIG);
    assert_eq!(manifest.blob.media_type, DOCKER_MANIFEST);
    assert_eq!(manifest.labels[GC_CONFIG], config.blob.digest.to_string());
    assert_eq!(
        manifest.labels[&format!("{GC_LAYER}0")],
        layer.blob.digest.to_string()
    );
    assert!(manifest.blob.digest.verify(&manifest.data));

    let parsed = parse::parse_manifest(&manifest.data).unwrap();
    assert_eq!(parsed.config, config.blob);
    assert_eq!(parsed.layers, std::slice::from_ref(&layer.blob));
    let image = &plan.images[0];
    assert_eq!(
        image.reference.to_string(),
        "docker.io/library/busybox:1.36"
    );
    assert_eq!(image.target, manifest.blob);
}

#[test]
fn a_gzip_layer_is_sniffed_and_checked_against_its_uncompressed_diff_id() {
    let files = archive(&gzip(LAYER), json!(["busybox:1.36"]));
    let plan = plan(&files, "overlayfs").unwrap();
    assert_eq!(plan.blobs[0].blob.media_type, DOCKER_LAYER_GZIP);
    assert_eq!(plan.images[0].layers[0].diff_id, Digest::sha256_of(LAYER));
}

#[test]
fn a_corrupt_layer_is_rejected_naming_it() {
    let files = archive(b"layer tar bytez", json!(["busybox:1.36"]));
    let err = plan(&files, "overlayfs").unwrap_err().to_string();
    assert!(
        err.starts_with("invalid config: tarball: abc/layer.tar: digest mismatch"),
        "{err}"
    );
}

#[test]
fn a_config_whose_name_is_not_its_digest_is_rejected() {
    let mut files = archive(LAYER, json!(["busybox:1.36"]));
    let name = format!("{}.json", Digest::sha256_of(&config()).hex());
    files.get_mut(&name).unwrap().push(b' ');
    let err = plan(&files, "overlayfs").unwrap_err().to_string();
    assert_eq!(
        err,
        format!("invalid config: tarball: {name}: digest mismatch")
    );
}

#[test]
fn every_repo_tag_is_an_image_and_untagged_archives_are_rejected() {
    let files = archive(LAYER, json!(["busybox:1.36", "example.com/b:1"]));
    let plan_ = plan(&files, "overlayfs").unwrap();
    let names: Vec<String> = plan_
        .images
        .iter()
        .map(|i| i.reference.to_string())
        .collect();
    assert_eq!(names, ["docker.io/library/busybox:1.36", "example.com/b:1"]);
    assert_eq!(plan_.blobs.len(), 3);

    let files = archive(LAYER, json!(null));
    let err = plan(&files, "overlayfs").unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid config: tarball: manifest.json: no entry has RepoTags"
    );
}

#[test]
fn a_missing_manifest_json_is_named() {
    let err = plan(&Files::new(), "overlayfs").unwrap_err().to_string();
    assert_eq!(err, "invalid config: tarball: manifest.json: missing");
}
