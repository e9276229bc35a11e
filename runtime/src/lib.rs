//! Skiff's container runtime layer over containerd's native API. So far: image references and
//! digests, OCI spec generation, pinned pod namespaces, and the CRI-shaped `RuntimeService` and
//! `ImageService` traits with recording fakes. Their containerd implementation (image pull and
//! import, tasks, logs, events) is still to come.

pub mod containerd;
pub mod logs;
pub mod reference;
pub mod sandbox;
pub mod service;
pub mod spec;
