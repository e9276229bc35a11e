//! Container images built locally from busybox-static (no registry is reachable from tests):
//! an OCI image layout, its tarball, a `docker save` archive, and a loopback registry to push
//! them to.

mod http;
mod registry;
mod tar;

use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

pub use http::Response;
pub use registry::LocalRegistry;

/// busybox-static's binary, the only file of the image.
pub const BUSYBOX: &str = "/bin/busybox";

/// The full reference the busybox image is named by in its archives.
pub const BUSYBOX_REF: &str = "docker.io/library/busybox:1.36";

/// The tag of the busybox image (the OCI `ref.name` annotation).
pub const BUSYBOX_TAG: &str = "1.36";

/// Media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Media type of an OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// Media type of an uncompressed OCI layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// Applets linked to busybox in the image's `/bin`.
pub const APPLETS: [&str; 8] = ["sh", "echo", "sleep", "cat", "nc", "httpd", "true", "false"];

/// `sha256:<hex>` of `data`.
pub fn digest(data: &[u8]) -> String {
    let hash = Sha256::digest(data);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The busybox layer (uncompressed tar) and its config JSON.
struct Parts {
    layer: Vec<u8>,
    config: Vec<u8>,
}

fn read_busybox() -> Vec<u8> {
    std::fs::read(BUSYBOX)
        .unwrap_or_else(|e| panic!("cannot read {BUSYBOX} (apt-get install busybox-static): {e}"))
}

fn busybox_parts(busybox: &[u8]) -> Parts {
    let passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
    let group = b"root:x:0:\nnogroup:x:65534:\n";
    let links: Vec<String> = APPLETS.iter().map(|a| format!("bin/{a}")).collect();
    let mut entries = vec![
        tar::Entry::Dir("bin"),
        tar::Entry::File("bin/busybox", 0o755, busybox),
    ];
    entries.extend(links.iter().map(|l| tar::Entry::Symlink(l, "busybox")));
    entries.extend([
        tar::Entry::Dir("etc"),
        tar::Entry::File("etc/passwd", 0o644, passwd),
        tar::Entry::File("etc/group", 0o644, group),
        tar::Entry::Dir("root"),
        tar::Entry::Dir("tmp"),
    ]);
    let layer = tar::build(&entries);
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
        },
        "rootfs": { "type": "layers", "diff_ids": [digest(&layer)] },
    });
    Parts {
        layer,
        config: serde_json::to_vec(&config).expect("config JSON"),
    }
}

fn descriptor(media_type: &str, data: &[u8]) -> serde_json::Value {
    json!({ "mediaType": media_type, "digest": digest(data), "size": data.len() })
}

/// Builds the busybox image as an OCI layout at `<dir>/busybox-oci` and its tarball at
/// `<dir>/busybox-oci.tar` (see [`oci_archive`]); returns the layout directory.
pub fn busybox_oci_layout(dir: &Path) -> PathBuf {
    oci_layout_with(dir, &read_busybox())
}

fn oci_layout_with(dir: &Path, busybox: &[u8]) -> PathBuf {
    let parts = busybox_parts(busybox);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, &parts.config),
        "layers": [descriptor(OCI_LAYER_TAR, &parts.layer)],
    }))
    .expect("manifest JSON");
    let mut manifest_desc = descriptor(OCI_MANIFEST, &manifest);
    manifest_desc["platform"] = json!({ "architecture": "amd64", "os": "linux" });
    manifest_desc["annotations"] = json!({
        "org.opencontainers.image.ref.name": BUSYBOX_TAG,
        "io.containerd.image.name": BUSYBOX_REF,
    });
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [manifest_desc],
    }))
    .expect("index JSON");
    let layout_file = br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec();

    let blobs = [&parts.layer, &parts.config, &manifest];
    let names: Vec<String> = blobs
        .iter()
        .map(|b| format!("blobs/sha256/{}", &digest(b)["sha256:".len()..]))
        .collect();
    let mut files: Vec<(&str, &[u8])> = vec![("oci-layout", &layout_file), ("index.json", &index)];
    files.extend(
        names
            .iter()
            .map(String::as_str)
            .zip(blobs.map(|b| b.as_slice())),
    );

    let layout = dir.join("busybox-oci");
    std::fs::create_dir_all(layout.join("blobs/sha256")).expect("create layout");
    for (name, data) in &files {
        std::fs::write(layout.join(name), data).expect("write layout file");
    }
    let mut entries = vec![tar::Entry::Dir("blobs"), tar::Entry::Dir("blobs/sha256")];
    entries.extend(files.iter().map(|(n, d)| tar::Entry::File(n, 0o644, d)));
    std::fs::write(oci_archive(&layout), tar::build(&entries)).expect("write OCI tarball");
    layout
}

/// The tarball written next to an OCI layout by [`busybox_oci_layout`].
pub fn oci_archive(layout: &Path) -> PathBuf {
    layout.with_extension("tar")
}

/// The digest of the (single) manifest an OCI layout's `index.json` lists.
pub fn manifest_digest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("read index.json"))
            .expect("index.json is JSON");
    index["manifests"][0]["digest"]
        .as_str()
        .expect("index lists a manifest")
        .to_string()
}

/// Reads the blob `digest` of an OCI layout.
pub fn read_blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    let path = layout.join("blobs/sha256").join(hex);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read blob {}: {e}", path.display()))
}

/// Builds the busybox image as a `docker save` archive at `<dir>/busybox-docker.tar`, tagged
/// [`BUSYBOX_REF`]; returns its path.
pub fn docker_archive(dir: &Path) -> PathBuf {
    let parts = busybox_parts(&read_busybox());
    let config_name = format!("{}.json", &digest(&parts.config)["sha256:".len()..]);
    let layer_dir = digest(&parts.layer)["sha256:".len()..].to_string();
    let layer_name = format!("{layer_dir}/layer.tar");
    let manifest = serde_json::to_vec(&json!([{
        "Config": config_name,
        "RepoTags": [BUSYBOX_REF],
        "Layers": [layer_name],
    }]))
    .expect("manifest JSON");
    let archive = tar::build(&[
        tar::Entry::File(&config_name, 0o644, &parts.config),
        tar::Entry::Dir(&layer_dir),
        tar::Entry::File(&layer_name, 0o644, &parts.layer),
        tar::Entry::File("manifest.json", 0o644, &manifest),
    ]);
    let path = dir.join("busybox-docker.tar");
    std::fs::write(&path, archive).expect("write docker archive");
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_blobs_match_their_digests_and_the_manifest_names_them() {
        let dir = tempfile::tempdir().unwrap();
        let layout = oci_layout_with(dir.path(), b"#!/bin/false\n");
        for entry in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
            let entry = entry.unwrap();
            let data = std::fs::read(entry.path()).unwrap();
            assert_eq!(
                digest(&data),
                format!("sha256:{}", entry.file_name().to_string_lossy())
            );
        }
        let manifest: serde_json::Value =
            serde_json::from_slice(&read_blob(&layout, &manifest_digest(&layout))).unwrap();
        let config: serde_json::Value = serde_json::from_slice(&read_blob(
            &layout,
            manifest["config"]["digest"].as_str().unwrap(),
        ))
        .unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            manifest["layers"][0]["digest"]
        );
        assert_eq!(config["config"]["Cmd"], json!(["sh"]));
        assert!(oci_archive(&layout).is_file());
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
