//! Creating, loading and removing a pod's pins over any [`NamespaceOps`]: the order of steps,
//! undo on failure and keep-going teardown live here, testable with a fake.

use super::error::{Op, SandboxError, StepError};
use super::layout::{pin_path, pod_dir, validate_hostname, validate_pod_id};
use super::mountinfo::{self, MountEntry};
use super::ops::NamespaceOps;
use super::{BrokenPod, LoadReport, NsKind, PinnedNamespaces};
use std::io;
use std::path::{Path, PathBuf};

/// Bound on stacked mounts unmounted from one pin (a pin normally has exactly one).
const MAX_STACKED_MOUNTS: usize = 8;

/// Pins pod namespaces under one run dir through `O`.
#[derive(Debug, Clone)]
pub struct NamespacePinner<O> {
    run_dir: PathBuf,
    ops: O,
}

impl<O: NamespaceOps> NamespacePinner<O> {
    /// A pinner for `run_dir` (nothing is touched until a method is called).
    pub fn new(run_dir: impl Into<PathBuf>, ops: O) -> Self {
        Self {
            run_dir: run_dir.into(),
            ops,
        }
    }

    /// The operations this pinner runs (for inspecting a fake).
    pub fn ops(&self) -> &O {
        &self.ops
    }

    /// Makes the run dir a shared mount point and returns its canonical path.
    pub fn prepare_run_dir(&self) -> Result<PathBuf, SandboxError> {
        self.ops
            .prepare_run_dir(&self.run_dir)
            .map_err(|e| SandboxError::Step {
                pod: String::new(),
                source: StepError::new(Op::PrepareRunDir, &self.run_dir, e),
            })
    }

