//! [`HostLocal`]: the `skiff-host-local` plugin, wiring configuration, the allocator and the
//! on-disk store to the CNI commands.

use super::allocator::Allocator;
use super::config::IpamConfig;
use super::disk::DiskStore;
use super::resolv;
use crate::conf::{self, Attachment};
use crate::error::{CniError, Code};
use crate::skel::{Plugin, Request};
use crate::types::{CniResult, Dns, IpConfig};
use std::collections::HashSet;
use std::net::IpAddr;

/// The host-local-compatible IPAM plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostLocal;

impl HostLocal {
    /// The plugin; the data directory comes from each request's `ipam.dataDir`.
    pub fn new() -> Self {
        Self
    }
}

fn attachment(req: &Request) -> Attachment {
    Attachment {
        container_id: req.inv.container_id().to_string(),
        ifname: req.inv.ifname().to_string(),
    }
}

fn requested_ips(req: &Request) -> Result<Vec<IpAddr>, CniError> {
    conf::requested(&req.stdin, &req.inv.args)?
        .ips
        .iter()
        .map(|s| conf::parse_requested_ip(s))
        .collect()
}

fn read_dns(cfg: &IpamConfig) -> Result<Dns, CniError> {
    let Some(path) = &cfg.resolv_conf else {
        return Ok(Dns::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        CniError::new(
            Code::InvalidConfig,
            format!("ipam.resolvConf {} cannot be read", path.display()),
        )
        .details(e)
    })?;
    Ok(resolv::parse(&text))
}

/// The addresses of `prevResult` (if any) that fall in the configured range sets.
fn previous_ips(req: &Request, cfg: &IpamConfig) -> Result<Vec<IpAddr>, CniError> {
    let v: serde_json::Value = serde_json::from_slice(&req.stdin)
        .map_err(|e| crate::error::from_json_error("network configuration", &e))?;
    let Some(prev) = v.get("prevResult").filter(|p| !p.is_null()) else {
        return Ok(Vec::new());
    };
    Ok(CniResult::from_json(prev)?
        .ips
        .iter()
        .map(|c| c.address.addr())
        .filter(|ip| cfg.range_sets.iter().any(|s| s.contains(*ip)))
        .collect())
}

impl Plugin for HostLocal {
    fn add(&self, req: &Request) -> Result<CniResult, CniError> {
        let cfg = IpamConfig::from_stdin(&req.stdin)?;
        let requested = requested_ips(req)?;
        let dns = read_dns(&cfg)?;
        let who = attachment(req);
        let mut store = DiskStore::create(&cfg.data_dir, &cfg.name)?;
        let leases = Allocator::new(&mut store, &cfg.range_sets).allocate(&who, &requested)?;
        tracing::info!(network = %cfg.name, container = %who.container_id, ifname = %who.ifname,
            addresses = ?leases.iter().map(|l| l.address).collect::<Vec<_>>(), "ADD");
        Ok(CniResult {
            interfaces: Vec::new(),
            ips: leases
                .into_iter()
                .map(|l| IpConfig {
                    address: l.address,
                    gateway: Some(l.gateway),
                    interface: None,
                })
                .collect(),
            routes: cfg.routes,
            dns,
        })
    }

    fn del(&self, req: &Request) -> Result<(), CniError> {
        let cfg = IpamConfig::from_stdin(&req.stdin)?;
        let who = attachment(req);
        if let Some(mut store) = DiskStore::open_existing(&cfg.data_dir, &cfg.name)? {
            let released = Allocator::new(&mut store, &cfg.range_sets).release(&who)?;
            tracing::info!(network = %cfg.name, container = %who.container_id,
                ifname = %who.ifname, ?released, "DEL");
        }
        Ok(())
    }

    fn check(&self, req: &Request) -> Result<(), CniError> {
        let cfg = IpamConfig::from_stdin(&req.stdin)?;
        let who = attachment(req);
        let held = match DiskStore::open_existing(&cfg.data_dir, &cfg.name)? {
            Some(mut store) => Allocator::new(&mut store, &cfg.range_sets).held(&who)?,
            None => Vec::new(),
        };
        if held.is_empty() {
            return Err(CniError::new(
                Code::UnknownContainer,
                format!(
                    "no address of network {} is allocated to container {} interface {}",
                    cfg.name, who.container_id, who.ifname
                ),
            ));
        }
        if let Some(ip) = previous_ips(req, &cfg)?
            .into_iter()
            .find(|ip| !held.contains(ip))
        {
            return Err(CniError::new(
                Code::InvalidConfig,
                format!(
                    "prevResult lists {ip}, which is not allocated to container {} interface {}",
                    who.container_id, who.ifname
                ),
            ));
        }
        Ok(())
    }

    fn status(&self, req: &Request) -> Result<(), CniError> {
        let cfg = IpamConfig::from_stdin(&req.stdin)?;
        let Some(mut store) = DiskStore::open_existing(&cfg.data_dir, &cfg.name)? else {
            return Ok(());
        };
        let full = Allocator::new(&mut store, &cfg.range_sets).exhausted()?;
        if let Some(&set) = full.first() {
            return Err(CniError::new(
                Code::NotAvailable,
                format!(
                    "no IP addresses available in range set {set} ({})",
                    cfg.range_sets[set]
                ),
            ));
        }
        Ok(())
    }

    fn gc(&self, req: &Request) -> Result<(), CniError> {
        let valid: HashSet<Attachment> = conf::valid_attachments(&req.stdin)?.into_iter().collect();
        let cfg = IpamConfig::from_stdin(&req.stdin)?;
        if let Some(mut store) = DiskStore::open_existing(&cfg.data_dir, &cfg.name)? {
            let released = Allocator::new(&mut store, &cfg.range_sets).gc(&valid)?;
            tracing::info!(network = %cfg.name, ?released, "GC");
        }
        Ok(())
    }
}
