//! Skiff's control plane. It will hold the Kubernetes-compatible API server, its store backends
//! (embedded and etcd), the scheduler and the controllers. Nothing is implemented yet.
