//! The write path: create, update, patch (all four types), delete, deletecollection and the
//! subresources (status, scale, binding, eviction), with dry runs and field validation.

use crate::api::ApiError;
use crate::store::Store;

use super::{ApiState, Reply, ResourceRequest, ServerSettings};

/// State of the write path shared by all requests.
pub struct WriteState {}

impl WriteState {
    /// Loads what the write path needs from the store (allocated ClusterIPs and NodePorts).
    pub async fn load(store: &dyn Store, settings: &ServerSettings) -> Result<Self, ApiError> {
        let _ = (store, settings);
        Ok(Self {})
    }
}

/// Creates the objects every cluster has from the start (namespaces `default`, `kube-system`,
/// `kube-public`, `kube-node-lease`, their `default` service accounts, the `kubernetes`
/// service and its endpoints). Idempotent.
pub async fn bootstrap(state: &ApiState) -> Result<(), ApiError> {
    let _ = state;
    Ok(())
}

/// Handles a write request (verbs create, update, patch, delete, deletecollection, on objects
/// and their subresources).
pub async fn handle(state: &ApiState, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let _ = state;
    Err(ApiError::MethodNotAllowed(format!(
        "{} is not supported yet",
        req.verb
    )))
}
