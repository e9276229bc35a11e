//! Health-check node ports: for each Service with `healthCheckNodePort`, a listener answering
//! `/healthz` with how many ready endpoints the Service has on this node, as kube-proxy does, so
//! load balancers send traffic only to nodes with local endpoints.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use super::http::{self, Handler, Reply};
use crate::model::{ServiceModel, ServicePortName};

/// One Service's health as its health-check node port reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHealth {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// Ready endpoints of the Service on this node.
    pub local_endpoints: usize,
}

/// What every health-check node port should report, by port; pure.
pub fn desired(model: &ServiceModel) -> BTreeMap<u16, ServiceHealth> {
    desired_for(model, model.ports.keys())
}

/// What the health-check node ports of the service ports `names` should report, by port
/// (names missing from `model` are skipped); pure. Given every port with a health-check node
/// port, equals [`desired`] at a cost that follows `names`, not the model.
pub fn desired_for<'a>(
    model: &ServiceModel,
    names: impl IntoIterator<Item = &'a ServicePortName>,
) -> BTreeMap<u16, ServiceHealth> {
    let mut out: BTreeMap<u16, ServiceHealth> = BTreeMap::new();
    for port in names.into_iter().filter_map(|n| model.ports.get(n)) {
        let Some(hc) = port.health_check_node_port else {
            continue;
        };
        let entry = out.entry(hc).or_insert_with(|| ServiceHealth {
            namespace: port.name.namespace.clone(),
            name: port.name.name.clone(),
            local_endpoints: 0,
        });
        entry.local_endpoints = entry.local_endpoints.max(port.local_ready_endpoints);
    }
    out
}

/// kube-proxy's reply for a health-check node port: 200 with local endpoints, else 503.
pub fn respond(health: &ServiceHealth) -> Reply {
    let body = serde_json::json!({
        "service": {"namespace": health.namespace, "name": health.name},
        "localEndpoints": health.local_endpoints,
        "serviceProxyHealthy": true,
    });
    let status = if health.local_endpoints > 0 { 200 } else { 503 };
    Reply::json(status, body.to_string())
}

/// Opens and closes health-check listeners as the set of Services changes.
pub trait HealthCheckPorts: Send + Sync {
    /// Makes the listeners match `desired` (port → what it reports).
    fn update(&self, desired: &BTreeMap<u16, ServiceHealth>);
}

/// Real listeners on `address:<port>` (all addresses by default).
pub struct NodePortListeners {
    address: IpAddr,
    open: Mutex<BTreeMap<u16, Listener>>,
}

struct Listener {
    health: Arc<Mutex<ServiceHealth>>,
    task: JoinHandle<()>,
}

impl NodePortListeners {
    /// Listeners bound on `address` (`0.0.0.0` for every node address).
    pub fn new(address: IpAddr) -> Self {
        Self {
            address,
            open: Mutex::new(BTreeMap::new()),
        }
    }

    /// Ports with an open listener.
    pub fn ports(&self) -> Vec<u16> {
        self.lock().keys().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u16, Listener>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for NodePortListeners {
    fn default() -> Self {
        Self::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

impl HealthCheckPorts for NodePortListeners {
    /// Must run inside a tokio runtime: listeners are tokio tasks.
    fn update(&self, desired: &BTreeMap<u16, ServiceHealth>) {
        let mut open = self.lock();
        open.retain(|port, listener| {
            let keep = desired.contains_key(port);
            if !keep {
                listener.task.abort();
                tracing::info!(port, "closed health-check node port");
            }
            keep
        });
        for (port, health) in desired {
            if let Some(listener) = open.get(port) {
                *listener.health.lock().unwrap_or_else(|e| e.into_inner()) = health.clone();
                continue;
            }
            let addr = SocketAddr::new(self.address, *port);
            let std_listener = match std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .and_then(tokio::net::TcpListener::from_std)
            {
                Ok(l) => l,
                Err(error) => {
                    tracing::warn!(
                        service = %format!("{}/{}", health.namespace, health.name),
                        port, %error,
                        "cannot open health-check node port; will retry on the next sync"
                    );
                    continue;
                }
            };
            let shared = Arc::new(Mutex::new(health.clone()));
            let reported = shared.clone();
            let handler: Handler = Arc::new(move |path: &str| {
                if path != "/healthz" && path != "/" {
                    return Reply::text(404, "not found\n");
                }
                respond(&reported.lock().unwrap_or_else(|e| e.into_inner()))
            });
            let task = tokio::spawn(http::serve(std_listener, handler));
            tracing::info!(port, service = %format!("{}/{}", health.namespace, health.name),
                "opened health-check node port");
            open.insert(
                *port,
                Listener {
                    health: shared,
                    task,
                },
            );
        }
    }
}

impl Drop for NodePortListeners {
    fn drop(&mut self) {
        for listener in self.lock().values() {
            listener.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(n: usize) -> ServiceHealth {
        ServiceHealth {
            namespace: "default".into(),
            name: "web".into(),
            local_endpoints: n,
        }
    }

    #[test]
    fn reply_is_kube_proxy_json_and_503_without_local_endpoints() {
        let ok = respond(&health(2));
        assert_eq!(ok.status, 200);
        // Compared as JSON values: key order depends on serde_json's features in the build.
        let body: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "localEndpoints": 2,
                "service": {"name": "web", "namespace": "default"},
                "serviceProxyHealthy": true
            })
        );
        assert_eq!(respond(&health(0)).status, 503);
    }

    #[tokio::test]
    async fn listeners_open_update_and_close_with_the_services() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listeners = NodePortListeners::new(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        listeners.update(&BTreeMap::from([(port, health(0))]));
        assert_eq!(listeners.ports(), [port]);
        let got = tokio::task::spawn_blocking(move || http::get(addr, "/healthz"))
            .await
            .unwrap();
        assert_eq!(got.0, 503);

        listeners.update(&BTreeMap::from([(port, health(3))]));
        let got = tokio::task::spawn_blocking(move || http::get(addr, "/healthz"))
            .await
            .unwrap();
        assert_eq!(got.0, 200);
        assert!(got.1.contains(r#""localEndpoints":3"#), "{}", got.1);

        listeners.update(&BTreeMap::new());
        assert!(listeners.ports().is_empty());
    }
}
