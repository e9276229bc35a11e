//! The service model: every service port the node must program, with the endpoints chosen for
//! it. Built by pure functions from Services, EndpointSlices and the node's identity.

mod types;

pub use types::{Endpoint, NodeContext, Protocol, ServiceModel, ServicePort, ServicePortName};
