//! containerd's gRPC statuses as [`ServiceError`]s.

use tonic::Code;

use crate::service::{Call, ServiceError};

/// Wraps a gRPC status from containerd as the backend failure of `call`.
pub(crate) fn backend(call: Call, status: tonic::Status) -> ServiceError {
    ServiceError::Backend {
        call,
        source: Box::new(status),
    }
}

/// Whether containerd said the object does not exist.
pub(crate) fn is_not_found(status: &tonic::Status) -> bool {
    status.code() == Code::NotFound
}

/// Whether containerd said the object already exists.
pub(crate) fn is_already_exists(status: &tonic::Status) -> bool {
    status.code() == Code::AlreadyExists
}

/// `result` with a gRPC failure turned into the backend failure of `call`.
pub(crate) trait OrBackend<T> {
    /// Maps the error with [`backend`].
    fn or_backend(self, call: Call) -> Result<T, ServiceError>;
}

impl<T> OrBackend<T> for Result<T, tonic::Status> {
    fn or_backend(self, call: Call) -> Result<T, ServiceError> {
        self.map_err(|status| backend(call, status))
    }
}