    /// Creates new net, ipc and uts namespaces for `pod_id`, sets `hostname` in the uts one and
    /// pins all three; on failure nothing of the pod is left behind.
    pub fn create(&self, pod_id: &str, hostname: &str) -> Result<PinnedNamespaces, SandboxError> {
        validate_pod_id(pod_id)?;
        validate_hostname(hostname)?;
        let run_dir = self.prepare_run_dir()?;
        let dir = pod_dir(&run_dir, pod_id);
        let step = |source| SandboxError::Step {
            pod: pod_id.to_string(),
            source,
        };
        match self.ops.create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(SandboxError::AlreadyExists {
                    pod: pod_id.to_string(),
                    path: dir,
                })
            }
            Err(e) => return Err(step(StepError::new(Op::CreateDir, &dir, e))),
        }
        let pins: Vec<(NsKind, PathBuf)> = NsKind::ALL
            .iter()
            .map(|&kind| (kind, pin_path(&run_dir, pod_id, kind)))
            .collect();
        let result = pins
            .iter()
            .try_for_each(|(_, path)| {
                self.ops
                    .create_file(path)
                    .map_err(|e| StepError::new(Op::CreateFile, path, e))
            })
            .and_then(|()| {
                self.ops
                    .pin_new_namespaces(hostname, &pins)
                    .map_err(|failure| failure.error)
            });
        if let Err(source) = result {
            return Err(self.undo(pod_id, &dir, step(source)));
        }
        tracing::info!(pod = pod_id, dir = %dir.display(), hostname, "pinned pod namespaces");
        Ok(PinnedNamespaces::at(&run_dir, pod_id))
    }

    /// Tears down whatever a failed create left and returns the error to report.
    fn undo(&self, pod_id: &str, dir: &Path, cause: SandboxError) -> SandboxError {
        let undo = self.teardown(dir);
        if undo.is_empty() {
            tracing::warn!(pod = pod_id, error = %cause, "creating pod namespaces failed; undone");
            return cause;
        }
        let err = SandboxError::UndoFailed {
            cause: Box::new(cause),
            undo,
        };
        tracing::error!(pod = pod_id, error = %err, "creating pod namespaces failed and left pieces behind; remove them by hand");
        err
    }

    /// Unmounts and deletes the pod's pins and directory. Missing pieces are fine; every
    /// failure is reported after all steps ran.
    pub fn remove(&self, pod_id: &str) -> Result<(), SandboxError> {
        validate_pod_id(pod_id)?;
        let dir = pod_dir(&self.run_dir, pod_id);
        let errors = self.teardown(&dir);
        if errors.is_empty() {
            tracing::info!(pod = pod_id, dir = %dir.display(), "removed pod namespaces");
            return Ok(());
        }
        let err = SandboxError::Teardown {
            pod: pod_id.to_string(),
            errors,
        };
        tracing::warn!(pod = pod_id, error = %err, "removing pod namespaces failed; retry removal");
        Err(err)
    }

    fn teardown(&self, dir: &Path) -> Vec<StepError> {
        let mut errors = Vec::new();
        for kind in NsKind::ALL {
            let pin = dir.join(kind.name());
            if let Err(e) = self.unmount_all(&pin) {
                errors.push(e);
            }
            match self.ops.remove_file(&pin) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    errors.push(StepError::new(Op::RemoveFile, &pin, e))
                }
                _ => {}
            }
        }
        match self.ops.remove_dir(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                errors.push(StepError::new(Op::RemoveDir, dir, e))
            }
            _ => {}
        }
        errors
    }

    fn unmount_all(&self, pin: &Path) -> Result<(), StepError> {
        for _ in 0..MAX_STACKED_MOUNTS {
            match self.ops.unmount(pin) {
                Ok(true) => continue,
                Ok(false) => return Ok(()),
                Err(e) => return Err(StepError::new(Op::Unmount, pin, e)),
            }
        }
        Err(StepError::new(
            Op::Unmount,
            pin,
            io::Error::other(format!("still mounted after {MAX_STACKED_MOUNTS} unmounts")),
        ))
    }

    /// Finds the existing pins of one pod (after a restart); each must be an nsfs mount.
    pub fn load(&self, pod_id: &str) -> Result<PinnedNamespaces, SandboxError> {
        validate_pod_id(pod_id)?;
        let missing_all = |run_dir: &Path| SandboxError::NotPinned {
            pod: pod_id.to_string(),
            kind: NsKind::Net,
            path: pin_path(run_dir, pod_id, NsKind::Net),
        };
        let Some(run_dir) = self.canonical_run_dir(pod_id)? else {
            return Err(missing_all(&self.run_dir));
        };
        let entries = self.mount_entries(pod_id)?;
        match missing_pins(&entries, &run_dir, pod_id).first() {
            Some(&kind) => Err(SandboxError::NotPinned {
                pod: pod_id.to_string(),
                kind,
                path: pin_path(&run_dir, pod_id, kind),
            }),
            None => Ok(PinnedNamespaces::at(&run_dir, pod_id)),
        }
    }

    /// Lists every pod directory under the run dir, split into fully pinned pods and pods
    /// with missing pins (which the caller should remove). A missing run dir is empty.
    pub fn load_all(&self) -> Result<LoadReport, SandboxError> {
        let mut report = LoadReport::default();
        let Some(run_dir) = self.canonical_run_dir("")? else {
            return Ok(report);
        };
        let mut pods = self
            .ops
            .list_subdirs(&run_dir)
            .map_err(|e| SandboxError::Step {
                pod: String::new(),
                source: StepError::new(Op::ListRunDir, &run_dir, e),
            })?;
        pods.retain(|p| validate_pod_id(p).is_ok());
        pods.sort();
        let entries = self.mount_entries("")?;
        for pod_id in pods {
            let missing = missing_pins(&entries, &run_dir, &pod_id);
            if missing.is_empty() {
                report.pinned.push(PinnedNamespaces::at(&run_dir, &pod_id));
            } else {
                report.broken.push(BrokenPod { pod_id, missing });
            }
        }
        Ok(report)
    }

    fn canonical_run_dir(&self, pod_id: &str) -> Result<Option<PathBuf>, SandboxError> {
        match self.ops.canonicalize(&self.run_dir) {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SandboxError::Step {
                pod: pod_id.to_string(),
                source: StepError::new(Op::ListRunDir, &self.run_dir, e),
            }),
        }
    }

    fn mount_entries(&self, pod_id: &str) -> Result<Vec<MountEntry>, SandboxError> {
        let text = self.ops.mount_table().map_err(|e| SandboxError::Step {
            pod: pod_id.to_string(),
            source: StepError::new(Op::ReadMountTable, "/proc/self/mountinfo", e),
        })?;
        Ok(mountinfo::parse(&text))
    }
}

fn missing_pins(entries: &[MountEntry], run_dir: &Path, pod_id: &str) -> Vec<NsKind> {
    NsKind::ALL
        .into_iter()
        .filter(|&kind| !mountinfo::is_nsfs_mount(entries, &pin_path(run_dir, pod_id, kind)))
        .collect()
}
