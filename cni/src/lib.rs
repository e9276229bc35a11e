//! Skiff's CNI: the `skiff-bridge` plugin, the host-local-compatible `skiff-host-local` IPAM
//! plugin, and the runtime-side library that loads network configurations and runs plugin
//! chains for the kubelet.
//!
//! The protocol layer (`error`, `version`, `invocation`, `types`, `conf`, `skel`, `delegate`)
//! is shared by both plugins and the runtime library.

pub mod bridge;
pub mod conf;
pub mod delegate;
pub mod error;
pub mod invocation;
pub mod ipam;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod runtime;
pub mod skel;
pub mod types;
pub mod version;

pub use error::{CniError, Code};
pub use types::CniResult;
pub use version::Version;
