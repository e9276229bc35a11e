//! The service model: every service port the node must program, with the endpoints chosen for
//! it. Built by pure functions from Services, EndpointSlices and the node's identity.

mod build;
mod endpoints;
mod service;
mod types;
mod warning;

#[cfg(test)]
mod tests;

pub use build::{build, SERVICE_NAME_LABEL};
pub use service::DEFAULT_AFFINITY_TIMEOUT;
pub use types::{Endpoint, NodeContext, Protocol, ServiceModel, ServicePort, ServicePortName};
pub use warning::ModelWarning;
