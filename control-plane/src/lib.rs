//! Skiff's control plane: a Kubernetes-compatible API server over a [`store::Store`] (embedded
//! durable store by default), its PKI and authentication, and the API machinery it needs.

pub mod api;
pub mod apply;
pub mod auth;
pub mod discovery;
pub mod hostinfo;
pub mod kinds;
pub mod openapi;
pub mod patch;
pub mod pki;
pub mod printers;
pub mod registry;
pub mod server;
pub mod store;
pub mod wire;
