//! Manifests, indexes and image configs parsed from their JSON bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::containerd::content::Blob;
use crate::reference::Digest;
use crate::service::{ExposedPort, ImageConfig, PortProtocol};

/// OCI image index.
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list (the Docker form of an index).
pub(crate) const DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema 2 manifest.
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker image config.
pub(crate) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker uncompressed layer.
pub(crate) const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker gzip layer.
pub(crate) const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Why a manifest, index or config could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ParseError {
    /// The bytes are not the JSON document expected.
    #[error("{what} is not valid JSON of its kind")]
    Json {
        /// `manifest`, `index` or `config`.
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// An index lists no manifest for this platform.
    #[error("index has no manifest for {os}/{architecture}")]
    NoPlatform {
        /// Operating system wanted.
        os: String,
        /// Architecture wanted.
        architecture: String,
    },
    /// The manifest and config disagree on the number of layers.
    #[error("manifest has {layers} layers but config has {diff_ids} diff ids")]
    LayerCount {
        /// Layers in the manifest.
        layers: usize,
        /// `rootfs.diff_ids` in the config.
        diff_ids: usize,
    },
}

/// The platform of an index entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct Platform {
    /// `architecture`, e.g. `amd64`.
    #[serde(default)]
    pub architecture: String,
    /// `os`, e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// `variant`, e.g. `v8`.
    #[serde(default)]
    pub variant: Option<String>,
}

/// A descriptor as JSON has it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    #[serde(default)]
    media_type: String,
    digest: Digest,
    size: u64,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl RawDescriptor {
    fn blob(&self) -> Blob {
        Blob {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
        }
    }
}

/// One manifest an index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    /// The manifest (or nested index) blob.
    pub blob: Blob,
    /// Its platform, when given.
    pub platform: Option<Platform>,
    /// Its annotations (image names of an OCI layout).
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest: its config and layers, bottom first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// The config blob.
    pub config: Blob,
    /// The layer blobs, bottom first.
    pub layers: Vec<Blob>,
}

/// An image config: what to run and the layers' uncompressed digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigFile {
    /// The run configuration.
    pub config: ImageConfig,
    /// `rootfs.diff_ids`, bottom first.
    pub diff_ids: Vec<Digest>,
}

#[derive(Deserialize)]
struct RawIndex {
    #[serde(default)]
    manifests: Vec<RawDescriptor>,
}

#[derive(Deserialize)]
struct RawManifest {
    config: RawDescriptor,
    #[serde(default)]
    layers: Vec<RawDescriptor>,
}

#[derive(Deserialize, Default)]
struct RawConfigFile {
    #[serde(default)]
    config: Option<RawRunConfig>,
    #[serde(default)]
    rootfs: Option<RawRootfs>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawRunConfig {
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize, Default)]
struct RawRootfs {
    #[serde(default)]
    diff_ids: Vec<Digest>,
}

/// Whether a blob of `media_type` holding `bytes` is an index (Docker manifest list included);
/// a blob without a known media type is an index when it lists `manifests`.
pub(crate) fn is_index(media_type: &str, bytes: &[u8]) -> bool {
    match media_type {
        OCI_INDEX | DOCKER_MANIFEST_LIST => true,
        OCI_MANIFEST | DOCKER_MANIFEST => false,
        _ => {
            #[derive(Deserialize)]
            struct Probe {
                #[serde(default, rename = "mediaType")]
                media_type: Option<String>,
                #[serde(default)]
                manifests: Option<serde_json::Value>,
            }
            match serde_json::from_slice::<Probe>(bytes) {
                Ok(probe) => match probe.media_type.as_deref() {
                    Some(OCI_INDEX | DOCKER_MANIFEST_LIST) => true,
                    Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
                    _ => probe.manifests.is_some(),
                },
                Err(_) => false,
            }
        }
    }
}

/// Parses an index (or Docker manifest list).
pub(crate) fn parse_index(bytes: &[u8]) -> Result<Vec<IndexEntry>, ParseError> {
    let raw: RawIndex = serde_json::from_slice(bytes).map_err(|source| ParseError::Json {
        what: "index",
        source,
    })?;
    Ok(raw
        .manifests
        .into_iter()
        .map(|d| IndexEntry {
            blob: d.blob(),
            platform: d.platform,
            annotations: d.annotations,
        })
        .collect())
}

