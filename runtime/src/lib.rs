//! Skiff's container runtime layer over containerd's native API. It will hold image pull and
//! import, OCI spec generation, pinned pod namespaces, tasks, logs and events behind CRI-shaped
//! `RuntimeService` and `ImageService` traits. Nothing is implemented yet.
