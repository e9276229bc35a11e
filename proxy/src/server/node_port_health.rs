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

/// Real listeners on `<node address>:<port>`, one per node address, as kube-proxy's service
/// health server listens on the node IPs `--nodeport-addresses` selects.
///
/// With no node address known (no Node addresses, no `--node-ip`, or none inside
/// `--nodeport-addresses`), they listen on `0.0.0.0`: every IPv4 address of the node.
pub struct NodePortListeners {
    addresses: Vec<IpAddr>,
    open: Mutex<BTreeMap<u16, Listener>>,
}

struct Listener {
    health: Arc<Mutex<ServiceHealth>>,
    tasks: BTreeMap<IpAddr, JoinHandle<()>>,
}

impl NodePortListeners {
    /// Listeners on each of `addresses`; on `0.0.0.0` when it is empty.
    pub fn new(addresses: Vec<IpAddr>) -> Self {
        let addresses = if addresses.is_empty() {
            vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)]
        } else {
            addresses
        };
        Self {
            addresses,
            open: Mutex::new(BTreeMap::new()),
        }
    }

    /// The addresses every health-check node port listens on.
    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }

    /// Ports with at least one open listener.
    pub fn ports(&self) -> Vec<u16> {
        self.lock()
            .iter()
            .filter(|(_, l)| !l.tasks.is_empty())
            .map(|(port, _)| *port)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u16, Listener>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for NodePortListeners {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl HealthCheckPorts for NodePortListeners {
    /// Must run inside a tokio runtime: listeners are tokio tasks. An address that cannot be
    /// bound is retried at the next update (the next sync touching a health-checked port, or
    /// the next full sync).
    fn update(&self, desired: &BTreeMap<u16, ServiceHealth>) {
        let mut open = self.lock();
        open.retain(|port, listener| {
            let keep = desired.contains_key(port);
            if !keep {
                for task in listener.tasks.values() {
                    task.abort();
                }
                tracing::info!(port, "closed health-check node port");
            }
            keep
        });
        for (port, health) in desired {
            let listener = open.entry(*port).or_insert_with(|| Listener {
                health: Arc::new(Mutex::new(health.clone())),
                tasks: BTreeMap::new(),
            });
            *listener.health.lock().unwrap_or_else(|e| e.into_inner()) = health.clone();
            for address in &self.addresses {
                if listener.tasks.contains_key(address) {
                    continue;
                }
                if let Some(task) = listen(SocketAddr::new(*address, *port), &listener.health) {
                    listener.tasks.insert(*address, task);
                }
            }
        }
    }
}

/// Serves `health` on `addr`; `None` (logged) when the address cannot be bound.
fn listen(addr: SocketAddr, health: &Arc<Mutex<ServiceHealth>>) -> Option<JoinHandle<()>> {
    let service = {
        let h = health.lock().unwrap_or_else(|e| e.into_inner());
        format!("{}/{}", h.namespace, h.name)
    };
    let listener = match std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .and_then(tokio::net::TcpListener::from_std)
    {
        Ok(l) => l,
        Err(error) => {
            tracing::warn!(%service, %addr, %error,
                "cannot open health-check node port; will retry at the next update");
            return None;
        }
    };
    let reported = health.clone();
    let handler: Handler = Arc::new(move |path: &str| {
        if path != "/healthz" && path != "/" {
            return Reply::text(404, "not found\n");
        }
        respond(&reported.lock().unwrap_or_else(|e| e.into_inner()))
    });
    tracing::info!(%addr, %service, "opened health-check node port");
    Some(tokio::spawn(http::serve(listener, handler)))
}

impl Drop for NodePortListeners {
    fn drop(&mut self) {
        for listener in self.lock().values() {
            for task in listener.tasks.values() {
                task.abort();
            }
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
        let listeners = NodePortListeners::new(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
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

#[cfg(test)]
mod address_tests {
    use super::*;

    #[test]
    fn listeners_use_the_node_addresses_or_every_ipv4_address_without_any() {
        let node: IpAddr = "192.168.1.10".parse().unwrap();
        assert_eq!(NodePortListeners::new(vec![node]).addresses(), [node]);
        assert_eq!(
            NodePortListeners::default().addresses(),
            [IpAddr::V4(Ipv4Addr::UNSPECIFIED)]
        );
    }

    #[tokio::test]
    async fn a_port_listens_on_every_node_address() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listeners = NodePortListeners::new(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        ]);
        let health = ServiceHealth {
            namespace: "default".into(),
            name: "lb".into(),
            local_endpoints: 1,
        };
        listeners.update(&BTreeMap::from([(port, health)]));
        for host in [[127, 0, 0, 1], [127, 0, 0, 2]] {
            let addr = SocketAddr::from((host, port));
            let got = tokio::task::spawn_blocking(move || http::get(addr, "/healthz"))
                .await
                .unwrap();
            assert_eq!(got.0, 200, "{addr}");
        }
        // Not bound on other loopback addresses: the listeners are per address.
        let other = SocketAddr::from(([127, 0, 0, 3], port));
        assert!(std::net::TcpStream::connect(other).is_err());
    }
}
