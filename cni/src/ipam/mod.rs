//! host-local-compatible IPAM: configuration, the allocator over an `IpamStore`, the on-disk store in host-local's format, and the plugin.

pub mod allocator;
pub mod config;
pub mod disk;
pub mod plugin;
pub mod range;
pub mod resolv;
pub mod store;

pub use allocator::{AllocError, Allocator, Lease};
pub use config::{ConfigError, IpamConfig};
pub use disk::DiskStore;
pub use plugin::HostLocal;
pub use range::{Range, RangeSet};
pub use store::{Holder, IpamStore, MemStore, StoreError};
