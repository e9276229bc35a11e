//! Skiff's container runtime layer over containerd's native API: image references, OCI spec
//! generation and pinned pod namespaces so far; image pull and import, tasks, logs and events
//! behind CRI-shaped `RuntimeService` and `ImageService` traits are still to come.

pub mod reference;
pub mod sandbox;
pub mod service;
pub mod spec;
