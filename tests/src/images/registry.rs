//! Debian's `docker-registry` (distribution 2.8) on a free loopback port with its own storage,
//! and pushing an OCI layout to it over the registry HTTP API v2.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::http::{self, Response};
use super::{manifest_digest, read_blob, OCI_MANIFEST};
use crate::apiserver::free_port;
use crate::guard::{require, Need};

/// A running `docker-registry` serving plain HTTP on 127.0.0.1.
pub struct LocalRegistry {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    child: Option<Child>,
    /// `Authorization` header value of the harness's own requests (basic auth registries).
    authorization: Option<String>,
}

impl LocalRegistry {
    /// Starts a registry with a fresh storage directory and waits until `/v2/` answers.
    #[track_caller]
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a registry that demands HTTP basic auth of `username`/`password` (an htpasswd
    /// file with a bcrypt hash made by python3's `crypt`); the harness's own requests send them.
    #[track_caller]
    pub fn start_with_basic_auth(username: &str, password: &str) -> Self {
        require(&[Need::Tool("python3", "python3")]);
        Self::start_with(Some((username, password)))
    }

    #[track_caller]
    fn start_with(basic: Option<(&str, &str)>) -> Self {
        require(&[Need::Tool("docker-registry", "docker-registry")]);
        let dir = tempfile::tempdir().expect("temp dir");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let config = dir.path().join("config.yml");
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
             delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            dir.path().join("storage").display()
        );
        if let Some((username, password)) = basic {
            let htpasswd = dir.path().join("htpasswd");
            let line = format!("{username}:{}\n", bcrypt_hash(password));
            std::fs::write(&htpasswd, line).expect("write htpasswd");
            yaml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: skiff-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        std::fs::write(&config, yaml).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("registry log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = LocalRegistry {
            dir,
            addr,
            child: Some(child),
            authorization: basic
                .map(|(u, p)| format!("Basic {}", base64(format!("{u}:{p}").as_bytes()))),
        };
        registry.wait_ready();
        registry
    }

    /// `127.0.0.1:<port>`, the registry host in image references.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Sends one request to the registry; `target` is a path such as `/v2/`.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut headers = headers.to_vec();
        if let Some(authorization) = &self.authorization {
            headers.push(("Authorization", authorization.as_str()));
        }
        http::request(self.addr, method, target, &headers, body)
            .unwrap_or_else(|e| panic!("{method} {target} to registry {}: {e}", self.addr))
    }

    /// `GET /v2/<name>/manifests/<reference>` accepting `accept`.
    pub fn get_manifest(&self, name: &str, reference: &str, accept: &str) -> Response {
        let target = format!("/v2/{name}/manifests/{reference}");
        self.request("GET", &target, &[("Accept", accept)], &[])
    }

    /// Pushes the manifest an OCI layout's index lists, with its config and layers, as
    /// `<name>:<tag>`; returns the manifest digest the registry reported.
    #[track_caller]
    pub fn push_oci_layout(&self, layout: &Path, name: &str, tag: &str) -> String {
        let digest = manifest_digest(layout);
        let manifest = read_blob(layout, &digest);
        let parsed: serde_json::Value = serde_json::from_slice(&manifest).expect("manifest JSON");
        let blobs = std::iter::once(&parsed["config"])
            .chain(parsed["layers"].as_array().into_iter().flatten())
            .map(|d| d["digest"].as_str().expect("descriptor digest").to_string());
        for blob in blobs {
            self.push_blob(name, &blob, &read_blob(layout, &blob));
        }
        let target = format!("/v2/{name}/manifests/{tag}");
        let r = self.request("PUT", &target, &[("Content-Type", OCI_MANIFEST)], &manifest);
        self.expect_status(&r, 201, &target);
        r.header("docker-content-digest")
            .expect("registry names the manifest digest")
            .to_string()
    }

