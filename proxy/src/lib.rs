//! Skiff's service proxy: what kube-proxy does, without flushing.
//!
//! Services and EndpointSlices (watched through kube-rs) become a pure [`model::ServiceModel`];
//! a [`dataplane::Dataplane`] (IPVS over generic netlink with masquerade in nftables, or
//! nftables alone) computes the state the kernel should have and applies only the difference.

pub mod config;
pub mod dataplane;
pub mod ipvs;
pub mod model;
pub mod nft;
pub mod server;
pub mod sync;
pub mod watch;
