//! Where the kernel work happens: [`NetOps`] in the host namespace and inside a container's
//! namespace (on a thread that entered it).

use super::kernel::{NetError, NetOps};
use crate::error::{CniError, Code};
use std::fs::File;
use std::path::Path;

/// Work to run with the [`NetOps`] of a container namespace.
pub type NsWork<'a> = dyn FnMut(&mut dyn NetOps) -> Result<(), CniError> + Send + 'a;

/// Opens [`NetOps`] in the host namespace and in container namespaces.
pub trait Namespaces: Send + Sync {
    /// Netlink in the calling thread's (host) namespace.
    fn host(&self) -> Result<Box<dyn NetOps>, CniError>;
    /// Opens a container namespace file; a missing one is CNI error 3.
    fn open(&self, path: &Path) -> Result<File, CniError>;
    /// Runs `work` with netlink opened inside the namespace `ns`.
    fn run_in(&self, ns: &File, work: &mut NsWork<'_>) -> Result<(), CniError>;
}

/// Maps a kernel error onto a CNI error: sysctls are I/O (5), the rest netlink (101).
pub fn net_error(e: NetError) -> CniError {
    let code = match e {
        NetError::Sysctl { .. } => Code::Io,
        _ => Code::Netlink,
    };
    CniError::new(code, e.to_string())
}
