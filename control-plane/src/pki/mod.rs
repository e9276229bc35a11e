//! The control plane's PKI: a CA, the serving certificate and the admin kubeconfig, created on
//! first start and reused afterwards.
