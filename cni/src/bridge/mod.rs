//! The bridge plugin: configuration, the pure plan step, and applying the plan over netlink and nftables.

pub mod apply;
mod check;
pub mod config;
pub mod fake;
pub mod ipam;
pub mod kernel;
pub mod names;
pub mod namespaces;
pub mod plan;
pub mod plugin;
pub mod real;
mod teardown;

pub use config::Config;
pub use ipam::{ExecIpam, Ipam};
pub use namespaces::Namespaces;
pub use plan::{plan, Plan};
pub use plugin::Bridge;
pub use real::KernelNamespaces;
