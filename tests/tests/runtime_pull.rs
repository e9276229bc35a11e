//! Image pulls against a real containerd and a `docker-registry` on loopback: content and
//! committed snapshots land in containerd, no lease is left, a repeated pull fetches no blob,
//! concurrent pulls share one download, indexes resolve to this platform, and registry
//! failures come back as the image service's typed errors.

use std::path::Path;

use skiff_runtime::containerd::{Containerd, ContainerdConfig, ContainerdImages};
use skiff_runtime::reference::ImageReference;
use skiff_runtime::service::{ImageService, RegistryAuth, ServiceError};
use skiff_tests::containerd::{mounts_under, PrivateContainerd, NEEDS};
use skiff_tests::guard::{require, Need};
use skiff_tests::images::{self, LocalRegistry};

fn needs() {
    require(&NEEDS);
    require(&[
        Need::Tool("docker-registry", "docker-registry"),
        Need::File(images::BUSYBOX, "busybox-static"),
    ]);
}

/// A private containerd with an image service over it.
struct Fixture {
    containerd: PrivateContainerd,
    images: ContainerdImages,
    _work: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Self {
        let containerd = PrivateContainerd::start();
        let work = tempfile::tempdir().expect("temp dir");
        let config = ContainerdConfig {
            address: containerd.address(),
            namespace: containerd.namespace().to_string(),
            netns_dir: work.path().join("netns"),
            state_dir: work.path().join("state"),
            logger: skiff_tests::cni::workspace_bin(skiff_runtime::containerd::LOGGER_BINARY),
            ..Default::default()
        };
        let client = Containerd::connect(config)
            .await
            .expect("connect to containerd");
        Self {
            images: client.images(),
            containerd,
            _work: work,
        }
    }

    /// Lines of `ctr <args> -q`, sorted.
    fn ls(&self, args: &[&str]) -> Vec<String> {
        let mut all = args.to_vec();
        all.push("-q");
        let mut lines: Vec<String> = self
            .containerd
            .ctr_ok(&all)
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect();
        lines.sort();
        lines
    }

    fn content(&self) -> Vec<String> {
        self.ls(&["content", "ls"])
    }

    fn snapshots(&self) -> Vec<String> {
        let out = self.containerd.ctr_ok(&["snapshots", "ls"]);
        let mut lines: Vec<String> = out.lines().skip(1).map(str::to_string).collect();
        lines.sort();
        lines
    }

    fn leases(&self) -> Vec<String> {
        self.ls(&["leases", "ls"])
    }

    /// Removes `reference` and checks containerd collected every blob and snapshot, and no
    /// mount is left.
    async fn remove_and_check_clean(&self, reference: &ImageReference) {
        self.images.remove(reference).await.expect("remove image");
        assert_eq!(self.content(), Vec::<String>::new(), "content left");
        assert_eq!(self.snapshots(), Vec::<String>::new(), "snapshots left");
        assert_eq!(self.leases(), Vec::<String>::new(), "leases left");
        assert_eq!(
            mounts_under(self.containerd.dir()),
            Vec::<std::path::PathBuf>::new()
        );
    }
}

/// The busybox layout pushed as `<registry>/busybox:1.36`; returns the reference and the
/// manifest digest.
fn push_busybox(registry: &LocalRegistry, dir: &Path) -> (ImageReference, String) {
    let layout = images::busybox_oci_layout(dir);
    let digest = registry.push_oci_layout(&layout, "busybox", images::BUSYBOX_TAG);
    let reference = ImageReference::parse(&format!(
        "{}/busybox:{}",
        registry.host(),
        images::BUSYBOX_TAG
    ))
    .expect("reference");
    (reference, digest)
}

/// How often the registry served `GET` of blob `digest` of `name`.
fn blob_gets(registry: &LocalRegistry, name: &str, digest: &str) -> usize {
    let needle = format!("\"GET /v2/{name}/blobs/{digest} ");
    registry.log().matches(&needle).count()
}

