//! The harness for Skiff's privileged test tiers: a guard that fails loudly naming what is
//! missing, throwaway network namespaces, and running a test body inside one on its own thread.

pub mod apiserver;
pub mod cni;
pub mod containerd;
pub mod guard;
pub mod images;
pub mod kube_client;
pub mod netns;
pub mod process;
pub mod proxy_bench;
pub mod proxy_topology;
pub mod runtime;
pub mod traffic;
pub mod vm;

pub use guard::require;
pub use netns::Netns;
