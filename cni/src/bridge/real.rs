//! The real kernel: rtnetlink sockets opened in the host namespace and, on a thread that
//! entered it, in the container's.

use super::kernel::NetOps;
use super::namespaces::{net_error, Namespaces, NsWork};
use crate::error::CniError;
use crate::netlink::Netlink;
use std::fs::File;
use std::path::Path;

/// [`Namespaces`] over [`Netlink`] and `setns(2)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelNamespaces;

impl Namespaces for KernelNamespaces {
    fn host(&self) -> Result<Box<dyn NetOps>, CniError> {
        Ok(Box::new(Netlink::open().map_err(net_error)?))
    }

    fn open(&self, path: &Path) -> Result<File, CniError> {
        crate::netns::open(path)
    }

    fn run_in(&self, ns: &File, work: &mut NsWork<'_>) -> Result<(), CniError> {
        crate::netns::run_in(ns, || {
            let mut netlink = Netlink::open().map_err(net_error)?;
            work(&mut netlink)
        })
    }
}

impl super::Bridge {
    /// The plugin as installed: netlink, nftables (loaded on first use) and the IPAM binary
    /// found on `CNI_PATH`.
    pub fn real() -> Self {
        Self::new(
            Box::new(KernelNamespaces),
            Box::new(crate::nft::Nftables::new()),
            Box::new(super::ExecIpam),
        )
    }
}
