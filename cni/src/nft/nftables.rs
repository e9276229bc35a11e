//! [`Firewall`] over libnftables, in-process: one transaction per change, reads only where a
//! change needs to know what is installed.

use std::sync::OnceLock;
use std::time::Instant;

use super::check::compare;
use super::library::{Context, Library};
use super::listing::{parse_listing, Listing};
use super::naming::{chain_name, Family, TABLE};
use super::plan::{conflicts, gc_removal, removal_from_chains, removal_of_chain};
use super::script::{add_script, removal_script};
use super::{AttachmentKey, AttachmentRules, Firewall, NftError};

/// The kernel's nftables through libnftables, loaded the first time rules are needed.
#[derive(Default)]
pub struct Nftables {
    lib: OnceLock<Result<Library, String>>,
}

impl std::fmt::Debug for Nftables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nftables")
            .field("loaded", &matches!(self.lib.get(), Some(Ok(_))))
            .finish()
    }
}

impl Nftables {
    /// A firewall that loads libnftables on first use (so binaries start without it).
    pub fn new() -> Self {
        Self::default()
    }

    /// A firewall with libnftables loaded now; fails when it is not installed.
    pub fn load() -> Result<Self, NftError> {
        let fw = Self::new();
        fw.library()?;
        Ok(fw)
    }

    fn library(&self) -> Result<&Library, NftError> {
        self.lib
            .get_or_init(|| Library::load().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| NftError::Library(e.clone()))
    }

    /// Runs `f` in a fresh context, or returns `Ok(None)` without libnftables: a host without it
    /// cannot hold Skiff rules, so removing them is already done.
    fn removing<T>(
        &self,
        f: impl FnOnce(&mut Context<'_>) -> Result<T, NftError>,
    ) -> Result<Option<T>, NftError> {
        match self.library() {
            Ok(lib) => lib.with_context(f).map(Some),
            Err(e) => {
                tracing::warn!(error = %e, "no nftables rules to remove");
                Ok(None)
            }
        }
    }
}

/// `list table` of both Skiff tables; a missing table lists as empty.
fn read_tables(ctx: &mut Context<'_>) -> Result<Vec<Listing>, NftError> {
    Family::ALL
        .iter()
        .map(|&f| {
            let cmd = format!("list table {} {TABLE}", f.keyword());
            match ctx.list(&cmd)? {
                Some(json) => parse_listing(f, &json),
                None => Ok(Listing::empty(f)),
            }
        })
        .collect()
}

/// `list chain` of `chain` in both tables; only the families where it exists.
fn read_chain(ctx: &mut Context<'_>, chain: &str) -> Result<Vec<Listing>, NftError> {
    let mut out = Vec::new();
    for f in Family::ALL {
        let cmd = format!("list chain {} {TABLE} {chain}", f.keyword());
        if let Some(json) = ctx.list(&cmd)? {
            out.push(parse_listing(f, &json)?);
        }
    }
    Ok(out)
}

impl Firewall for Nftables {
    fn add(&self, key: &AttachmentKey, rules: &AttachmentRules) -> Result<(), NftError> {
        let script = add_script(key, rules)?;
        if script.is_empty() {
            return Ok(());
        }
        let start = Instant::now();
        self.library()?.with_context(|ctx| {
            // The common path writes without reading; only a leftover makes it fail.
            let Err(first) = ctx.apply(&script) else {
                return Ok(());
            };
            let tables = read_tables(ctx)?;
            let removal = conflicts(key, rules, &tables);
            if removal.is_empty() {
                return Err(first);
            }
            tracing::info!(
                network = %key.network, container = %key.container_id, ifname = %key.ifname,
                elements = removal.elements.len(), chains = removal.chains.len(),
                "replacing leftover nftables rules"
            );
            ctx.apply(&(removal_script(&removal) + &script))
        })?;
        tracing::debug!(
            network = %key.network, container = %key.container_id, ifname = %key.ifname,
            chain = %chain_name(key), elapsed_us = start.elapsed().as_micros() as u64,
            "nftables rules added"
        );
        Ok(())
    }

    fn del(&self, key: &AttachmentKey) -> Result<(), NftError> {
        let chain = chain_name(key);
        self.removing(|ctx| {
            let removal = removal_from_chains(&chain, &read_chain(ctx, &chain)?);
            if removal.is_empty() {
                return Ok(());
            }
            if let Err(first) = ctx.apply(&removal_script(&removal)) {
                // Rules and elements disagree (edited by hand?): go by the maps instead.
                tracing::warn!(chain = %chain, error = %first, "deleting by the map contents");
                let removal = removal_of_chain(&chain, &read_tables(ctx)?);
                if !removal.is_empty() {
                    ctx.apply(&removal_script(&removal))?;
                }
            }
            tracing::debug!(
                network = %key.network, container = %key.container_id, ifname = %key.ifname,
                chain = %chain, "nftables rules deleted"
            );
            Ok(())
        })
        .map(drop)
    }

    fn check(&self, key: &AttachmentKey, rules: &AttachmentRules) -> Result<(), NftError> {
        let tables = self.library()?.with_context(read_tables)?;
        compare(key, rules, &tables)
    }

    fn gc(&self, network: &str, keep: &[AttachmentKey]) -> Result<(), NftError> {
        self.removing(|ctx| {
            let removal = gc_removal(network, keep, &read_tables(ctx)?);
            if removal.is_empty() {
                return Ok(());
            }
            tracing::info!(
                network = %network, chains = removal.chains.len(),
                "removing nftables rules of stale attachments"
            );
            ctx.apply(&removal_script(&removal))
        })
        .map(drop)
    }
}
