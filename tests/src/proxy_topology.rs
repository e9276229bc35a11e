//! The dual-stack namespaces the proxy dataplane tests send traffic through, and the service
//! models they program: client — node (runs the dataplane) — backends, every address inside
//! namespaces created here (IPv4 in 10.200.0.0/16, IPv6 in the ULA range fd00::/8).

use std::collections::BTreeSet;
use std::time::Duration;

use skiff_proxy::dataplane::{Changes, Dataplane};
use skiff_proxy::model::{
    Endpoint, Endpoints, Protocol, ServiceModel, ServicePort, ServicePortName,
};

use crate::traffic::{self, Client, Conn};
use crate::Netns;

/// The node's address on the client side.
pub const NODE_IP: &str = "10.200.1.1";
/// The node's IPv6 address on the client side.
pub const NODE_IP6: &str = "fd00:200:1::1";
/// The backends' addresses, one listener each.
pub const BACKENDS: [&str; 3] = ["10.200.2.11", "10.200.2.12", "10.200.2.13"];
/// The backends' IPv6 addresses, one listener each.
pub const BACKENDS6: [&str; 3] = ["fd00:200:2::11", "fd00:200:2::12", "fd00:200:2::13"];
/// The TCP and UDP port every backend listens on.
pub const BACKEND_PORT: u16 = 8080;

/// Client 10.200.1.2 / fd00:200:1::2 — node 10.200.1.1, 10.200.2.1 / fd00:200:1::1,
/// fd00:200:2::1 — backends [`BACKENDS`] and [`BACKENDS6`], each listener answering with its
/// own address.
#[derive(Debug)]
pub struct Topology {
    /// Where the dataplane runs.
    pub node: Netns,
    /// Where traffic to services starts.
    pub client: Netns,
    /// Where the backends listen.
    pub backend: Netns,
    timeout: Duration,
}

impl Topology {
    /// Creates the namespaces, links and addresses and starts the backends.
    pub fn new() -> Self {
        let node = Netns::new();
        let client = Netns::new();
        let backend = Netns::new();
        for ns in [&node, &client, &backend] {
            // Addresses are usable at once, without duplicate address detection.
            sysctl(ns, "net/ipv6/conf/all/accept_dad", "0");
            sysctl(ns, "net/ipv6/conf/default/accept_dad", "0");
        }
        veth(&node, &client, "c0", &node, "n0");
        veth(&node, &node, "n1", &backend, "b0");
        addresses(&client, "c0", &["10.200.1.2/24", "fd00:200:1::2/64"]);
        client.exec_ok("ip", &["route", "add", "default", "via", NODE_IP]);
        client.exec_ok("ip", &["-6", "route", "add", "default", "via", NODE_IP6]);
        addresses(&node, "n0", &["10.200.1.1/24", "fd00:200:1::1/64"]);
        addresses(&node, "n1", &["10.200.2.1/24", "fd00:200:2::1/64"]);
        // A dual-stack node forwards IPv6 (its pods need it).
        sysctl(&node, "net/ipv6/conf/all/forwarding", "1");
        let backend_ips: Vec<String> = BACKENDS
            .iter()
            .map(|ip| format!("{ip}/24"))
            .chain(BACKENDS6.iter().map(|ip| format!("{ip}/64")))
            .collect();
        let backend_ips: Vec<&str> = backend_ips.iter().map(String::as_str).collect();
        addresses(&backend, "b0", &backend_ips);
        backend.exec_ok("ip", &["route", "add", "default", "via", "10.200.2.1"]);
        // IPv6 would pick the address added last as the source; the first backend's is the
        // source in both families (a hairpin connection comes from an endpoint).
        backend.exec_ok(
            "ip",
            &[
                "-6",
                "route",
                "add",
                "default",
                "via",
                "fd00:200:2::1",
                "src",
                BACKENDS6[0],
            ],
        );
        traffic::spawn_backends(&backend, &[BACKENDS, BACKENDS6].concat(), BACKEND_PORT);
        Self {
            node,
            client,
            backend,
            timeout: traffic::TIMEOUT,
        }
    }

    /// The same topology with another connect and read timeout for its client.
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// Gives the node default routes toward the backends and IPv4 forwarding, as a node's own
    /// setup would: packets to a cluster IP without endpoints are then forwarded (and
    /// rejected) rather than unroutable.
    pub fn route_node(self) -> Self {
        self.node
            .exec_ok("ip", &["route", "add", "default", "via", BACKENDS[0]]);
        self.node.exec_ok(
            "ip",
            &["-6", "route", "add", "default", "via", BACKENDS6[0]],
        );
        sysctl(&self.node, "net/ipv4/ip_forward", "1");
        self
    }

