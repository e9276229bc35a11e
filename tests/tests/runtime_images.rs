//! Image records and tarball imports against a real containerd: images imported by `ctr` and
//! by Skiff list and resolve with their manifest digest, config and unpacked snapshot; removal
//! leaves no content or snapshot; a corrupted archive is rejected and leaves nothing behind.

use std::path::{Path, PathBuf};

use skiff_runtime::containerd::{Containerd, ContainerdConfig, ContainerdImages};
use skiff_runtime::reference::ImageReference;
use skiff_runtime::service::{ArchiveFormat, ImageInfo, ImageService, ServiceError};
use skiff_tests::containerd::{PrivateContainerd, NEEDS};
use skiff_tests::guard::{require, Need};
use skiff_tests::images::{self, BUSYBOX_REF};

const IMAGE_NEEDS: [Need; 1] = [Need::File(images::BUSYBOX, "busybox-static")];

/// A private containerd, a client over it, and a work dir holding the busybox archives.
struct Fixture {
    images: ContainerdImages,
    containerd: PrivateContainerd,
    work: tempfile::TempDir,
}

impl Fixture {
    #[track_caller]
    fn start() -> impl std::future::Future<Output = Self> {
        require(&NEEDS);
        require(&IMAGE_NEEDS);
        async {
            let containerd = PrivateContainerd::start();
            let work = tempfile::tempdir().expect("temp dir");
            let config = ContainerdConfig {
                address: containerd.address(),
                namespace: containerd.namespace().to_string(),
                netns_dir: work.path().join("netns"),
                state_dir: work.path().join("state"),
                ..Default::default()
            };
            let client = Containerd::connect(config).await.expect("connect");
            Self {
                images: client.images(),
                containerd,
                work,
            }
        }
    }

    fn dir(&self) -> &Path {
        self.work.path()
    }

    /// The busybox OCI layout (built on first use) and its tarball.
    fn oci(&self) -> (PathBuf, PathBuf) {
        let layout = self.dir().join("busybox-oci");
        let layout = if layout.is_dir() {
            layout
        } else {
            images::busybox_oci_layout(self.dir())
        };
        let archive = images::oci_archive(&layout);
        (layout, archive)
    }

