//! The registry side of a pull: manifests and blobs of one repository, fetched with
//! `oci-client`, behind the narrow [`Registry`] trait so the pull logic can run on fixtures.

use std::net::IpAddr;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth as OciAuth;

use crate::containerd::content::Blob;
use crate::containerd::image::record::parse::{
    ParseError, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use crate::reference::{Digest, ImageReference};
use crate::service::{Call, RegistryAuth, ServiceError};

/// A blob's bytes as they arrive.
pub(crate) type BlobStream = BoxStream<'static, Result<Vec<u8>, RegistryError>>;

/// Manifests and blobs of one repository.
#[async_trait]
pub(crate) trait Registry: Send + Sync {
    /// The raw manifest or index that `reference` (a tag or a digest) names.
    async fn fetch_manifest(&self, reference: &str) -> Result<Vec<u8>, RegistryError>;

    /// The bytes of `blob`, as they arrive (verified by the caller).
    async fn fetch_blob(&self, blob: &Blob) -> Result<BlobStream, RegistryError>;
}

/// Why a registry did not give what a pull needs.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistryError {
    /// The manifest, blob or repository does not exist.
    #[error("{what} not found in the registry")]
    NotFound {
        /// What was asked for (a tag, a digest).
        what: String,
    },
    /// The registry refused the credentials (or wants some).
    #[error("the registry refused the request")]
    Unauthorized,
    /// The registry could not be reached or broke the connection.
    #[error("registry connection failed")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The registry answered, but not as the distribution API says.
    #[error("registry protocol error")]
    Protocol(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Content does not match the digest or size that names it.
    #[error("{digest} ({size} bytes) arrived as {actual} ({actual_size} bytes)")]
    Corrupt {
        /// The digest asked for.
        digest: Digest,
        /// The size the descriptor gave (0 when unknown).
        size: u64,
        /// The digest of what arrived.
        actual: Digest,
        /// The bytes that arrived.
        actual_size: u64,
    },
    /// A manifest, index or config could not be parsed (or has no manifest for this platform).
    #[error("invalid image metadata")]
    Invalid(#[from] ParseError),
}

impl RegistryError {
    /// The image service's error for this failure while pulling `reference`.
    pub(crate) fn into_service(self, reference: &ImageReference) -> ServiceError {
        match self {
            RegistryError::NotFound { .. }
            | RegistryError::Invalid(ParseError::NoPlatform { .. }) => {
                ServiceError::ImageNotFound {
                    reference: reference.to_string(),
                }
            }
            RegistryError::Unauthorized => ServiceError::Unauthorized {
                registry: reference.registry().to_string(),
                reference: reference.to_string(),
            },
            RegistryError::Unreachable(source) => ServiceError::RegistryUnreachable {
                registry: reference.registry().to_string(),
                source,
            },
            other => ServiceError::Backend {
                call: Call::PullImage,
                source: Box::new(other),
            },
        }
    }
}

/// Manifest media types asked for.
const ACCEPT: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// One repository of a registry reached with `oci-client`.
pub(crate) struct OciRegistry {
    client: oci_client::Client,
    auth: OciAuth,
    registry: String,
    repository: String,
}

impl OciRegistry {
    /// A client for the repository of `reference`, over plain HTTP when `plain_http`.
    pub(crate) fn new(
        reference: &ImageReference,
        auth: Option<&RegistryAuth>,
        plain_http: bool,
    ) -> Self {
        static PROVIDER: Once = Once::new();
        PROVIDER.call_once(|| {
            // Fails only when a provider is installed already, which serves as well.
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let config = ClientConfig {
            protocol: if plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(30)),
            read_timeout: Some(Duration::from_secs(120)),
            ..Default::default()
        };
        Self {
            client: oci_client::Client::new(config),
            auth: oci_auth(auth),
            registry: reference.registry().to_string(),
            repository: reference.repository().to_string(),
        }
    }

    fn reference(&self, tag_or_digest: &str) -> oci_client::Reference {
        if Digest::parse(tag_or_digest).is_ok() {
            oci_client::Reference::with_digest(
                self.registry.clone(),
                self.repository.clone(),
                tag_or_digest.to_string(),
            )
        } else {
            oci_client::Reference::with_tag(
                self.registry.clone(),
                self.repository.clone(),
                tag_or_digest.to_string(),
            )
        }
    }
}

#[async_trait]
impl Registry for OciRegistry {
    async fn fetch_manifest(&self, reference: &str) -> Result<Vec<u8>, RegistryError> {
        let image = self.reference(reference);
        let (bytes, _digest) = self
            .client
            .pull_manifest_raw(&image, &self.auth, &ACCEPT)
            .await
            .map_err(|e| classify(e, reference))?;
        Ok(bytes.to_vec())
    }

    async fn fetch_blob(&self, blob: &Blob) -> Result<BlobStream, RegistryError> {
        let image = self.reference(&blob.digest.to_string());
        self.client
            .store_auth_if_needed(image.resolve_registry(), &self.auth)
            .await;
        let descriptor = OciDescriptor {
            media_type: blob.media_type.clone(),
            digest: blob.digest.to_string(),
            size: blob.size as i64,
            ..Default::default()
        };
        let what = blob.digest.to_string();
        let sized = self
            .client
            .pull_blob_stream(&image, &descriptor)
            .await
            .map_err(|e| classify(e, &what))?;
        Ok(sized
            .stream
            .map_ok(|bytes| bytes.to_vec())
            .map_err(stream_error)
            .boxed())
    }
}

/// The `oci-client` form of the credentials.
fn oci_auth(auth: Option<&RegistryAuth>) -> OciAuth {
    match auth {
        None => OciAuth::Anonymous,
        Some(RegistryAuth::Basic { username, password }) => {
            OciAuth::Basic(username.clone(), password.clone())
        }
        Some(RegistryAuth::Bearer { token }) => OciAuth::Bearer(token.clone()),
    }
}

/// Whether `registry` (`host[:port]`) is reached over plain HTTP: it is listed, or loopback.
pub(crate) fn plain_http(registry: &str, plain_http_registries: &[String]) -> bool {
    plain_http_registries.iter().any(|r| r == registry) || is_loopback(registry)
}

/// Whether the host of `host[:port]` is `localhost`, in 127.0.0.0/8 or `[::1]`.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(host, _)| host),
        None => registry.split_once(':').map_or(registry, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Sorts an `oci-client` failure into not found, unauthorized, unreachable or protocol.
fn classify(error: OciDistributionError, what: &str) -> RegistryError {
    let not_found = || RegistryError::NotFound {
        what: what.to_string(),
    };
    match error {
        OciDistributionError::RequestError(e) => RegistryError::Unreachable(Box::new(e)),
        OciDistributionError::IoError(e) => RegistryError::Unreachable(Box::new(e)),
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => RegistryError::Unauthorized,
        OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
        OciDistributionError::RegistryError { ref envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                not_found()
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                RegistryError::Unauthorized
            } else {
                RegistryError::Protocol(Box::new(error))
            }
        }
        OciDistributionError::ServerError { code, .. } => match code {
            404 => not_found(),
            401 | 403 => RegistryError::Unauthorized,
            500.. => RegistryError::Unreachable(Box::new(error)),
            _ => RegistryError::Protocol(Box::new(error)),
        },
        other => RegistryError::Protocol(Box::new(other)),
    }
}

/// A failure while a blob streams in: a digest failure of `oci-client`'s own check is a
/// protocol error, anything else a broken connection.
fn stream_error(error: std::io::Error) -> RegistryError {
    let digest_failure = error
        .get_ref()
        .is_some_and(|inner| inner.is::<oci_client::errors::DigestError>());
    if digest_failure {
        RegistryError::Protocol(Box::new(error))
    } else {
        RegistryError::Unreachable(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_use_plain_http() {
        let listed = vec!["registry.lan:5000".to_string()];
        for plain in [
            "127.0.0.1:5000",
            "127.3.4.5",
            "localhost:5000",
            "LOCALHOST",
            "[::1]:5000",
        ] {
            assert!(plain_http(plain, &[]), "{plain}");
        }
        assert!(plain_http("registry.lan:5000", &listed));
        for tls in [
            "registry.lan",
            "docker.io",
            "10.0.0.1:5000",
            "[::2]:5000",
            "localhost.example",
        ] {
            assert!(!plain_http(tls, &listed), "{tls}");
        }
    }

    #[test]
    fn credentials_map_to_oci_client_auth() {
        assert!(matches!(oci_auth(None), OciAuth::Anonymous));
        let basic = RegistryAuth::Basic {
            username: "u".into(),
            password: "p".into(),
        };
        assert!(matches!(oci_auth(Some(&basic)), OciAuth::Basic(u, p) if u == "u" && p == "p"));
        let bearer = RegistryAuth::Bearer { token: "t".into() };
        assert!(matches!(oci_auth(Some(&bearer)), OciAuth::Bearer(t) if t == "t"));
    }

    fn envelope(code: &str) -> OciDistributionError {
        let json = format!(r#"{{"errors":[{{"code":"{code}","message":"m"}}]}}"#);
        OciDistributionError::RegistryError {
            envelope: serde_json::from_str(&json).unwrap(),
            url: "http://r/v2/x/manifests/t".into(),
        }
    }

    #[test]
    fn registry_answers_are_sorted_by_what_the_caller_can_do() {
        assert!(matches!(
            classify(envelope("MANIFEST_UNKNOWN"), "t"),
            RegistryError::NotFound { .. }
        ));
        assert!(matches!(
            classify(envelope("NAME_UNKNOWN"), "t"),
            RegistryError::NotFound { .. }
        ));
        assert!(matches!(
            classify(envelope("UNAUTHORIZED"), "t"),
            RegistryError::Unauthorized
        ));
        assert!(matches!(
            classify(envelope("DENIED"), "t"),
            RegistryError::Unauthorized
        ));
        assert!(matches!(
            classify(envelope("UNSUPPORTED"), "t"),
            RegistryError::Protocol(_)
        ));
        let server = |code| OciDistributionError::ServerError {
            code,
            url: "u".into(),
            message: String::new(),
        };
        assert!(matches!(
            classify(server(404), "t"),
            RegistryError::NotFound { .. }
        ));
        assert!(matches!(
            classify(server(403), "t"),
            RegistryError::Unauthorized
        ));
        assert!(matches!(
            classify(server(503), "t"),
            RegistryError::Unreachable(_)
        ));
        assert!(matches!(
            classify(server(418), "t"),
            RegistryError::Protocol(_)
        ));
        let unauthorized = OciDistributionError::UnauthorizedError { url: "u".into() };
        assert!(matches!(
            classify(unauthorized, "t"),
            RegistryError::Unauthorized
        ));
        let io = OciDistributionError::IoError(std::io::ErrorKind::ConnectionReset.into());
        assert!(matches!(classify(io, "t"), RegistryError::Unreachable(_)));
    }

    #[test]
    fn registry_errors_become_the_image_services_errors() {
        let reference = ImageReference::parse("127.0.0.1:5000/app:1").unwrap();
        let not_found = RegistryError::NotFound { what: "1".into() }.into_service(&reference);
        assert!(
            matches!(not_found, ServiceError::ImageNotFound { ref reference } if reference == "127.0.0.1:5000/app:1")
        );
        let no_platform = RegistryError::Invalid(ParseError::NoPlatform {
            os: "linux".into(),
            architecture: "amd64".into(),
        });
        assert!(no_platform.into_service(&reference).is_not_found());
        assert!(matches!(
            RegistryError::Unauthorized.into_service(&reference),
            ServiceError::Unauthorized { ref registry, .. } if registry == "127.0.0.1:5000"
        ));
        let unreachable = RegistryError::Unreachable(Box::new(std::io::Error::other("refused")));
        assert!(unreachable.into_service(&reference).is_transient());
        let corrupt = RegistryError::Corrupt {
            digest: Digest::sha256_of(b"a"),
            size: 1,
            actual: Digest::sha256_of(b"b"),
            actual_size: 1,
        };
        assert!(matches!(
            corrupt.into_service(&reference),
            ServiceError::Backend {
                call: Call::PullImage,
                ..
            }
        ));
    }
}