    /// Pushes `data` as a blob of repository `name`; returns its digest.
    #[track_caller]
    pub fn push_blob_data(&self, name: &str, data: &[u8]) -> String {
        let digest = super::digest(data);
        self.push_blob(name, &digest, data);
        digest
    }

    /// Pushes a manifest or index document of `media_type` as `<name>:<reference>`; returns
    /// the digest the registry reported.
    #[track_caller]
    pub fn push_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let target = format!("/v2/{name}/manifests/{reference}");
        let r = self.request("PUT", &target, &[("Content-Type", media_type)], body);
        self.expect_status(&r, 201, &target);
        r.header("docker-content-digest")
            .expect("registry names the manifest digest")
            .to_string()
    }

    /// Pushes an OCI image index as `<name>:<tag>` listing manifests already pushed to `name`,
    /// each given as `(digest, size, os, architecture)`; returns the index digest.
    #[track_caller]
    pub fn push_index(
        &self,
        name: &str,
        tag: &str,
        manifests: &[(&str, usize, &str, &str)],
    ) -> String {
        let entries: Vec<serde_json::Value> = manifests
            .iter()
            .map(|(digest, size, os, architecture)| {
                serde_json::json!({
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": size,
                    "platform": { "os": os, "architecture": architecture },
                })
            })
            .collect();
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": entries,
        }))
        .expect("index JSON");
        self.push_manifest(name, tag, OCI_INDEX, &index)
    }

    /// Monolithic blob upload: `POST …/blobs/uploads/`, then `PUT <location>&digest=…`.
    fn push_blob(&self, name: &str, digest: &str, data: &[u8]) {
        let target = format!("/v2/{name}/blobs/uploads/");
        let r = self.request("POST", &target, &[], &[]);
        self.expect_status(&r, 202, &target);
        let location = r.header("location").expect("upload location").to_string();
        let path = origin_form(&location);
        let sep = if path.contains('?') { '&' } else { '?' };
        let put = format!("{path}{sep}digest={digest}");
        let r = self.request(
            "PUT",
            &put,
            &[("Content-Type", "application/octet-stream")],
            data,
        );
        self.expect_status(&r, 201, &put);
    }

    #[track_caller]
    fn expect_status(&self, r: &Response, want: u16, target: &str) {
        assert_eq!(
            r.status,
            want,
            "registry answered {target} with {}: {}\nlog:\n{}",
            r.status,
            String::from_utf8_lossy(&r.body),
            self.log()
        );
    }

    fn wait_ready(&mut self) {
        crate::process::wait_ready(self, Duration::from_secs(30));
    }

    /// The storage directory (`rootdirectory`).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }
}

/// Media type of an OCI image index.
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A bcrypt hash of `password` for an htpasswd file, made by python3's `crypt`.
fn bcrypt_hash(password: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-W",
            "ignore",
            "-c",
            "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
            password,
        ])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 crypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = String::from_utf8(out.stdout)
        .expect("hash is text")
        .trim()
        .to_string();
    assert!(hash.starts_with("$2"), "not a bcrypt hash: {hash}");
    hash
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The path and query of a `Location` that may be an absolute URL.
fn origin_form(location: &str) -> &str {
    match location.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => location,
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl crate::process::Served for LocalRegistry {
    const NAME: &'static str = "docker-registry";

    fn child(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    fn answers(&mut self) -> bool {
        // A registry demanding auth answers 401 once it is up.
        matches!(http::request(self.addr, "GET", "/v2/", &[], &[]), Ok(r) if r.status == 200 || r.status == 401)
    }

    fn log(&self) -> String {
        LocalRegistry::log(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn absolute_location_becomes_origin_form() {
        assert_eq!(
            origin_form("http://127.0.0.1:5000/v2/b/blobs/uploads/u?_state=x"),
            "/v2/b/blobs/uploads/u?_state=x"
        );
        assert_eq!(
            origin_form("/v2/b/blobs/uploads/u"),
            "/v2/b/blobs/uploads/u"
        );
    }
}
