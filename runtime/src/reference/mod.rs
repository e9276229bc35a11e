//! Image references (`busybox`, `127.0.0.1:5000/app:1.0`, `name@sha256:…`) parsed and
//! normalised the way docker and containerd do (`distribution/reference`'s
//! `ParseNormalizedNamed` followed by `TagNameOnly`), and the content [`Digest`] type.

mod digest;
mod grammar;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use digest::{Digest, DigestAlgorithm, DigestError, DigestVerifier};
pub use grammar::{NAME_TOTAL_LENGTH_MAX, TAG_LENGTH_MAX};

/// Registry that familiar names such as `busybox` or `user/app` live on.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// Old name of Docker Hub, rewritten to [`DEFAULT_DOMAIN`].
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Host that serves the registry API for [`DEFAULT_DOMAIN`].
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// Namespace of Docker Hub's official images.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// Tag given to a reference that has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// Why a string is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The reference is the empty string.
    #[error("image reference is empty")]
    Empty,
    /// The reference is a bare 64-hex image ID, which is ambiguous as a name.
    #[error("image reference {reference:?} is a 64-character hex ID, not a repository name")]
    HexIdentifier {
        /// The rejected input.
        reference: String,
    },
    /// Nothing names the repository (`example.com/`, `:tag`, `@sha256:…`).
    #[error("image reference {reference:?} names no repository")]
    MissingRepository {
        /// The rejected input.
        reference: String,
    },
    /// The repository path has uppercase letters.
    #[error("repository name {repository:?} must be lowercase")]
    UppercaseRepository {
        /// The repository path as given.
        repository: String,
    },
    /// The registry part is not `host[:port]`.
    #[error("registry {domain:?} is not a valid host[:port]")]
    InvalidDomain {
        /// The registry part as given.
        domain: String,
    },
    /// A `/`-separated part of the repository path breaks the name grammar.
    #[error(
        "repository path component {component:?} of {repository:?} must be lowercase letters \
         and digits joined by '.', '_', '__' or dashes"
    )]
    InvalidPathComponent {
        /// The repository path as given.
        repository: String,
        /// The offending component (empty for `a//b` or a trailing `/`).
        component: String,
    },
    /// Registry plus repository path is longer than [`NAME_TOTAL_LENGTH_MAX`].
    #[error(
        "repository name {name:?} is {length} characters long, more than {NAME_TOTAL_LENGTH_MAX}"
    )]
    NameTooLong {
        /// The normalised name (registry/repository).
        name: String,
        /// Its length in bytes.
        length: usize,
    },
    /// The tag breaks the tag grammar.
    #[error(
        "tag {tag:?} must be 1 to {TAG_LENGTH_MAX} letters, digits, '_', '.' or '-', \
         not starting with '.' or '-'"
    )]
    InvalidTag {
        /// The tag as given.
        tag: String,
    },
    /// The part after `@` is not a valid digest.
    #[error("image reference {reference:?} has an invalid digest")]
    InvalidDigest {
        /// The rejected input.
        reference: String,
        /// What is wrong with the digest.
        #[source]
        source: DigestError,
    },
}

/// A normalised image reference: registry, repository path, and a tag, a digest or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageReference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageReference {
    /// Parses and normalises a reference; a name without tag or digest gets `latest`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if grammar::is_hex_identifier(input) {
            return Err(ReferenceError::HexIdentifier {
                reference: input.to_owned(),
            });
        }
        let (domain, remainder) = split_docker_domain(input);
        // Path components hold neither ':' nor '@' and tags hold no '@', so the first '@'
        // starts the digest and the first ':' before it starts the tag.
        let (name, digest) = match remainder.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (remainder, None),
        };
        let (path, tag) = match name.split_once(':') {
            Some((path, tag)) => (path, Some(tag)),
            None => (name, None),
        };
        if path.is_empty() {
            return Err(ReferenceError::MissingRepository {
                reference: input.to_owned(),
            });
        }
        // Docker Hub's single-component names are its official images.
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_REPO_PREFIX}{path}")
        } else {
            path.to_owned()
        };
        validate_name(domain, &path)?;
        if let Some(tag) = tag.filter(|tag| !grammar::is_valid_tag(tag)) {
            return Err(ReferenceError::InvalidTag {
                tag: tag.to_owned(),
            });
        }
        let digest = digest.map(Digest::parse).transpose().map_err(|source| {
            ReferenceError::InvalidDigest {
                reference: input.to_owned(),
                source,
            }
        })?;
        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_owned()),
            (tag, _) => tag.map(str::to_owned),
        };
        Ok(Self {
            domain: domain.to_owned(),
            path,
            tag,
            digest,
        })
    }

    /// The registry (domain) with any port, e.g. `docker.io` or `127.0.0.1:5000`.
    pub fn registry(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry, e.g. `library/busybox`.
    pub fn repository(&self) -> &str {
        &self.path
    }

    /// Registry and repository path, e.g. `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The tag, if any (`latest` when the input had neither tag nor digest).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the input pinned one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The host to send registry API requests to: `registry-1.docker.io` for Docker Hub.
    pub fn api_host(&self) -> &str {
        if self.domain == DEFAULT_DOMAIN {
            DOCKER_HUB_API_HOST
        } else {
            &self.domain
        }
    }

    /// The name as docker shows it: Docker Hub's domain and `library/` left out.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(official) if !official.contains('/') => official.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The short form docker shows, e.g. `busybox:latest` or `user/app@sha256:…`.
    pub fn familiar(&self) -> String {
        let mut out = self.familiar_name();
        self.push_suffix(&mut out);
        out
    }

    /// What to ask the registry's manifest endpoint for: the digest if pinned, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => DEFAULT_TAG.to_owned(),
        }
    }

    /// The form containerd stores (`ParseDockerRef`): with both tag and digest, the tag is dropped.
    pub fn canonical(&self) -> Self {
        match &self.digest {
            Some(digest) => self.with_digest(digest.clone()),
            None => self.clone(),
        }
    }

    /// `name@digest` for this repository, e.g. the repo digest of a pulled image.
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

/// Splits off the registry as docker does: the first `/`-separated part is a registry only when
/// it is `localhost`, or has a `.` or `:`, or has an uppercase letter.
fn split_docker_domain(input: &str) -> (&str, &str) {
    match input.split_once('/') {
        None => (DEFAULT_DOMAIN, input),
        Some((LEGACY_DEFAULT_DOMAIN, rest)) => (DEFAULT_DOMAIN, rest),
        Some((first, rest))
            if first == "localhost"
                || first.contains(['.', ':'])
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        Some(_) => (DEFAULT_DOMAIN, input),
    }
}

fn validate_name(domain: &str, path: &str) -> Result<(), ReferenceError> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::UppercaseRepository {
            repository: path.to_owned(),
        });
    }
    if !grammar::is_valid_domain(domain) {
        return Err(ReferenceError::InvalidDomain {
            domain: domain.to_owned(),
        });
    }
    if let Some(component) = path
        .split('/')
        .find(|component| !grammar::is_valid_path_component(component))
    {
        return Err(ReferenceError::InvalidPathComponent {
            repository: path.to_owned(),
            component: component.to_owned(),
        });
    }
    let length = domain.len() + 1 + path.len();
    if length > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong {
            name: format!("{domain}/{path}"),
            length,
        });
    }
    Ok(())
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_suffix(&mut out);
        f.write_str(&out)
    }
}

impl FromStr for ImageReference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for ImageReference {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ImageReference {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
