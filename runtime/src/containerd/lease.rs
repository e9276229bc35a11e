//! containerd leases: what a pull or import writes stays alive until the image record (with
//! its GC labels) holds it, and a crash mid-way leaves a lease that expires on its own.

use std::time::Duration;

use crate::service::{Call, ServiceError};

use super::Connection;

/// A lease held while an image is written; release it once the image record exists.
#[derive(Debug)]
pub(crate) struct Lease {
    id: String,
}

impl Lease {
    /// Creates a lease that containerd's GC drops by itself after `expire`.
    pub(crate) async fn create(
        conn: &Connection,
        call: Call,
        purpose: &str,
        expire: Duration,
    ) -> Result<Lease, ServiceError> {
        let _ = (conn, call, purpose, expire);
        unimplemented!("Lease::create")
    }

    /// The lease id (the `containerd-lease` header of leased requests).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Deletes the lease, synchronously collecting what nothing else references.
    pub(crate) async fn release(self, conn: &Connection, call: Call) -> Result<(), ServiceError> {
        let _ = (conn, call);
        unimplemented!("Lease::release")
    }
}
