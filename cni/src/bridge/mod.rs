//! The bridge plugin: configuration, the pure plan step, and applying the plan over netlink and nftables.

pub mod kernel;
