//! DEL and GC: remove host-side state by derived names and attachment keys, without the
//! container's namespace. Both keep going past errors and report them all.

use super::config::Config;
use super::names::{host_veth_name, is_host_veth_name};
use super::namespaces::net_error;
use super::plugin::{attachment, combine, Bridge};
use crate::conf::valid_attachments;
use crate::error::CniError;
use crate::nft::AttachmentKey;
use crate::skel::Request;
use std::collections::HashSet;

/// DEL: delete the host veth (its peer goes with it), the firewall rules, then the addresses.
/// Idempotent; needs neither the netns nor `prevResult`.
pub(super) fn del(bridge: &Bridge, req: &Request) -> Result<(), CniError> {
    let config = Config::parse(&req.stdin)?;
    let key = attachment(&config, req);
    let veth = host_veth_name(&key);
    // The three removals are independent, and the first two wait on the kernel (a veth's
    // deletion and the socket close after an nftables deletion each wait for RCU), so they
    // run side by side.
    let (veth_result, firewall_result, ipam_result) = std::thread::scope(|s| {
        let veth_job = s.spawn(|| -> Result<(), CniError> {
            let existed = bridge
                .namespaces
                .host()?
                .delete_link(&veth)
                .map_err(net_error)?;
            tracing::debug!(veth, existed, "host veth deleted");
            Ok(())
        });
        let ipam_job = s.spawn(|| match &config.ipam_type {
            Some(ipam) => bridge.ipam.del(ipam, req),
            None => Ok(()),
        });
        let firewall = bridge.firewall.del(&key).map_err(CniError::from);
        bridge.firewall.close();
        (join(veth_job), firewall, join(ipam_job))
    });
    let errors: Vec<CniError> = [veth_result, firewall_result, ipam_result]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if errors.is_empty() {
        tracing::info!(network = %key.network, container = %key.container_id, ifname = %key.ifname, "detached");
    }
    combine(errors)
}

fn join(job: std::thread::ScopedJoinHandle<'_, Result<(), CniError>>) -> Result<(), CniError> {
    job.join()
        .unwrap_or_else(|_| Err(CniError::new(crate::error::Code::Io, "a DEL step panicked")))
}

/// GC: drop the rules and host veths of attachments not listed as valid, then let IPAM
/// release their addresses.
pub(super) fn gc(bridge: &Bridge, req: &Request) -> Result<(), CniError> {
    let config = Config::parse(&req.stdin)?;
    let keep: Vec<AttachmentKey> = valid_attachments(&req.stdin)?
        .into_iter()
        .map(|a| AttachmentKey {
            network: config.name.clone(),
            container_id: a.container_id,
            ifname: a.ifname,
        })
        .collect();
    let mut errors = Vec::new();
    if let Err(e) = bridge.firewall.gc(&config.name, &keep) {
        errors.push(e.into());
    }
    if let Err(e) = gc_veths(bridge, &config, &keep) {
        errors.push(e);
    }
    if let Some(ipam) = &config.ipam_type {
        if let Err(e) = bridge.ipam.gc(ipam, req) {
            errors.push(e);
        }
    }
    combine(errors)
}

/// Deletes host links with this network's derived-name form that belong to no valid
/// attachment — bridge ports, and veths an interrupted ADD never attached. Deleting a veth
/// that vanished meanwhile is fine.
fn gc_veths(bridge: &Bridge, config: &Config, keep: &[AttachmentKey]) -> Result<(), CniError> {
    let mut host = bridge.namespaces.host()?;
    let valid: HashSet<String> = keep.iter().map(host_veth_name).collect();
    let mut errors = Vec::new();
    for port in host.links().map_err(net_error)? {
        if is_host_veth_name(&config.name, &port.name) && !valid.contains(&port.name) {
            tracing::info!(network = %config.name, veth = %port.name, "GC: deleting veth of a stale attachment");
            if let Err(e) = host.delete_link(&port.name) {
                errors.push(net_error(e));
            }
        }
    }
    combine(errors)
}
