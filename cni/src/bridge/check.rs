//! CHECK: the attachment is still as ADD left it, per `prevResult`.

use super::config::Config;
use super::kernel::{LinkInfo, NetOps};
use super::names::{format_mac, host_veth_name, parse_mac};
use super::namespaces::net_error;
use super::plan::rules_for;
use super::plugin::{attachment, Bridge};
use crate::error::{CniError, Code};
use crate::skel::Request;
use crate::types::{CniResult, IpConfig};
use ipnet::IpNet;
use std::net::IpAddr;

fn mismatch(msg: String) -> CniError {
    CniError::new(Code::Netlink, msg)
}

/// CHECK: container interface (MAC, addresses, routes), host veth on the bridge, firewall rules,
/// then IPAM.
pub(super) fn check(bridge: &Bridge, req: &Request) -> Result<(), CniError> {
    let config = Config::parse(&req.stdin)?;
    let prev = config
        .prev_result
        .as_ref()
        .ok_or_else(|| CniError::new(Code::InvalidConfig, "CHECK needs prevResult"))?;
    let prev = CniResult::from_json(prev)?;
    let key = attachment(&config, req);
    let index = prev.interface_index(&key.ifname).ok_or_else(|| {
        CniError::new(
            Code::InvalidConfig,
            format!("prevResult lists no container interface {:?}", key.ifname),
        )
    })?;
    let want_mac = &prev.interfaces[index].mac;
    let ips: Vec<IpConfig> = prev
        .ips
        .iter()
        .filter(|ip| ip.interface == Some(index))
        .cloned()
        .collect();
    let netns_path = req.inv.netns.clone().ok_or_else(|| {
        CniError::new(Code::InvalidEnvironment, "CNI_NETNS is required for CHECK")
    })?;
    let netns = bridge.namespaces.open(&netns_path)?;

    let mut container = None;
    bridge.namespaces.run_in(&netns, &mut |ops| {
        container = Some(check_container(ops, &key.ifname, want_mac, &ips, &prev)?);
        Ok(())
    })?;
    let container = container.ok_or_else(|| mismatch("container check reported nothing".into()))?;

    let mut host = bridge.namespaces.host()?;
    let veth = host_veth_name(&key);
    let br = host
        .link_by_name(&config.bridge)
        .map_err(net_error)?
        .ok_or_else(|| mismatch(format!("bridge {:?} does not exist", config.bridge)))?;
    let port = host
        .link_by_name(&veth)
        .map_err(net_error)?
        .ok_or_else(|| mismatch(format!("host veth {veth:?} does not exist")))?;
    if port.master != Some(br.index) {
        return Err(mismatch(format!(
            "host veth {veth:?} is not a port of bridge {:?}",
            config.bridge
        )));
    }

    bridge
        .firewall
        .check(&key, &rules_for(&config, &key, &ips, container.mac))?;
    if let Some(ipam) = &config.ipam_type {
        bridge.ipam.check(ipam, req)?;
    }
    Ok(())
}

fn check_container(
    ops: &mut dyn NetOps,
    ifname: &str,
    want_mac: &str,
    ips: &[IpConfig],
    prev: &CniResult,
) -> Result<LinkInfo, CniError> {
    let link = ops
        .link_by_name(ifname)
        .map_err(net_error)?
        .ok_or_else(|| mismatch(format!("container interface {ifname:?} does not exist")))?;
    if !want_mac.is_empty() && parse_mac(want_mac) != Some(link.mac) {
        return Err(mismatch(format!(
            "container interface {ifname:?} has MAC {}, prevResult says {want_mac}",
            format_mac(&link.mac)
        )));
    }
    let have = ops.addresses(link.index).map_err(net_error)?;
    for ip in ips {
        if !have.contains(&ip.address) {
            return Err(mismatch(format!(
                "container interface {ifname:?} lacks address {}",
                ip.address
            )));
        }
    }
    // Routes through this interface: those whose next hop lies in one of its subnets.
    let family_gw = |v4: bool| {
        ips.iter()
            .find(|ip| ip.address.addr().is_ipv4() == v4 && ip.gateway.is_some())
            .and_then(|ip| ip.gateway)
    };
    let ours = |gw: IpAddr| ips.iter().any(|ip| ip.address.trunc().contains(&gw));
    let routes = ops.routes(link.index).map_err(net_error)?;
    for r in &prev.routes {
        let Some(gw) = r.gw.or_else(|| family_gw(r.dst.addr().is_ipv4())) else {
            continue;
        };
        if !ours(gw) {
            continue;
        }
        let dst: IpNet = r.dst.trunc();
        if !routes
            .iter()
            .any(|k| k.dst.trunc() == dst && k.gw == Some(gw))
        {
            return Err(mismatch(format!(
                "container lacks route {} via {gw} on {ifname:?}",
                r.dst
            )));
        }
    }
    Ok(link)
}
