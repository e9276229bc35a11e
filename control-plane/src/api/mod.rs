//! API machinery shared by every part of the server: errors as Kubernetes `Status` objects.

pub mod status;

pub use status::{ApiError, CauseKind, FieldError};
