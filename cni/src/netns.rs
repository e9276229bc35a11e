//! Running code inside another network namespace. Namespace membership is per thread, so the
//! work runs on a dedicated thread that enters the namespace and exits afterwards; netlink
//! sockets opened there belong to that namespace.

use crate::error::{CniError, Code};
use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

/// Opens a network namespace file (`/run/netns/x`, `/proc/<pid>/ns/net`). A missing file is
/// CNI error 3 (the container is unknown).
pub fn open(path: &Path) -> Result<File, CniError> {
    File::open(path).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            Code::UnknownContainer
        } else {
            Code::Io
        };
        CniError::new(
            code,
            format!("cannot open network namespace {}", path.display()),
        )
        .details(e)
    })
}

/// Runs `f` on a new thread inside the namespace `ns` and returns its value.
pub fn run_in<T, F>(ns: &File, f: F) -> Result<T, CniError>
where
    T: Send,
    F: FnOnce() -> Result<T, CniError> + Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                CniError::new(Code::Io, "cannot enter network namespace").details(e)
            })?;
            f()
        })
        .join()
        .unwrap_or_else(|_| {
            Err(CniError::new(
                Code::Io,
                "thread inside network namespace panicked",
            ))
        })
    })
}

/// Runs `f` on a new thread inside the namespace at `path`.
pub fn run_in_path<T, F>(path: &Path, f: F) -> Result<T, CniError>
where
    T: Send,
    F: FnOnce() -> Result<T, CniError> + Send,
{
    let ns = open(path)?;
    run_in(&ns, f)
}
