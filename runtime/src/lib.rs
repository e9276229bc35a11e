//! Skiff's container runtime layer over containerd's native API: image references and digests,
//! OCI spec generation, pinned pod namespaces, the CRI-shaped `RuntimeService` and
//! `ImageService` traits with recording fakes, their containerd implementation (pull and
//! import, sandboxes, containers in one shim per pod, exec, events) and the CRI log format
//! with the `binary://` log driver that writes it.

pub mod containerd;
pub mod logs;
pub mod reference;
pub mod sandbox;
pub mod service;
pub mod spec;
