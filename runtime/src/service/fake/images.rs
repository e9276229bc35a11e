//! [`FakeImages`]: an in-memory image store with a scripted registry and tarballs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{RecordedCall, Script};
use crate::reference::{Digest, ImageReference};
use crate::service::{
    ArchiveFormat, Call, ImageConfig, ImageInfo, ImageService, RegistryAuth, ServiceError,
};

#[derive(Debug, Default)]
struct ImagesState {
    local: BTreeMap<ImageReference, ImageInfo>,
    registry: BTreeMap<ImageReference, ImageInfo>,
    credentials: BTreeMap<String, RegistryAuth>,
    archives: BTreeMap<PathBuf, Vec<ImageInfo>>,
    script: Script,
}

/// A recording fake [`ImageService`]: pulls come from a scripted registry, imports from
/// scripted tarballs. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct FakeImages {
    state: Arc<Mutex<ImagesState>>,
}

/// The entry stored under `reference`, or for a digest reference any entry with that digest
/// in the same repository.
fn find<'a>(
    images: &'a BTreeMap<ImageReference, ImageInfo>,
    reference: &ImageReference,
) -> Option<&'a ImageInfo> {
    images.get(reference).or_else(|| {
        let digest = reference.digest()?;
        images
            .values()
            .find(|i| i.digest == *digest && i.reference.name() == reference.name())
    })
}

impl FakeImages {
    /// An empty store with an empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A plausible image for `reference` (panics on an invalid one): digest derived from
    /// the reference, `sh` as cmd.
    pub fn sample(reference: &str) -> ImageInfo {
        let reference = ImageReference::parse(reference).expect("valid image reference");
        ImageInfo {
            digest: Digest::sha256_of(reference.to_string().as_bytes()),
            reference,
            size: 4096,
            config: ImageConfig {
                cmd: vec!["sh".into()],
                env: vec![("PATH".into(), "/usr/bin:/bin".into())],
                ..ImageConfig::default()
            },
        }
    }

    fn lock(&self) -> MutexGuard<'_, ImagesState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `image` pullable under its reference.
    pub fn add_to_registry(&self, image: ImageInfo) {
        self.lock().registry.insert(image.reference.clone(), image);
    }

    /// Makes pulls from `registry` (a host such as `docker.io`) require exactly `auth`.
    pub fn require_auth(&self, registry: &str, auth: RegistryAuth) {
        self.lock().credentials.insert(registry.to_owned(), auth);
    }

    /// Makes `import` of `tarball` yield `images`.
    pub fn add_archive(&self, tarball: impl Into<PathBuf>, images: Vec<ImageInfo>) {
        self.lock().archives.insert(tarball.into(), images);
    }

    /// Stores `image` locally as if it had been pulled.
    pub fn insert(&self, image: ImageInfo) {
        self.lock().local.insert(image.reference.clone(), image);
    }

    /// Whether an image is stored locally under `reference` (not recorded as a call).
    pub fn contains(&self, reference: &ImageReference) -> bool {
        find(&self.lock().local, reference).is_some()
    }

    /// Makes the next call of kind `call` fail with `error`, leaving state unchanged.
    pub fn fail_next(&self, call: Call, error: ServiceError) {
        self.lock().script.fail_next(call, error);
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.lock().script.calls.clone()
    }
}

#[async_trait]
impl ImageService for FakeImages {
    async fn pull(
        &self,
        reference: &ImageReference,
        auth: Option<&RegistryAuth>,
    ) -> Result<ImageInfo, ServiceError> {
        let mut state = self.lock();
        state.script.record(RecordedCall::PullImage {
            reference: reference.clone(),
            auth: auth.cloned(),
        })?;
        let registry = reference.registry().to_owned();
        if let Some(required) = state.credentials.get(&registry) {
            if auth != Some(required) {
                return Err(ServiceError::Unauthorized {
                    registry,
                    reference: reference.to_string(),
                });
            }
        }
        let mut image = find(&state.registry, reference).cloned().ok_or_else(|| {
            ServiceError::ImageNotFound {
                reference: reference.to_string(),
            }
        })?;
        image.reference = reference.clone();
        state.local.insert(reference.clone(), image.clone());
        Ok(image)
    }

    async fn import(
        &self,
        tarball: &Path,
        format: ArchiveFormat,
    ) -> Result<Vec<ImageInfo>, ServiceError> {
        let mut state = self.lock();
        state.script.record(RecordedCall::ImportImages {
            tarball: tarball.to_path_buf(),
            format,
        })?;
        let images = state
            .archives
            .get(tarball)
            .cloned()
            .ok_or_else(|| ServiceError::Backend {
                call: Call::ImportImages,
                source: Box::new(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no tarball at {}", tarball.display()),
                )),
            })?;
        for image in &images {
            state.local.insert(image.reference.clone(), image.clone());
        }
        Ok(images)
    }

    async fn list(&self) -> Result<Vec<ImageInfo>, ServiceError> {
        let mut state = self.lock();
        state.script.record(RecordedCall::ListImages)?;
        Ok(state.local.values().cloned().collect())
    }

    async fn status(&self, reference: &ImageReference) -> Result<Option<ImageInfo>, ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::ImageStatus(reference.clone()))?;
        Ok(find(&state.local, reference).cloned())
    }

    async fn remove(&self, reference: &ImageReference) -> Result<(), ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::RemoveImage(reference.clone()))?;
        let key = find(&state.local, reference).map(|i| i.reference.clone());
        if let Some(key) = key {
            state.local.remove(&key);
        }
        Ok(())
    }
}
