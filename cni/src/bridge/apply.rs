//! Executes a [`Plan`]: host side over the host's [`NetOps`], container side on a thread inside
//! the container's namespace, then the firewall. On failure everything this ADD made is undone.

use super::kernel::{LinkInfo, NetError, NetOps, RouteSpec};
use super::names::format_mac;
use super::namespaces::{net_error, Namespaces};
use super::plan::{bridge_address_change, AddressChange, Plan};
use crate::error::{CniError, Code};
use crate::nft::Firewall;
use crate::types::{CniResult, Interface};
use std::fs::File;
use std::path::Path;

/// The links ADD made or adjusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The bridge.
    pub bridge: LinkInfo,
    /// The host end of the veth pair.
    pub host: LinkInfo,
    /// The container interface.
    pub container: LinkInfo,
}

impl Applied {
    /// The ADD result: the plan's addresses, routes and DNS plus the three interfaces.
    pub fn result(&self, plan: &Plan, sandbox: &Path) -> CniResult {
        let iface = |l: &LinkInfo, sandbox: &str| Interface {
            name: l.name.clone(),
            mac: format_mac(&l.mac),
            mtu: Some(l.mtu),
            sandbox: sandbox.into(),
            ..Interface::default()
        };
        CniResult {
            interfaces: vec![
                iface(&self.bridge, ""),
                iface(&self.host, ""),
                iface(&self.container, &sandbox.display().to_string()),
            ],
            ..plan.result.clone()
        }
    }
}

/// What this ADD has created so far, so undo removes exactly that.
#[derive(Debug, Default)]
struct Progress {
    veth: bool,
    rules: bool,
}

/// Applies `plan`, with the container namespace `netns` already open. On error, removes the
/// veth and the rules this call created and returns the original error.
pub fn apply(
    plan: &Plan,
    namespaces: &dyn Namespaces,
    netns: &File,
    firewall: &dyn Firewall,
) -> Result<Applied, CniError> {
    let mut host = namespaces.host()?;
    let mut progress = Progress::default();
    let outcome = apply_steps(
        plan,
        host.as_mut(),
        namespaces,
        netns,
        firewall,
        &mut progress,
    );
    if let Err(e) = &outcome {
        tracing::warn!(
            network = %plan.key.network,
            container = %plan.key.container_id,
            ifname = %plan.key.ifname,
            error = %e,
            "ADD failed; undoing"
        );
        undo(plan, host.as_mut(), firewall, &progress);
    }
    outcome
}

fn undo(plan: &Plan, host: &mut dyn NetOps, firewall: &dyn Firewall, progress: &Progress) {
    if progress.veth {
        // Deleting the host end removes the container end too.
        if let Err(e) = host.delete_link(&plan.veth.host_name) {
            tracing::warn!(veth = %plan.veth.host_name, error = %e, "cannot delete veth while undoing ADD");
        }
    }
    if progress.rules {
        if let Err(e) = firewall.del(&plan.key) {
            tracing::warn!(error = %e, "cannot delete firewall rules while undoing ADD");
        }
    }
}

fn apply_steps(
    plan: &Plan,
    host: &mut dyn NetOps,
    namespaces: &dyn Namespaces,
    netns: &File,
    firewall: &dyn Firewall,
    progress: &mut Progress,
) -> Result<Applied, CniError> {
    use std::os::fd::AsFd;
    for s in &plan.host_sysctls {
        host.set_sysctl(&s.key, &s.value).map_err(net_error)?;
    }
    let bridge = host.ensure_bridge(&plan.bridge).map_err(net_error)?;
    ensure_bridge_addresses(plan, host, &bridge)?;

    let veth = match host.create_veth(&plan.veth, netns.as_fd()) {
        Err(NetError::Exists { name }) if name == plan.veth.host_name => {
            // The name derives from this attachment: a leftover of an interrupted ADD.
            tracing::info!(veth = %name, "removing a leftover veth of this attachment");
            host.delete_link(&name).map_err(net_error)?;
            host.create_veth(&plan.veth, netns.as_fd())
        }
        other => other,
    };
    let veth = veth.map_err(|e| match e {
        NetError::Exists { name } => CniError::new(
            Code::InvalidEnvironment,
            format!("CNI_IFNAME {name:?} is already taken in the container's network namespace"),
        ),
        e => net_error(e),
    })?;
    progress.veth = true;
    host.set_master(veth.index, bridge.index)
        .map_err(net_error)?;
    if plan.hairpin {
        host.set_hairpin(veth.index, true).map_err(net_error)?;
    }
    if let Some(v) = plan.vlan {
        host.set_port_vlan(veth.index, v.vid, v.keep_default)
            .map_err(net_error)?;
    }
    host.set_up(veth.index).map_err(net_error)?;

    let mut container = None;
    namespaces.run_in(netns, &mut |ops| {
        container = Some(configure_container(plan, ops)?);
        Ok(())
    })?;
    let container = container.ok_or_else(|| {
        CniError::new(
            Code::Netlink,
            "container side finished without reporting its interface",
        )
    })?;

    progress.rules = true;
    firewall.add(&plan.key, &plan.rules(container.mac))?;
    Ok(Applied {
        bridge,
        host: veth,
        container,
    })
}

fn ensure_bridge_addresses(
    plan: &Plan,
    host: &mut dyn NetOps,
    bridge: &LinkInfo,
) -> Result<(), CniError> {
    if plan.bridge_addresses.is_empty() {
        return Ok(());
    }
    let existing = host.addresses(bridge.index).map_err(net_error)?;
    for &wanted in &plan.bridge_addresses {
        match bridge_address_change(&existing, wanted, plan.force_address) {
            AddressChange::Present => {}
            AddressChange::Add { remove } => {
                for old in remove {
                    tracing::info!(bridge = %bridge.name, old = %old, new = %wanted, "forceAddress: replacing bridge address");
                    host.del_address(bridge.index, old).map_err(net_error)?;
                }
                host.add_address(bridge.index, wanted, false).map_err(net_error)?;
            }
            AddressChange::Conflict { existing } => {
                return Err(CniError::new(
                    Code::InvalidConfig,
                    format!(
                        "bridge {:?} already has address {existing}, different from gateway {wanted} (set forceAddress to replace it)",
                        bridge.name
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn configure_container(plan: &Plan, ops: &mut dyn NetOps) -> Result<LinkInfo, CniError> {
    let c = &plan.container;
    let link = ops
        .link_by_name(&c.ifname)
        .map_err(net_error)?
        .ok_or_else(|| {
            net_error(NetError::NotFound {
                name: c.ifname.clone(),
            })
        })?;
    for s in &c.sysctls {
        ops.set_sysctl(&s.key, &s.value).map_err(net_error)?;
    }
    for &addr in &c.addresses {
        ops.add_address(link.index, addr, c.nodad && addr.addr().is_ipv6())
            .map_err(net_error)?;
    }
    if c.up {
        ops.set_up(link.index).map_err(net_error)?;
    }
    for r in &c.routes {
        ops.add_route(&RouteSpec {
            dst: r.dst,
            gw: r.gw,
            oif: link.index,
        })
        .map_err(net_error)?;
    }
    Ok(link)
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
