//! The pure plan step: from the configuration, the attachment and IPAM's result, everything
//! ADD will do to the kernel and the firewall, and the result it will print.

use super::config::Config;
use super::kernel::{BridgeSpec, Mac, VethSpec};
use super::names::{bridge_mac, host_veth_name};
use crate::nft::{AttachmentKey, AttachmentRules, MacSpoof};
use crate::types::{CniResult, Dns, IpConfig, Route};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A sysctl to write, e.g. `net/ipv4/ip_forward` = `1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    /// Key under `/proc/sys`.
    pub key: String,
    /// Value to write.
    pub value: String,
}

impl Sysctl {
    fn new(key: impl Into<String>, value: &str) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The untagged VLAN of the host-side bridge port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortVlan {
    /// VLAN id (PVID, untagged).
    pub vid: u16,
    /// Keep VLAN 1 on the port too (`preserveDefaultVlan`).
    pub keep_default: bool,
}

/// A route for the container; its output interface is the container interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRoute {
    /// Destination.
    pub dst: IpNet,
    /// Next hop (the family's gateway when the IPAM route named none).
    pub gw: Option<IpAddr>,
}

/// What happens inside the container's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPlan {
    /// The container interface (`CNI_IFNAME`).
    pub ifname: String,
    /// Sysctls to write before addresses are added (`accept_dad`).
    pub sysctls: Vec<Sysctl>,
    /// Addresses with their subnet's prefix length.
    pub addresses: Vec<IpNet>,
    /// Add IPv6 addresses without duplicate address detection (`enabledad` false).
    pub nodad: bool,
    /// Set the interface up (`disableContainerInterface` false).
    pub up: bool,
    /// Routes, installed after the interface is up.
    pub routes: Vec<PlannedRoute>,
}

/// Everything ADD does, computed before touching anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The attachment host-side state is keyed on.
    pub key: AttachmentKey,
    /// Host sysctls (forwarding when the bridge is a gateway).
    pub host_sysctls: Vec<Sysctl>,
    /// The bridge.
    pub bridge: BridgeSpec,
    /// Gateway addresses for the bridge (gateway with the subnet's prefix length).
    pub bridge_addresses: Vec<IpNet>,
    /// Replace a different address of the same family on the bridge (`forceAddress`).
    pub force_address: bool,
    /// The veth pair.
    pub veth: VethSpec,
    /// Hairpin mode on the host-side port.
    pub hairpin: bool,
    /// VLAN of the host-side port.
    pub vlan: Option<PortVlan>,
    /// The container side.
    pub container: ContainerPlan,
    /// Addresses to masquerade (`ipMasq`).
    pub masquerade: Vec<IpNet>,
    /// Install the mac-spoof check once the container MAC is known (`macspoofchk`).
    pub macspoofchk: bool,
    /// The result without `interfaces`, which apply fills in from the kernel.
    pub result: CniResult,
}

impl Plan {
    /// The firewall rules of this attachment, given the container interface's MAC.
    pub fn rules(&self, container_mac: Mac) -> AttachmentRules {
        AttachmentRules {
            masquerade: self.masquerade.clone(),
            macspoof: self.macspoofchk.then(|| MacSpoof {
                host_ifname: self.veth.host_name.clone(),
                mac: container_mac,
            }),
        }
    }
}

/// The firewall rules an attachment should have: used by ADD (through [`Plan::rules`]) and by
/// CHECK (from `prevResult`).
pub fn rules_for(
    config: &Config,
    key: &AttachmentKey,
    ips: &[IpConfig],
    mac: Mac,
) -> AttachmentRules {
    AttachmentRules {
        masquerade: if config.ip_masq {
            ips.iter().map(|ip| ip.address).collect()
        } else {
            Vec::new()
        },
        macspoof: config.macspoofchk.then(|| MacSpoof {
            host_ifname: host_veth_name(key),
            mac,
        }),
    }
}

/// The first host address of a subnet: the gateway when IPAM names none.
fn first_host(addr: &IpNet) -> IpAddr {
    match addr.network() {
        IpAddr::V4(n) => IpAddr::V4(Ipv4Addr::from(u32::from(n).wrapping_add(1))),
        IpAddr::V6(n) => IpAddr::V6(Ipv6Addr::from(u128::from(n).wrapping_add(1))),
    }
}

fn default_route(v4: bool) -> IpNet {
    if v4 {
        "0.0.0.0/0".parse().expect("valid")
    } else {
        "::/0".parse().expect("valid")
    }
}

/// Computes the plan of an ADD. `ipam` is the IPAM plugin's result (empty for layer 2).
pub fn plan(
    config: &Config,
    key: &AttachmentKey,
    ipam: &CniResult,
    requested_mac: Option<Mac>,
) -> Plan {
    // The container interface is the third of bridge, host veth, container.
    const CONTAINER_INDEX: usize = 2;
    let mut ips = Vec::new();
    let mut bridge_addresses = Vec::new();
    for ip in &ipam.ips {
        let mut ip = ip.clone();
        ip.interface = Some(CONTAINER_INDEX);
        if config.is_gateway && ip.gateway.is_none() {
            ip.gateway = Some(first_host(&ip.address));
        }
        if config.is_gateway {
            if let Some(gw) = ip.gateway {
                let addr = IpNet::new(gw, ip.address.prefix_len()).expect("prefix of an address");
                if !bridge_addresses.contains(&addr) {
                    bridge_addresses.push(addr);
                }
            }
        }
        ips.push(ip);
    }

    let mut routes = ipam.routes.clone();
    if config.is_default_gateway {
        for v4 in [true, false] {
            let has_default = routes
                .iter()
                .any(|r| r.gw.is_some() && r.dst == default_route(v4));
            let gw = ips
                .iter()
                .find(|ip| ip.address.addr().is_ipv4() == v4)
                .and_then(|ip| ip.gateway);
            if let (false, Some(gw)) = (has_default, gw) {
                routes.push(Route::new(default_route(v4), Some(gw)));
            }
        }
    }
    let family_gw = |v4: bool| {
        ips.iter()
            .find(|ip| ip.address.addr().is_ipv4() == v4 && ip.gateway.is_some())
            .and_then(|ip| ip.gateway)
    };
    let container_routes = routes
        .iter()
        .map(|r| PlannedRoute {
            dst: r.dst,
            gw: r.gw.or_else(|| family_gw(r.dst.addr().is_ipv4())),
        })
        .collect();

    let has_v4 = ips.iter().any(|ip| ip.address.addr().is_ipv4());
    let has_v6 = ips.iter().any(|ip| ip.address.addr().is_ipv6());
    let mut host_sysctls = Vec::new();
    if config.is_gateway && has_v4 {
        host_sysctls.push(Sysctl::new("net/ipv4/ip_forward", "1"));
    }
    if config.is_gateway && has_v6 {
        host_sysctls.push(Sysctl::new("net/ipv6/conf/all/forwarding", "1"));
    }
    let mut container_sysctls = Vec::new();
    if has_v6 && !config.enabledad {
        container_sysctls.push(Sysctl::new(
            format!("net/ipv6/conf/{}/accept_dad", key.ifname),
            "0",
        ));
    }

    Plan {
        key: key.clone(),
        host_sysctls,
        bridge: BridgeSpec {
            name: config.bridge.clone(),
            mtu: config.mtu,
            mac: bridge_mac(&config.bridge),
            promisc: config.promisc_mode,
            vlan_filtering: config.vlan.is_some(),
        },
        bridge_addresses,
        force_address: config.force_address,
        veth: VethSpec {
            host_name: host_veth_name(key),
            container_name: key.ifname.clone(),
            mtu: config.mtu,
            container_mac: requested_mac,
        },
        hairpin: config.hairpin_mode,
        vlan: config.vlan.map(|vid| PortVlan {
            vid,
            keep_default: config.preserve_default_vlan,
        }),
        container: ContainerPlan {
            ifname: key.ifname.clone(),
            sysctls: container_sysctls,
            addresses: ips.iter().map(|ip| ip.address).collect(),
            nodad: !config.enabledad,
            up: !config.disable_container_interface,
            routes: container_routes,
        },
        masquerade: if config.ip_masq {
            ips.iter().map(|ip| ip.address).collect()
        } else {
            Vec::new()
        },
        macspoofchk: config.macspoofchk,
        result: CniResult {
            interfaces: Vec::new(),
            ips,
            routes,
            dns: merge_dns(&config.dns, &ipam.dns),
        },
    }
}

/// The configuration's DNS settings win, field by field, over IPAM's.
fn merge_dns(config: &Dns, ipam: &Dns) -> Dns {
    fn pick<T: Clone>(a: &[T], b: &[T]) -> Vec<T> {
        if a.is_empty() { b } else { a }.to_vec()
    }
    Dns {
        nameservers: pick(&config.nameservers, &ipam.nameservers),
        domain: if config.domain.is_empty() {
            ipam.domain.clone()
        } else {
            config.domain.clone()
        },
        search: pick(&config.search, &ipam.search),
        options: pick(&config.options, &ipam.options),
    }
}

/// What ADD must do to one bridge address, as the reference plugin's `ensureAddr` decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressChange {
    /// The bridge has it already.
    Present,
    /// Remove these conflicting addresses (`forceAddress`), then add it.
    Add {
        /// Addresses to remove first.
        remove: Vec<IpNet>,
    },
    /// The bridge has a different address of the same family and `forceAddress` is off.
    Conflict {
        /// The address in the way.
        existing: IpNet,
    },
}

/// Decides how to give the bridge `wanted` given its `existing` addresses. Any other IPv4
/// address conflicts; an IPv6 address conflicts only when the subnets overlap (several IPv6
/// subnets may share a bridge); IPv6 link-local addresses never do.
pub fn bridge_address_change(existing: &[IpNet], wanted: IpNet, force: bool) -> AddressChange {
    if existing.contains(&wanted) {
        return AddressChange::Present;
    }
    let mut remove = Vec::new();
    for &a in existing {
        let conflicts = match (a, wanted) {
            (IpNet::V4(_), IpNet::V4(_)) => true,
            (IpNet::V6(a6), IpNet::V6(_)) => {
                let link_local = (a6.addr().segments()[0] & 0xffc0) == 0xfe80;
                !link_local && (a.contains(&wanted.addr()) || wanted.contains(&a.addr()))
            }
            _ => false,
        };
        if conflicts {
            if !force {
                return AddressChange::Conflict { existing: a };
            }
            remove.push(a);
        }
    }
    AddressChange::Add { remove }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
