//! [`Firewall`] over libnftables, in-process: one transaction per change, reads only where a
//! change needs to know what is installed.

use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, OnceLock};

use super::check::compare;
use super::library::{Context, Library};
use super::listing::{parse_listing, Listing};
use super::naming::{chain_name, Family, TABLE};
use super::plan::{
    base_repairs, conflicts, gc_removal, removal_from_chains, removal_of_chain, Removal,
};
use super::script::{add_script, base_script, removal_script};
use super::{AttachmentKey, AttachmentRules, Firewall, NftError};

/// The kernel's nftables through libnftables, loaded the first time rules are needed.
///
/// The libnftables context (and its netlink socket) is kept until this value is dropped or is
/// used from another network namespace: closing the socket after a transaction that deleted
/// something waits for an RCU grace period (~10 ms), so a plugin should drop it last (after
/// deleting the veth, say) where that wait has already passed.
#[derive(Default)]
pub struct Nftables {
    lib: OnceLock<Result<Library, String>>,
    ctx: Mutex<Option<(NetnsId, Context)>>,
}

/// Identity (device, inode) of a network namespace.
type NetnsId = (u64, u64);

fn current_netns() -> Result<NetnsId, NftError> {
    let m = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| NftError::Library(format!("cannot identify the network namespace: {e}")))?;
    Ok((m.dev(), m.ino()))
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

    /// Runs `f` with the context of the calling thread's network namespace.
    fn with_context<T>(
        &self,
        f: impl FnOnce(&mut Context) -> Result<T, NftError>,
    ) -> Result<T, NftError> {
        let lib = self.library()?;
        let ns = current_netns()?;
        let mut slot = self.ctx.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|(at, _)| *at != ns) {
            *slot = None;
            *slot = Some((ns, lib.context()?));
        }
        let (_, ctx) = slot.as_mut().expect("context set above");
        f(ctx)
    }

    /// Like [`with_context`](Self::with_context), but `Ok(None)` without libnftables: a host
    /// without it cannot hold Skiff rules, so removing them is already done.
    fn removing<T>(
        &self,
        f: impl FnOnce(&mut Context) -> Result<T, NftError>,
    ) -> Result<Option<T>, NftError> {
        if let Err(e) = self.library() {
            tracing::warn!(error = %e, "no nftables rules to remove");
            return Ok(None);
        }
        self.with_context(f).map(Some)
    }
}

/// `list table` of both Skiff tables; a missing table lists as empty.
fn read_tables(ctx: &mut Context) -> Result<Vec<Listing>, NftError> {
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
fn read_chain(ctx: &mut Context, chain: &str) -> Result<Vec<Listing>, NftError> {
    let mut out = Vec::new();
    for f in Family::ALL {
        let cmd = format!("list chain {} {TABLE} {chain}", f.keyword());
        if let Some(json) = ctx.list(&cmd)? {
            out.push(parse_listing(f, &json)?);
        }
    }
    Ok(out)
}

fn apply_removal(ctx: &mut Context, removal: &Removal) -> Result<(), NftError> {
    if removal.is_empty() {
        return Ok(());
    }
    ctx.apply(&removal_script(removal))
}

impl Firewall for Nftables {
    fn prepare(&self) -> Result<(), NftError> {
        self.with_context(|_| Ok(()))
    }

    fn close(&self) {
        let ctx = self.ctx.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(ctx);
    }

    fn add(&self, key: &AttachmentKey, rules: &AttachmentRules) -> Result<(), NftError> {
        let script = add_script(key, rules)?;
        if script.is_empty() {
            return Ok(());
        }
        self.with_context(|ctx| {
            // The common path is one write and no read. It fails as a whole when the base
            // objects are missing (first attachment) or a leftover is in the way.
            match ctx.apply(&script) {
                Ok(()) => return Ok(()),
                Err(first) => tracing::debug!(error = %first, "reading what is in the way"),
            }
            // Retried even when the listing shows nothing in the way: another process may
            // have created the base objects between the failure and the read.
            let tables = read_tables(ctx)?;
            let repairs = base_repairs(rules, &tables);
            let removal = conflicts(key, rules, &tables);
            if !removal.is_empty() {
                tracing::info!(
                    network = %key.network, container = %key.container_id, ifname = %key.ifname,
                    elements = removal.elements.len(), rules = removal.rules.len(),
                    chains = removal.chains.len(),
                    "replacing leftover nftables rules"
                );
            }
            let mut retry: String = repairs.into_iter().map(base_script).collect();
            retry.push_str(&removal_script(&removal));
            retry.push_str(&script);
            ctx.apply(&retry)
        })?;
        tracing::debug!(
            network = %key.network, container = %key.container_id, ifname = %key.ifname,
            chain = %chain_name(key), "nftables rules added"
        );
        Ok(())
    }

    fn del(&self, key: &AttachmentKey) -> Result<(), NftError> {
        let chain = chain_name(key);
        self.removing(|ctx| {
            let removal = removal_from_chains(&chain, &read_chain(ctx, &chain)?);
            if let Err(first) = apply_removal(ctx, &removal) {
                // Rules and elements disagree (edited by hand?): go by the maps instead.
                tracing::warn!(chain = %chain, error = %first, "deleting by the map contents");
                let tables = read_tables(ctx)?;
                apply_removal(ctx, &removal_of_chain(&chain, &tables))?;
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
        let tables = self.with_context(read_tables)?;
        compare(key, rules, &tables)
    }

    fn gc(&self, network: &str, keep: &[AttachmentKey]) -> Result<(), NftError> {
        self.removing(|ctx| {
            let removal = gc_removal(network, keep, &read_tables(ctx)?);
            if !removal.is_empty() {
                tracing::info!(
                    network = %network, chains = removal.chains.len(),
                    "removing nftables rules of stale attachments"
                );
            }
            apply_removal(ctx, &removal)
        })
        .map(drop)
    }
}
