//! The kernel seam of the bridge plugin: the netlink operations it needs in one network
//! namespace. `crate::netlink::Netlink` implements it over a real socket; tests use a fake.

use ipnet::IpNet;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;

/// A hardware address.
pub type Mac = [u8; 6];

/// What the plugin needs to know about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address.
    pub mac: Mac,
    /// MTU.
    pub mtu: u32,
    /// Administratively up.
    pub up: bool,
    /// Index of the bridge it is enslaved to.
    pub master: Option<u32>,
    /// Link kind (`bridge`, `veth`, …) when the kernel reports one.
    pub kind: Option<String>,
    /// Promiscuous mode is on.
    pub promisc: bool,
}

/// The bridge to create or adjust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    /// Bridge name (`bridge`, default `cni0`).
    pub name: String,
    /// MTU to set, if configured.
    pub mtu: Option<u32>,
    /// Static hardware address, so the bridge MAC does not follow its ports.
    pub mac: Mac,
    /// Promiscuous mode (`promiscMode`).
    pub promisc: bool,
    /// VLAN filtering on (`vlan` set).
    pub vlan_filtering: bool,
}

/// A veth pair: the host end stays here, the container end is created directly in the
/// container's namespace under its final name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethSpec {
    /// Host-side name.
    pub host_name: String,
    /// Container-side name (`CNI_IFNAME`).
    pub container_name: String,
    /// MTU of both ends, if configured.
    pub mtu: Option<u32>,
    /// Container-side hardware address, if requested.
    pub container_mac: Option<Mac>,
}

/// A route to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination.
    pub dst: IpNet,
    /// Next hop; a link-scope route when absent.
    pub gw: Option<IpAddr>,
    /// Output interface index.
    pub oif: u32,
}

/// Errors from the kernel.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A netlink request failed with an errno.
    #[error("{op}: {source}")]
    Request {
        /// What was asked, e.g. `create veth veth1a2b3c in container namespace`.
        op: String,
        /// The errno the kernel returned.
        source: std::io::Error,
    },
    /// The name asked for is already taken.
    #[error("interface {name} already exists")]
    Exists {
        /// The interface name.
        name: String,
    },
    /// A link that must exist does not.
    #[error("interface {name} not found")]
    NotFound {
        /// The interface name.
        name: String,
    },
    /// A name is taken by a link of the wrong kind.
    #[error("interface {name} exists but is a {found}, not a {wanted}")]
    WrongKind {
        /// The interface name.
        name: String,
        /// Kind found.
        found: String,
        /// Kind wanted.
        wanted: String,
    },
    /// A sysctl could not be written.
    #[error("cannot set sysctl {key}: {source}")]
    Sysctl {
        /// Key, e.g. `net/ipv4/ip_forward`.
        key: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Netlink operations in one network namespace.
pub trait NetOps {
    /// Looks up a link by name.
    fn link_by_name(&mut self, name: &str) -> Result<Option<LinkInfo>, NetError>;
    /// Creates the bridge if absent (else checks it is a bridge), applies MTU, MAC, promisc
    /// and VLAN filtering, and sets it up.
    fn ensure_bridge(&mut self, spec: &BridgeSpec) -> Result<LinkInfo, NetError>;
    /// Creates a veth pair whose container end is born in `peer_netns`; returns the host end.
    /// A container-side name already taken there is [`NetError::Exists`].
    fn create_veth(
        &mut self,
        spec: &VethSpec,
        peer_netns: BorrowedFd<'_>,
    ) -> Result<LinkInfo, NetError>;
    /// Deletes a link by name; returns false when it did not exist.
    fn delete_link(&mut self, name: &str) -> Result<bool, NetError>;
    /// Enslaves a link to a bridge.
    fn set_master(&mut self, index: u32, master: u32) -> Result<(), NetError>;
    /// Sets a link administratively up.
    fn set_up(&mut self, index: u32) -> Result<(), NetError>;
    /// Sets hairpin mode of a bridge port.
    fn set_hairpin(&mut self, index: u32, on: bool) -> Result<(), NetError>;
    /// Makes `vid` the untagged PVID of a bridge port, removing VLAN 1 unless `keep_default`.
    fn set_port_vlan(&mut self, index: u32, vid: u16, keep_default: bool) -> Result<(), NetError>;
    /// Lists the addresses of a link.
    fn addresses(&mut self, index: u32) -> Result<Vec<IpNet>, NetError>;
    /// Adds an address (with `IFA_F_NODAD` when `nodad`); an existing equal address is fine.
    fn add_address(&mut self, index: u32, addr: IpNet, nodad: bool) -> Result<(), NetError>;
    /// Removes an address.
    fn del_address(&mut self, index: u32, addr: IpNet) -> Result<(), NetError>;
    /// Adds a route; an existing equal route is fine.
    fn add_route(&mut self, route: &RouteSpec) -> Result<(), NetError>;
    /// Lists the routes whose output interface is `oif`.
    fn routes(&mut self, oif: u32) -> Result<Vec<RouteSpec>, NetError>;
    /// Lists every link of this namespace.
    fn links(&mut self) -> Result<Vec<LinkInfo>, NetError>;
    /// Lists the links enslaved to bridge `master`.
    fn ports(&mut self, master: u32) -> Result<Vec<LinkInfo>, NetError>;
    /// Writes a sysctl under `/proc/sys` (e.g. `net/ipv4/ip_forward`), in this namespace.
    fn set_sysctl(&mut self, key: &str, value: &str) -> Result<(), NetError>;
}
