//! The seam between pinning logic and the kernel: [`NamespaceOps`] and its host implementation.

use super::error::{Op, StepError};
use super::NsKind;
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Creating new namespaces stopped part-way; `pinned` lists the pins already mounted.
#[derive(Debug)]
pub struct PinFailure {
    /// Pins mounted before the failure (create's undo unmounts every pin of the pod anyway).
    pub pinned: Vec<PathBuf>,
    /// What failed.
    pub error: StepError,
}

/// The kernel and filesystem operations pinning needs.
pub trait NamespaceOps {
    /// Creates `dir` with its parents, makes it a shared-propagation mount point and returns
    /// its canonical path.
    fn prepare_run_dir(&self, dir: &Path) -> io::Result<PathBuf>;
    /// The canonical path of an existing path (`NotFound` when missing).
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// Creates one directory; `AlreadyExists` when it is there.
    fn create_dir(&self, dir: &Path) -> io::Result<()>;
    /// Creates an empty file; `AlreadyExists` when it is there.
    fn create_file(&self, path: &Path) -> io::Result<()>;
    /// Creates new namespaces of every kind in `pins` off the calling thread, sets the
    /// hostname in the new uts namespace and bind-mounts each namespace onto its pin file.
    fn pin_new_namespaces(
        &self,
        hostname: &str,
        pins: &[(NsKind, PathBuf)],
    ) -> Result<(), PinFailure>;
    /// Detaches the topmost mount on `path`; `Ok(false)` when nothing is mounted there or the
    /// path is missing.
    fn unmount(&self, path: &Path) -> io::Result<bool>;
    /// Deletes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Deletes an empty directory.
    fn remove_dir(&self, dir: &Path) -> io::Result<()>;
    /// Names of the subdirectories of `dir`.
    fn list_subdirs(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// The text of `/proc/self/mountinfo`.
    fn mount_table(&self) -> io::Result<String>;
}

/// The real kernel: `unshare(2)` on a dedicated thread, bind mounts, `umount2(MNT_DETACH)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostNamespaceOps;

/// Serialises run dir setup within the process so two creates never stack two self-binds.
static RUN_DIR_SETUP: Mutex<()> = Mutex::new(());

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn make_shared(dir: &Path) -> nix::Result<()> {
    nix::mount::mount(
        None::<&str>,
        dir,
        None::<&str>,
        MsFlags::MS_SHARED | MsFlags::MS_REC,
        None::<&str>,
    )
}

impl NamespaceOps for HostNamespaceOps {
    fn prepare_run_dir(&self, dir: &Path) -> io::Result<PathBuf> {
        let _guard = RUN_DIR_SETUP.lock().unwrap_or_else(|p| p.into_inner());
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
        let dir = std::fs::canonicalize(dir)?;
        // As CNI's netns helpers do: making a non-mount-point shared fails with EINVAL, so
        // bind the directory onto itself first.
        match make_shared(&dir) {
            Ok(()) => {}
            Err(Errno::EINVAL) => {
                nix::mount::mount(
                    Some(&dir),
                    &dir,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(io_err)?;
                make_shared(&dir).map_err(io_err)?;
            }
            Err(e) => return Err(io_err(e)),
        }
        Ok(dir)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::DirBuilder::new().mode(0o755).create(dir)
    }

    fn create_file(&self, path: &Path) -> io::Result<()> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(path)
            .map(drop)
    }

    fn pin_new_namespaces(
        &self,
        hostname: &str,
        pins: &[(NsKind, PathBuf)],
    ) -> Result<(), PinFailure> {
        let spawned = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("skiff-pod-ns".into())
                .spawn_scoped(s, || pin_on_this_thread(hostname, pins))
                .map(|handle| handle.join())
        });
        match spawned {
            Ok(Ok(result)) => result,
            Ok(Err(_panic)) => Err(PinFailure {
                pinned: Vec::new(),
                error: StepError::new(
                    Op::SpawnThread,
                    "/proc/thread-self",
                    io::Error::other("namespace thread panicked"),
                ),
            }),
            Err(e) => Err(PinFailure {
                pinned: Vec::new(),
                error: StepError::new(Op::SpawnThread, "/proc/thread-self", e),
            }),
        }
    }

    fn unmount(&self, path: &Path) -> io::Result<bool> {
        match nix::mount::umount2(path, MntFlags::MNT_DETACH) {
            Ok(()) => Ok(true),
            Err(Errno::EINVAL | Errno::ENOENT) => Ok(false),
            Err(e) => Err(io_err(e)),
        }
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::remove_dir(dir)
    }

    fn list_subdirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                if let Ok(name) = entry.file_name().into_string() {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    fn mount_table(&self) -> io::Result<String> {
        std::fs::read_to_string("/proc/self/mountinfo")
    }
}

/// Runs on a thread that exits afterwards, so the caller's namespaces never change. The
/// process's mount namespace is shared by all its threads, so the bind mounts made here are
/// the process's.
fn pin_on_this_thread(hostname: &str, pins: &[(NsKind, PathBuf)]) -> Result<(), PinFailure> {
    let fail = |pinned: &[PathBuf], op, path: &Path, e: io::Error| PinFailure {
        pinned: pinned.to_vec(),
        error: StepError::new(op, path, e),
    };
    let ns_dir = PathBuf::from(format!(
        "/proc/{}/task/{}/ns",
        std::process::id(),
        nix::unistd::gettid()
    ));
    let flags = pins
        .iter()
        .fold(CloneFlags::empty(), |f, (kind, _)| f | kind.clone_flag());
    nix::sched::unshare(flags).map_err(|e| fail(&[], Op::Unshare, &ns_dir, io_err(e)))?;
    if pins.iter().any(|(kind, _)| *kind == NsKind::Uts) {
        set_hostname(hostname).map_err(|e| fail(&[], Op::SetHostname, &ns_dir.join("uts"), e))?;
    }
    let mut pinned = Vec::with_capacity(pins.len());
    for (kind, target) in pins {
        let source = ns_dir.join(kind.name());
        nix::mount::mount(
            Some(&source),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| fail(&pinned, Op::BindMount, target, io_err(e)))?;
        pinned.push(target.clone());
    }
    Ok(())
}

fn set_hostname(hostname: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live byte slice; the kernel copies it.
    let rc = unsafe { libc::sethostname(hostname.as_ptr().cast(), hostname.len()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
