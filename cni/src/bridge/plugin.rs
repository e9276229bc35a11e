//! The `skiff-bridge` plugin: ADD, DEL, CHECK, STATUS and GC over the bridge's seams.

use super::apply::apply;
use super::config::Config;
use super::ipam::Ipam;
use super::names::parse_mac;
use super::namespaces::Namespaces;
use super::plan::plan;
use crate::conf;
use crate::error::{CniError, Code};
use crate::nft::{AttachmentKey, Firewall};
use crate::skel::{Plugin, Request};
use crate::types::CniResult;

/// The bridge plugin, with its kernel, firewall and IPAM passed in.
pub struct Bridge {
    pub(super) namespaces: Box<dyn Namespaces>,
    pub(super) firewall: Box<dyn Firewall>,
    pub(super) ipam: Box<dyn Ipam>,
}

impl Bridge {
    /// A plugin over the given seams.
    pub fn new(
        namespaces: Box<dyn Namespaces>,
        firewall: Box<dyn Firewall>,
        ipam: Box<dyn Ipam>,
    ) -> Self {
        Self {
            namespaces,
            firewall,
            ipam,
        }
    }
}

/// The attachment a request is about.
pub(super) fn attachment(config: &Config, req: &Request) -> AttachmentKey {
    AttachmentKey {
        network: config.name.clone(),
        container_id: req.inv.container_id().to_string(),
        ifname: req.inv.ifname().to_string(),
    }
}

/// Folds the errors of a teardown that kept going into one: the first error's code, every
/// message.
pub(super) fn combine(errors: Vec<CniError>) -> Result<(), CniError> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.into_iter().next().expect("one error")),
        n => {
            let msg = errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            Err(CniError {
                code: errors[0].code,
                msg: format!("{n} errors: {msg}"),
                details: String::new(),
            })
        }
    }
}

impl Plugin for Bridge {
    fn add(&self, req: &Request) -> Result<CniResult, CniError> {
        let config = Config::parse(&req.stdin)?;
        let key = attachment(&config, req);
        let requested = conf::requested(&req.stdin, &req.inv.args)?;
        let mac = match requested.mac.as_deref() {
            None => None,
            Some(s) => Some(parse_mac(s).ok_or_else(|| {
                CniError::new(
                    Code::InvalidConfig,
                    format!("requested mac {s:?} is not a MAC address"),
                )
            })?),
        };
        let netns_path = req.inv.netns.clone().ok_or_else(|| {
            CniError::new(Code::InvalidEnvironment, "CNI_NETNS is required for ADD")
        })?;
        // Open the namespace before allocating, so a missing one costs nothing.
        let netns = self.namespaces.open(&netns_path)?;
        // Loading libnftables and opening its socket overlaps the IPAM plugin's run.
        let needs_rules = config.ip_masq || config.macspoofchk;
        let ipam_result = std::thread::scope(|s| {
            let prepared = needs_rules.then(|| s.spawn(|| self.firewall.prepare()));
            let ipam_result = self.ipam_add(&config, req);
            // A failed preparation is not an error yet: adding the rules reports it.
            if let Some(Err(e)) = prepared.map(|p| p.join()) {
                std::panic::resume_unwind(e);
            }
            ipam_result
        })?;
        let plan = plan(&config, &key, &ipam_result, mac);
        match apply(
            &plan,
            self.namespaces.as_ref(),
            &netns,
            self.firewall.as_ref(),
        ) {
            Ok(applied) => {
                tracing::info!(
                    network = %key.network,
                    container = %key.container_id,
                    ifname = %key.ifname,
                    veth = %plan.veth.host_name,
                    "attached"
                );
                Ok(applied.result(&plan, &netns_path))
            }
            Err(e) => {
                if let Some(ipam) = &config.ipam_type {
                    self.release(ipam, req);
                }
                Err(e)
            }
        }
    }

    fn del(&self, req: &Request) -> Result<(), CniError> {
        super::teardown::del(self, req)
    }

    fn check(&self, req: &Request) -> Result<(), CniError> {
        super::check::check(self, req)
    }

    fn status(&self, req: &Request) -> Result<(), CniError> {
        let config = Config::parse(&req.stdin)?;
        match &config.ipam_type {
            Some(ipam) => self.ipam.status(ipam, req),
            None => Ok(()),
        }
    }

    fn gc(&self, req: &Request) -> Result<(), CniError> {
        super::teardown::gc(self, req)
    }
}

impl Bridge {
    /// Releases this attachment's addresses after a failed ADD; the ADD's error is what counts.
    /// IPAM ADD, insisting on at least one address when an IPAM plugin is configured.
    fn ipam_add(&self, config: &Config, req: &Request) -> Result<CniResult, CniError> {
        let Some(ipam) = &config.ipam_type else {
            return Ok(CniResult::default());
        };
        let r = self.ipam.add(ipam, req)?;
        if r.ips.is_empty() {
            self.release(ipam, req);
            return Err(CniError::new(
                Code::Delegate,
                format!("IPAM plugin {ipam} returned no IP configuration"),
            ));
        }
        Ok(r)
    }

    fn release(&self, ipam: &str, req: &Request) {
        if let Err(e) = self.ipam.del(ipam, req) {
            tracing::warn!(ipam, error = %e, "cannot release addresses after a failed ADD");
        }
    }
}

#[cfg(test)]
#[path = "plugin_tests.rs"]
mod tests;