    /// Lines of `ctr <args> -q`.
    fn ctr_lines(&self, args: &[&str]) -> Vec<String> {
        self.containerd
            .ctr_ok(args)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn snapshots(&self) -> Vec<String> {
        // `ctr snapshots ls` prints a header, then `KEY PARENT KIND`.
        self.ctr_lines(&["snapshots", "ls"])
            .into_iter()
            .skip(1)
            .collect()
    }

    fn leases(&self) -> Vec<String> {
        self.ctr_lines(&["leases", "ls", "-q"])
    }

    fn content(&self) -> Vec<String> {
        self.ctr_lines(&["content", "ls", "-q"])
    }

    fn image_names(&self) -> Vec<String> {
        self.ctr_lines(&["images", "ls", "-q"])
    }
}

fn busybox() -> ImageReference {
    ImageReference::parse(BUSYBOX_REF).unwrap()
}

/// The config of the busybox image the harness builds.
fn assert_busybox_config(info: &ImageInfo) {
    assert_eq!(info.config.cmd, ["sh"]);
    assert!(info.config.entrypoint.is_empty());
    assert_eq!(info.config.env.len(), 1);
    assert_eq!(info.config.env[0].0, "PATH");
    assert!(info.config.env[0].1.contains("/bin"));
    assert!(info.size > 0);
}

/// The chain id of the single-layer busybox image: its layer's diff id.
fn busybox_chain_id(layout: &Path) -> String {
    let manifest: serde_json::Value =
        serde_json::from_slice(&images::read_blob(layout, &images::manifest_digest(layout)))
            .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&images::read_blob(
        layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    config["rootfs"]["diff_ids"][0]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
#[ignore = "needs root, containerd and runc: private containerd daemon"]
async fn image_imported_by_ctr_lists_and_resolves_by_familiar_name() {
    let f = Fixture::start().await;
    let (layout, archive) = f.oci();
    f.containerd
        .ctr_ok(&["images", "import", archive.to_str().unwrap()]);

    let listed = f.images.list().await.unwrap();
    let names: Vec<String> = listed.iter().map(|i| i.reference.to_string()).collect();
    assert_eq!(names, [BUSYBOX_REF]);
    let info = &listed[0];
    assert_eq!(info.digest.to_string(), images::manifest_digest(&layout));
    assert_busybox_config(info);

    let familiar = ImageReference::parse("busybox:1.36").unwrap();
    let status = f.images.status(&familiar).await.unwrap();
    assert_eq!(status.as_ref(), Some(info));

    let by_digest = busybox().with_digest(info.digest.clone());
    let status = f
        .images
        .status(&by_digest)
        .await
        .unwrap()
        .expect("found by digest");
    assert_eq!(status.digest, info.digest);

    let absent = ImageReference::parse("busybox:0.1").unwrap();
    assert_eq!(f.images.status(&absent).await.unwrap(), None);

    // ctr unpacked it: the chain id is a committed snapshot.
    let chain_id = busybox_chain_id(&layout);
    assert!(
        f.snapshots()
            .iter()
            .any(|l| l.starts_with(&chain_id) && l.contains("Committed")),
        "{:?}",
        f.snapshots()
    );
}

/// Checks nothing of an image is left: no record, lease, snapshot or content.
fn assert_nothing_left(f: &Fixture) {
    assert_eq!(f.image_names(), Vec::<String>::new(), "images left");
    assert_eq!(f.leases(), Vec::<String>::new(), "leases left");
    assert_eq!(f.snapshots(), Vec::<String>::new(), "snapshots left");
    assert_eq!(f.content(), Vec::<String>::new(), "content left");
}

/// Imports `archive`, checks what list, status and the snapshots say, removes the image and
/// checks nothing of it is left; returns the imported image.
async fn import_list_remove(f: &Fixture, archive: &Path, format: ArchiveFormat) -> ImageInfo {
    let (layout, _) = f.oci();
    let imported = f.images.import(archive, format).await.unwrap();
    assert_eq!(imported.len(), 1);
    let info = imported[0].clone();
    assert_eq!(info.reference.to_string(), BUSYBOX_REF);
    assert_busybox_config(&info);

    assert_eq!(f.images.list().await.unwrap(), std::slice::from_ref(&info));
    assert_eq!(f.image_names(), [BUSYBOX_REF]);
    let familiar = ImageReference::parse("busybox:1.36").unwrap();
    assert_eq!(
        f.images.status(&familiar).await.unwrap().as_ref(),
        Some(&info)
    );
    assert_eq!(
        f.leases(),
        Vec::<String>::new(),
        "the import's lease is released"
    );

    let chain_id = busybox_chain_id(&layout);
    let snapshots = f.snapshots();
    assert!(
        snapshots
            .iter()
            .any(|l| l.starts_with(&chain_id) && l.contains("Committed")),
        "{snapshots:?}"
    );

    f.images.remove(&familiar).await.unwrap();
    assert_eq!(f.images.status(&familiar).await.unwrap(), None);
    assert_eq!(f.images.list().await.unwrap(), []);
    assert_nothing_left(f);
    info
}

#[tokio::test]
#[ignore = "needs root, containerd and runc: private containerd daemon"]
async fn oci_archive_imports_unpacks_lists_and_removes_without_leftovers() {
    let f = Fixture::start().await;
    let (layout, archive) = f.oci();
    let info = import_list_remove(&f, &archive, ArchiveFormat::OciLayout).await;
    assert_eq!(info.digest.to_string(), images::manifest_digest(&layout));
}

#[tokio::test]
#[ignore = "needs root, containerd and runc: private containerd daemon"]
async fn docker_archive_imports_unpacks_lists_and_removes_without_leftovers() {
    let f = Fixture::start().await;
    let archive = images::docker_archive(f.dir());
    let info = import_list_remove(&f, &archive, ArchiveFormat::DockerArchive).await;
    // The record points at a Docker schema 2 manifest made for the archive.
    let (layout, _) = f.oci();
    assert_ne!(info.digest.to_string(), images::manifest_digest(&layout));
}

#[tokio::test]
#[ignore = "needs root, containerd and runc: private containerd daemon"]
async fn importing_twice_updates_the_record_in_place() {
    let f = Fixture::start().await;
    let (_, archive) = f.oci();
    let first = f
        .images
        .import(&archive, ArchiveFormat::OciLayout)
        .await
        .unwrap();
    let second = f
        .images
        .import(&archive, ArchiveFormat::OciLayout)
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(f.image_names(), [BUSYBOX_REF]);
    assert_eq!(f.leases(), Vec::<String>::new());
    f.images.remove(&busybox()).await.unwrap();
    assert_nothing_left(&f);
}

#[tokio::test]
#[ignore = "needs root, containerd and runc: private containerd daemon"]
async fn corrupted_layer_is_rejected_naming_the_blob_and_leaves_nothing() {
    let f = Fixture::start().await;
    let (layout, archive) = f.oci();
    let manifest: serde_json::Value = serde_json::from_slice(&images::read_blob(
        &layout,
        &images::manifest_digest(&layout),
    ))
    .unwrap();
    let layer_digest = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let layer = images::read_blob(&layout, &layer_digest);
    // Flip a byte inside the layer's data (tar checksums cover headers only).
    let mut bytes = std::fs::read(&archive).unwrap();
    let head = &layer[..512];
    let at = bytes
        .windows(head.len())
        .position(|w| w == head)
        .expect("layer data in the archive");
    bytes[at + layer.len() / 2] ^= 0x01;
    let corrupted = f.dir().join("corrupted.tar");
    std::fs::write(&corrupted, bytes).unwrap();

    let err = f
        .images
        .import(&corrupted, ArchiveFormat::OciLayout)
        .await
        .unwrap_err();
    let hex = layer_digest.strip_prefix("sha256:").unwrap();
    assert!(matches!(err, ServiceError::InvalidConfig { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("invalid config: tarball: blobs/sha256/{hex}: digest mismatch")
    );
    assert_nothing_left(&f);
}

#[tokio::test]
#[ignore = "needs root, containerd and runc: private containerd daemon"]
async fn a_file_that_is_not_an_archive_is_rejected() {
    let f = Fixture::start().await;
    let path = f.dir().join("not-a-tarball");
    std::fs::write(&path, b"just some text, not a tar archive").unwrap();
    for format in [ArchiveFormat::OciLayout, ArchiveFormat::DockerArchive] {
        let err = f.images.import(&path, format).await.unwrap_err();
        assert!(
            err.to_string().contains("not a tar archive"),
            "{format:?}: {err}"
        );
    }
    // An OCI layout given as a docker archive has no manifest.json.
    let (_, archive) = f.oci();
    let err = f
        .images
        .import(&archive, ArchiveFormat::DockerArchive)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid config: tarball: manifest.json: missing"
    );
    assert_nothing_left(&f);
}

#[tokio::test]
#[ignore = "needs root, containerd and runc: private containerd daemon"]
async fn removing_an_absent_image_succeeds() {
    let f = Fixture::start().await;
    f.images.remove(&busybox()).await.unwrap();
    let digest_only = busybox().with_digest(
        "sha256:0000000000000000000000000000000000000000000000000000000000000000"
            .parse()
            .unwrap(),
    );
    f.images.remove(&digest_only).await.unwrap();
    assert_eq!(f.images.list().await.unwrap(), []);
}