/// Blob digests of the busybox layout: config and layer.
fn busybox_blobs(dir: &Path) -> Vec<String> {
    let layout = dir.join("busybox-oci");
    let manifest: serde_json::Value = serde_json::from_slice(&images::read_blob(
        &layout,
        &images::manifest_digest(&layout),
    ))
    .expect("manifest JSON");
    std::iter::once(&manifest["config"])
        .chain(manifest["layers"].as_array().expect("layers"))
        .map(|d| d["digest"].as_str().expect("digest").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd, runc and docker-registry"]
async fn pull_stores_content_and_snapshots_leaves_no_lease_and_a_second_pull_fetches_nothing() {
    needs();
    let fx = Fixture::start().await;
    let registry = LocalRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let (reference, manifest_digest) = push_busybox(&registry, dir.path());

    let info = fx.images.pull(&reference, None).await.expect("pull");
    assert_eq!(info.digest.to_string(), manifest_digest);
    assert_eq!(info.config.cmd, vec!["sh".to_string()]);
    let blobs = busybox_blobs(dir.path());
    let content = fx.content();
    for digest in blobs.iter().chain([&manifest_digest]) {
        assert!(
            content.contains(digest),
            "{digest} not in content store: {content:?}"
        );
    }
    let snapshots = fx.snapshots();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    assert!(snapshots[0].contains("Committed"), "{snapshots:?}");
    assert_eq!(
        fx.leases(),
        Vec::<String>::new(),
        "a lease is left after the pull"
    );
    let layer_labels = fx.containerd.ctr_ok(&["content", "ls"]);
    assert!(
        layer_labels.contains("containerd.io/uncompressed="),
        "{layer_labels}"
    );
    assert!(
        layer_labels.contains("containerd.io/gc.ref.snapshot.overlayfs="),
        "{layer_labels}"
    );

    let gets: Vec<usize> = blobs
        .iter()
        .map(|d| blob_gets(&registry, "busybox", d))
        .collect();
    assert_eq!(gets, vec![1; blobs.len()], "each blob fetched once");
    let again = fx.images.pull(&reference, None).await.expect("second pull");
    assert_eq!(again, info);
    let gets: Vec<usize> = blobs
        .iter()
        .map(|d| blob_gets(&registry, "busybox", d))
        .collect();
    assert_eq!(gets, vec![1; blobs.len()], "the second pull fetched a blob");
    assert_eq!(fx.content(), content, "the second pull wrote content");
    assert_eq!(fx.snapshots(), snapshots, "the second pull made snapshots");
    assert_eq!(fx.leases(), Vec::<String>::new());

    fx.remove_and_check_clean(&reference).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd, runc and docker-registry"]
async fn concurrent_pulls_of_one_reference_fetch_each_blob_once() {
    needs();
    let fx = Fixture::start().await;
    let registry = LocalRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let (reference, _) = push_busybox(&registry, dir.path());
    let (a, b) = tokio::join!(
        fx.images.pull(&reference, None),
        fx.images.pull(&reference, None)
    );
    assert_eq!(a.expect("first pull"), b.expect("second pull"));
    for digest in busybox_blobs(dir.path()) {
        assert_eq!(blob_gets(&registry, "busybox", &digest), 1, "{digest}");
    }
    assert_eq!(fx.leases(), Vec::<String>::new());
    fx.remove_and_check_clean(&reference).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd, runc and docker-registry"]
async fn an_unknown_tag_is_image_not_found_and_leaves_nothing() {
    needs();
    let fx = Fixture::start().await;
    let registry = LocalRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    push_busybox(&registry, dir.path());
    let reference = ImageReference::parse(&format!("{}/busybox:nope", registry.host())).unwrap();
    let error = fx.images.pull(&reference, None).await.unwrap_err();
    assert!(
        matches!(error, ServiceError::ImageNotFound { .. }),
        "{error:?}"
    );
    let reference = ImageReference::parse(&format!("{}/nothing:1", registry.host())).unwrap();
    let error = fx.images.pull(&reference, None).await.unwrap_err();
    assert!(
        matches!(error, ServiceError::ImageNotFound { .. }),
        "{error:?}"
    );
    assert_eq!(fx.leases(), Vec::<String>::new());
    assert_eq!(fx.content(), Vec::<String>::new());
    assert_eq!(fx.snapshots(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd, runc and docker-registry"]
async fn a_port_with_nothing_listening_is_registry_unreachable() {
    needs();
    let fx = Fixture::start().await;
    let port = skiff_tests::apiserver::free_port();
    let reference = ImageReference::parse(&format!("127.0.0.1:{port}/busybox:1.36")).unwrap();
    let error = fx.images.pull(&reference, None).await.unwrap_err();
    assert!(
        matches!(error, ServiceError::RegistryUnreachable { .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(fx.leases(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd, runc and docker-registry"]
async fn an_index_resolves_to_the_amd64_manifest() {
    needs();
    let fx = Fixture::start().await;
    let registry = LocalRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let (_, amd64) = push_busybox(&registry, dir.path());
    let layout = dir.path().join("busybox-oci");
    let amd64_manifest = images::read_blob(&layout, &amd64);
    // The same layer with an arm64 config: another manifest.
    let mut manifest: serde_json::Value = serde_json::from_slice(&amd64_manifest).unwrap();
    let mut config: serde_json::Value = serde_json::from_slice(&images::read_blob(
        &layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    config["architecture"] = "arm64".into();
    let config = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = registry.push_blob_data("busybox", &config).into();
    manifest["config"]["size"] = config.len().into();
    let arm64_manifest = serde_json::to_vec(&manifest).unwrap();
    let arm64 = registry.push_manifest("busybox", "arm64", images::OCI_MANIFEST, &arm64_manifest);
    let index = registry.push_index(
        "busybox",
        "multi",
        &[
            (&arm64, arm64_manifest.len(), "linux", "arm64"),
            (&amd64, amd64_manifest.len(), "linux", "amd64"),
        ],
    );
    let reference = ImageReference::parse(&format!("{}/busybox:multi", registry.host())).unwrap();
    let info = fx.images.pull(&reference, None).await.expect("pull index");
    assert_eq!(info.digest.to_string(), amd64);
    let content = fx.content();
    assert!(content.contains(&index), "the index is stored: {content:?}");
    assert!(
        !content.contains(&arm64),
        "the arm64 manifest is not: {content:?}"
    );
    assert_eq!(fx.leases(), Vec::<String>::new());
    fx.remove_and_check_clean(&reference).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd, runc, docker-registry and python3"]
async fn basic_auth_refuses_wrong_credentials_and_pulls_with_right_ones() {
    needs();
    let fx = Fixture::start().await;
    let registry = LocalRegistry::start_with_basic_auth("skiff", "s3cret");
    let dir = tempfile::tempdir().unwrap();
    let (reference, digest) = push_busybox(&registry, dir.path());
    let wrong = RegistryAuth::Basic {
        username: "skiff".into(),
        password: "wrong".into(),
    };
    for auth in [None, Some(&wrong)] {
        let error = fx.images.pull(&reference, auth).await.unwrap_err();
        assert!(
            matches!(error, ServiceError::Unauthorized { .. }),
            "{auth:?}: {error:?}"
        );
    }
    assert_eq!(fx.leases(), Vec::<String>::new());
    let right = RegistryAuth::Basic {
        username: "skiff".into(),
        password: "s3cret".into(),
    };
    let info = fx
        .images
        .pull(&reference, Some(&right))
        .await
        .expect("pull with credentials");
    assert_eq!(info.digest.to_string(), digest);
    assert_eq!(fx.leases(), Vec::<String>::new());
    fx.remove_and_check_clean(&reference).await;
}
