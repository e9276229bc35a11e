//! The HTTP API server: transport (TLS, HTTP/1.1 and HTTP/2), routing, authentication and
//! authorization, the read path (get, list, watch, tables, discovery) and the write path
//! (create, update, patch, apply, delete, subresources).

mod authz;
mod body;
pub mod continuation;
mod failure;
pub mod fields;
pub mod labels;
mod list_body;
mod meta;
pub mod negotiate;
pub mod object;
mod params;
mod read;
pub mod route;
mod router;
#[cfg(test)]
mod router_tests;
#[cfg(test)]
mod test_support;
mod transport;
mod watch;
pub mod watch_events;
#[cfg(test)]
mod watch_tests;
pub mod write;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ipnet::Ipv4Net;
use serde_json::Value;

use crate::auth::{Authorizer, UserInfo};
use crate::registry::KindInfo;
use crate::store::Store;

pub use body::Body;
pub use router::handle;
pub use transport::{serve, MAX_BODY_BYTES};

/// Settings of the API server that shape objects (service ranges, advertised address).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Service ClusterIP range (10.43.0.0/16); its first address is the `kubernetes` service.
    pub service_cidr: Ipv4Net,
    /// NodePort range, inclusive (30000–32767).
    pub node_ports: (u16, u16),
    /// Address other components reach the API server at (endpoints of `kubernetes`).
    pub advertise_address: IpAddr,
    /// Port of the API server.
    pub advertise_port: u16,
    /// How often a watch that allows bookmarks gets one.
    pub bookmark_interval: Duration,
    /// How long a watch without `timeoutSeconds` stays open.
    pub watch_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            service_cidr: "10.43.0.0/16".parse().expect("static CIDR"),
            node_ports: (30000, 32767),
            advertise_address: IpAddr::from([127, 0, 0, 1]),
            advertise_port: 6443,
            bookmark_interval: Duration::from_secs(60),
            watch_timeout: Duration::from_secs(1800),
        }
    }
}

/// Everything a request handler needs, shared by all connections.
pub struct ApiState {
    /// The object store.
    pub store: Arc<dyn Store>,
    /// Decides what authenticated users may do.
    pub authorizer: Arc<dyn Authorizer>,
    /// Server settings.
    pub settings: ServerSettings,
    /// State of the write path (allocators of ClusterIPs and NodePorts, …).
    pub write: write::WriteState,
}

/// A parsed request on a resource: `/api/v1/namespaces/default/pods/web/status` and friends.
#[derive(Debug, Clone)]
pub struct ResourceRequest {
    /// Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: &'static str,
    /// The kind addressed.
    pub kind: &'static KindInfo,
    /// Namespace from the path (namespaced kinds).
    pub namespace: Option<String>,
    /// Object name from the path.
    pub name: Option<String>,
    /// Subresource from the path (`status`, `scale`, `binding`, `eviction`).
    pub subresource: Option<String>,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// The request's Content-Type, if any.
    pub content_type: Option<String>,
    /// The request body.
    pub body: Bytes,
    /// The authenticated user.
    pub user: UserInfo,
    /// The User-Agent header (default field manager is derived from it).
    pub user_agent: Option<String>,
}

impl ResourceRequest {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A successful answer: HTTP status, JSON body and `Warning` headers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status code (200, 201, 202).
    pub status: u16,
    /// Response body.
    pub body: Value,
    /// Texts sent as `Warning: 299 - "<text>"` headers.
    pub warnings: Vec<String>,
}

impl Reply {
    /// A 200 reply.
    pub fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body,
            warnings: Vec::new(),
        }
    }
}
