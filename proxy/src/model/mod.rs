//! The service model: every service port the node must program, with the endpoints chosen for
//! it. Built by pure functions from Services, EndpointSlices and the node's identity, as a whole
//! ([`build`]) or one Service at a time ([`ModelTracker`]).

mod build;
mod endpoints;
mod service;
mod tracker;
mod types;
mod warning;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tracker_tests;

pub use build::{build, SERVICE_NAME_LABEL};
pub use service::DEFAULT_AFFINITY_TIMEOUT;
pub use tracker::{ModelTracker, ServiceKey};
pub use types::{
    Endpoint, Endpoints, NodeContext, Protocol, ServiceModel, ServicePort, ServicePortName,
};
pub use warning::ModelWarning;