    /// The client namespace's client.
    pub fn client(&self) -> Client<'_> {
        Client::new(&self.client).timeout(self.timeout)
    }

    /// A TCP connection from the client and the backend's first line.
    pub fn connect(&self, to: &str) -> std::io::Result<(Conn, String)> {
        self.client().connect(to)
    }

    /// Which backends `n` fresh TCP connections from the client to `to` reached.
    pub fn tcp_backends(&self, to: &str, n: usize) -> BTreeSet<String> {
        self.client().tcp_backends(to, n)
    }

    /// Asserts that `n` fresh TCP connections from the client to each of `targets` reach
    /// exactly the backends `expected`.
    #[track_caller]
    pub fn assert_tcp_reach(&self, targets: &[String], n: usize, expected: &BTreeSet<String>) {
        for to in targets {
            assert_eq!(&self.tcp_backends(to, n), expected, "through {to}");
        }
    }

    /// Which backends `n` datagrams from the client to `to` reached.
    pub fn udp_backends(&self, to: &str, n: usize) -> BTreeSet<String> {
        self.client().udp_backends(to, n)
    }

    /// A TCP connection from the backend namespace (from the first backend of the family)
    /// and the first line of the backend that answered.
    pub fn connect_from_backend(&self, to: &str) -> std::io::Result<(Conn, String)> {
        Client::new(&self.backend).timeout(self.timeout).connect(to)
    }

    /// Syncs `dp` to `model` inside the node (every port); asserts no port failed and returns
    /// the number of changes.
    pub fn sync<D: Dataplane>(&self, dp: &mut D, model: &ServiceModel) -> usize {
        self.node.run(|| {
            let report = dp.sync(model, &Changes::All).expect("sync");
            assert!(report.failures.is_empty(), "{report:?}");
            report.changes
        })
    }
}

impl Default for Topology {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes `value` to `/proc/sys/<key>` inside `ns`.
fn sysctl(ns: &Netns, key: &str, value: &str) {
    let path = std::path::Path::new("/proc/sys").join(key);
    ns.run(|| std::fs::write(&path, value))
        .unwrap_or_else(|e| panic!("{} in {}: {e}", path.display(), ns.name()));
}

/// A veth pair created from `by`: `ifa` in `a`, `ifb` in `b`.
fn veth(by: &Netns, a: &Netns, ifa: &str, b: &Netns, ifb: &str) {
    by.exec_ok(
        "ip",
        &[
            "link",
            "add",
            ifa,
            "netns",
            a.name(),
            "type",
            "veth",
            "peer",
            "name",
            ifb,
            "netns",
            b.name(),
        ],
    );
}

/// Adds `cidrs` to `dev` in `ns` and sets it up.
fn addresses(ns: &Netns, dev: &str, cidrs: &[&str]) {
    for cidr in cidrs {
        let mut args = vec!["addr", "add", cidr, "dev", dev];
        if cidr.contains(':') {
            args.push("nodad");
        }
        ns.exec_ok("ip", &args);
    }
    ns.exec_ok("ip", &["link", "set", dev, "up"]);
}

/// Service port `default/<svc>:p`, port 80 on `cluster_ip` to [`BACKEND_PORT`] of every
/// address of `backends`, all ready.
pub fn service(svc: &str, protocol: Protocol, cluster_ip: &str, backends: &[&str]) -> ServicePort {
    let name = ServicePortName {
        namespace: "default".into(),
        name: svc.into(),
        port: "p".into(),
        protocol,
    };
    let eps: Endpoints = backends
        .iter()
        .map(|ip| Endpoint::ready(ip.parse().unwrap(), BACKEND_PORT))
        .collect();
    ServicePort::cluster_ip(name, vec![cluster_ip.parse().unwrap()], 80, eps)
}

/// A dual-stack service port: cluster IPs `ipv4` and `ipv6`, every backend of both families.
pub fn dual_stack_service(svc: &str, protocol: Protocol, ipv4: &str, ipv6: &str) -> ServicePort {
    let mut port = service(svc, protocol, ipv4, &[BACKENDS, BACKENDS6].concat());
    port.cluster_ips.push(ipv6.parse().unwrap());
    port
}

/// A model of `ports`.
pub fn model(ports: impl IntoIterator<Item = ServicePort>) -> ServiceModel {
    let mut m = ServiceModel::default();
    for p in ports {
        m.ports.insert(p.name.clone(), p);
    }
    m
}

/// `ip:port`, with the address in brackets when it is IPv6.
pub fn target(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The names of `ips` as backends answer with them.
pub fn names(ips: &[&str]) -> BTreeSet<String> {
    ips.iter().map(|s| s.to_string()).collect()
}

/// Every IPv4 backend's name.
pub fn all_backends() -> BTreeSet<String> {
    names(&BACKENDS)
}