/// Parses an image manifest.
pub(crate) fn parse_manifest(bytes: &[u8]) -> Result<Manifest, ParseError> {
    let raw: RawManifest = serde_json::from_slice(bytes).map_err(|source| ParseError::Json {
        what: "manifest",
        source,
    })?;
    Ok(Manifest {
        config: raw.config.blob(),
        layers: raw.layers.iter().map(RawDescriptor::blob).collect(),
    })
}

/// Parses an image config (OCI or Docker).
pub(crate) fn parse_config(bytes: &[u8]) -> Result<ConfigFile, ParseError> {
    let raw: RawConfigFile = serde_json::from_slice(bytes).map_err(|source| ParseError::Json {
        what: "config",
        source,
    })?;
    let run = raw.config.unwrap_or_default();
    let env = run
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|entry| match entry.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (entry, String::new()),
        })
        .collect();
    let mut exposed_ports: Vec<ExposedPort> = run
        .exposed_ports
        .unwrap_or_default()
        .keys()
        .filter_map(|key| parse_port(key))
        .collect();
    exposed_ports.sort();
    exposed_ports.dedup();
    Ok(ConfigFile {
        config: ImageConfig {
            entrypoint: run.entrypoint.unwrap_or_default(),
            cmd: run.cmd.unwrap_or_default(),
            env,
            working_dir: run.working_dir.filter(|d| !d.is_empty()).map(PathBuf::from),
            user: run.user.filter(|u| !u.is_empty()),
            exposed_ports,
        },
        diff_ids: raw.rootfs.unwrap_or_default().diff_ids,
    })
}

/// Parses an `ExposedPorts` key: `80`, `80/tcp`, `53/udp`, `9/sctp`.
pub(crate) fn parse_port(key: &str) -> Option<ExposedPort> {
    let (port, protocol) = match key.split_once('/') {
        Some((port, proto)) => (port, proto),
        None => (key, "tcp"),
    };
    let protocol = match protocol.to_ascii_lowercase().as_str() {
        "tcp" => PortProtocol::Tcp,
        "udp" => PortProtocol::Udp,
        "sctp" => PortProtocol::Sctp,
        _ => return None,
    };
    Some(ExposedPort {
        port: port.parse().ok()?,
        protocol,
    })
}

/// This node's platform as an OCI platform: `linux` and the Go name of the CPU architecture.
pub(crate) fn this_platform() -> Platform {
    let architecture = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    };
    Platform {
        architecture: architecture.to_string(),
        os: "linux".to_string(),
        variant: None,
    }
}

/// The entry of `entries` for `platform` (a matching variant preferred); entries without a
/// platform match only when they are the sole entry.
pub(crate) fn pick_platform<'a>(
    entries: &'a [IndexEntry],
    platform: &Platform,
) -> Result<&'a IndexEntry, ParseError> {
    let matching = entries.iter().filter(|entry| match &entry.platform {
        Some(p) => p.os == platform.os && p.architecture == platform.architecture,
        None => entries.len() == 1,
    });
    let mut best: Option<&IndexEntry> = None;
    for entry in matching {
        let exact =
            entry.platform.as_ref().and_then(|p| p.variant.as_ref()) == platform.variant.as_ref();
        if best.is_none() || exact {
            best = Some(entry);
            if exact {
                break;
            }
        }
    }
    best.ok_or_else(|| ParseError::NoPlatform {
        os: platform.os.clone(),
        architecture: platform.architecture.clone(),
    })
}

/// Checks the manifest's layers line up with the config's diff ids.
pub(crate) fn check_layers(manifest: &Manifest, config: &ConfigFile) -> Result<(), ParseError> {
    if manifest.layers.len() == config.diff_ids.len() {
        Ok(())
    } else {
        Err(ParseError::LayerCount {
            layers: manifest.layers.len(),
            diff_ids: config.diff_ids.len(),
        })
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
