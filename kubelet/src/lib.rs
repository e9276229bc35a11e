//! Skiff's node agent. It will hold node registration and heartbeats, one pod worker per pod
//! reconciling the API's desired state against containerd, cgroups, probes, volumes, logs and
//! status, and re-adoption of running containers after a restart. Nothing is implemented yet.
