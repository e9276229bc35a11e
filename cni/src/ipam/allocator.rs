//! The allocator: host-local's round-robin policy over an [`IpamStore`] and validated
//! [`RangeSet`]s. Every operation takes the store's lock once and holds it throughout.

use super::range::{next, RangeSet};
use super::store::{Holder, IpamStore, StoreError};
use crate::conf::Attachment;
use crate::error::{CniError, Code};
use ipnet::IpNet;
use std::collections::HashSet;
use std::net::IpAddr;

/// One address held by an attachment, with what a result needs to describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Index of the range set the address came from.
    pub set: usize,
    /// The address with its subnet's prefix length.
    pub address: IpNet,
    /// The gateway of the address's range.
    pub gateway: IpAddr,
}

/// Why an allocation failed.
#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    /// Every address of a range set is taken.
    #[error("no IP addresses available in range set {set} ({ranges})")]
    Exhausted {
        /// Range set index.
        set: usize,
        /// Its ranges.
        ranges: String,
    },
    /// A requested address lies in no configured range.
    #[error("requested IP address {ip} is in no configured range")]
    RequestedOutside {
        /// The address.
        ip: IpAddr,
    },
    /// A requested address is its range's gateway.
    #[error("requested IP address {ip} is the gateway of range set {set}")]
    RequestedGateway {
        /// The address.
        ip: IpAddr,
        /// Range set index.
        set: usize,
    },
    /// Two requested addresses fall in one range set.
    #[error("requested IP addresses {first} and {second} are both in range set {set}")]
    RequestedTwice {
        /// One address.
        first: IpAddr,
        /// The other.
        second: IpAddr,
        /// Range set index.
        set: usize,
    },
    /// A requested address is held by another attachment.
    #[error("requested IP address {ip} is not available in range set {set} ({ranges})")]
    RequestedTaken {
        /// The address.
        ip: IpAddr,
        /// Range set index.
        set: usize,
        /// Its ranges.
        ranges: String,
    },
    /// The attachment already holds a different address than the one requested.
    #[error("the attachment already holds {held} in range set {set}, not the requested {ip}")]
    HeldOther {
        /// What it holds.
        held: IpAddr,
        /// What was requested.
        ip: IpAddr,
        /// Range set index.
        set: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AllocError> for CniError {
    fn from(e: AllocError) -> Self {
        let code = match e {
            AllocError::Exhausted { .. } => Code::AddressExhausted,
            AllocError::Store(_) => Code::Io,
            // The request cannot be met as given: the spec's "invalid network config".
            _ => Code::InvalidConfig,
        };
        CniError::new(code, e.to_string())
    }
}

/// Allocates, releases and collects addresses of one network.
pub struct Allocator<'a, S: IpamStore> {
    store: &'a mut S,
    sets: &'a [RangeSet],
}

impl<'a, S: IpamStore> Allocator<'a, S> {
    /// An allocator over `store` for the network's range sets.
    pub fn new(store: &'a mut S, sets: &'a [RangeSet]) -> Self {
        Self { store, sets }
    }

    /// Gives `who` one address per range set: the one it already holds there (a retried ADD),
    /// else the requested one, else the next free one after the last reserved. All or nothing.
    ///
    /// Each new address enters `who`'s index entry before its record is written, so a writer
    /// killed in between leaves an index entry naming a missing record (ignored, as every
    /// entry is verified), never a record without an entry that DEL would have to scan for.
    pub fn allocate(
        &mut self,
        who: &Attachment,
        requested: &[IpAddr],
    ) -> Result<Vec<Lease>, AllocError> {
        let wanted = self.place_requested(requested)?;
        let _lock = self.store.lock()?;
        let held = self.held_locked(who, false)?;
        let mut claim = Claim {
            who,
            index: held.clone(),
            fresh: Vec::new(),
        };
        let mut leases = Vec::new();
        for (i, set) in self.sets.iter().enumerate() {
            let existing = held.iter().copied().find(|ip| set.contains(*ip));
            let got = match (existing, wanted[i]) {
                (Some(h), None) => Ok(h),
                (Some(h), Some(w)) if h == w => Ok(h),
                (Some(held), Some(ip)) => Err(AllocError::HeldOther { held, ip, set: i }),
                (None, Some(ip)) => self.reserve_requested(i, ip, &mut claim),
                (None, None) => self.reserve_next(i, &mut claim),
            };
            match got {
                Ok(ip) => leases.push(lease(i, set, ip)),
                Err(e) => {
                    self.undo(&claim, &held);
                    return Err(e);
                }
            }
        }
        tracing::debug!(container = %who.container_id, ifname = %who.ifname, ?leases, "allocated");
        Ok(leases)
    }

    /// Releases every address `who` holds; nothing to release is not an error.
    pub fn release(&mut self, who: &Attachment) -> Result<Vec<IpAddr>, AllocError> {
        let _lock = self.store.lock()?;
        let ips = self.held_locked(who, true)?;
        for ip in &ips {
            self.store.release(*ip)?;
        }
        self.store.set_indexed(who, &[])?;
        tracing::debug!(container = %who.container_id, ifname = %who.ifname, ?ips, "released");
        Ok(ips)
    }

    /// The addresses `who` holds (its index entry, or a scan when it has none).
    pub fn held(&mut self, who: &Attachment) -> Result<Vec<IpAddr>, AllocError> {
        let _lock = self.store.lock()?;
        self.held_locked(who, true)
    }

    /// Removes every record and index entry whose attachment is not in `valid`, and every
    /// leftover of an interrupted write. Returns the addresses released.
    pub fn gc(&mut self, valid: &HashSet<Attachment>) -> Result<Vec<IpAddr>, AllocError> {
        let _lock = self.store.lock()?;
        let mut released = Vec::new();
        for (ip, holder) in self.store.list()? {
            let keep = match &holder {
                Holder::Attachment(a) => valid.contains(a),
                Holder::ContainerId(id) => valid.iter().any(|v| v.container_id == *id),
                Holder::Garbage => false,
            };
            if !keep {
                self.store.release(ip)?;
                released.push(ip);
            }
        }
        for who in self.store.index_entries()? {
            if !valid.contains(&who) {
                self.store.set_indexed(&who, &[])?;
                continue;
            }
            let listed = self.store.indexed(&who)?.unwrap_or_default();
            let verified = self.verified(&who, &listed)?;
            if verified.len() != listed.len() {
                self.store.set_indexed(&who, &verified)?;
            }
        }
        self.store.sweep()?;
        tracing::info!(released = released.len(), "garbage collected");
        Ok(released)
    }

    /// Indexes of the range sets with no free address left (a scan).
    pub fn exhausted(&mut self) -> Result<Vec<usize>, AllocError> {
        let _lock = self.store.lock()?;
        let records = self.store.list()?;
        Ok(self
            .sets
            .iter()
            .enumerate()
            .filter(|(_, set)| {
                let taken = records
                    .iter()
                    .filter(|(ip, _)| set.contains(*ip) && !set.is_gateway(*ip))
                    .count() as u128;
                taken >= set.capacity()
            })
            .map(|(i, _)| i)
            .collect())
    }

    fn place_requested(&self, requested: &[IpAddr]) -> Result<Vec<Option<IpAddr>>, AllocError> {
        let mut wanted = vec![None; self.sets.len()];
        for &ip in requested {
            let set = self
                .sets
                .iter()
                .position(|s| s.contains(ip))
                .ok_or(AllocError::RequestedOutside { ip })?;
            if self.sets[set].is_gateway(ip) {
                return Err(AllocError::RequestedGateway { ip, set });
            }
            if let Some(first) = wanted[set] {
                return Err(AllocError::RequestedTwice {
                    first,
                    second: ip,
                    set,
                });
            }
            wanted[set] = Some(ip);
        }
        Ok(wanted)
    }

    /// What `who` holds: its verified index entry; without one, a scan if `scan` is set.
    fn held_locked(&mut self, who: &Attachment, scan: bool) -> Result<Vec<IpAddr>, AllocError> {
        if let Some(listed) = self.store.indexed(who)? {
            return self.verified(who, &listed);
        }
        if !scan {
            return Ok(Vec::new());
        }
        let records = self.store.list()?;
        let exact: Vec<IpAddr> = records
            .iter()
            .filter(|(_, h)| matches!(h, Holder::Attachment(a) if a == who))
            .map(|(ip, _)| *ip)
            .collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        // Records by container id alone (old host-local), as host-local itself falls back.
        Ok(records
            .iter()
            .filter(|(_, h)| matches!(h, Holder::ContainerId(id) if *id == who.container_id))
            .map(|(ip, _)| *ip)
            .collect())
    }

    /// The listed addresses whose records still name `who`.
    fn verified(&self, who: &Attachment, listed: &[IpAddr]) -> Result<Vec<IpAddr>, AllocError> {
        let mut out = Vec::new();
        for &ip in listed {
            if matches!(self.store.holder(ip)?, Some(Holder::Attachment(a)) if a == *who) {
                out.push(ip);
            }
        }
        Ok(out)
    }

    /// Takes `ip` for the claim if it is free: index entry first, then the record.
    fn take(&mut self, set: usize, ip: IpAddr, claim: &mut Claim<'_>) -> Result<bool, AllocError> {
        if self.store.holder(ip)?.is_some() {
            return Ok(false);
        }
        claim.index.push(ip);
        self.store.set_indexed(claim.who, &claim.index)?;
        if !self.store.reserve(ip, claim.who)? {
            claim.index.pop();
            return Ok(false);
        }
        claim.fresh.push(ip);
        self.store.set_last_reserved(set, ip)?;
        Ok(true)
    }

    fn reserve_requested(
        &mut self,
        set: usize,
        ip: IpAddr,
        claim: &mut Claim<'_>,
    ) -> Result<IpAddr, AllocError> {
        if self.take(set, ip, claim)? {
            return Ok(ip);
        }
        // A record of this attachment that its index entry missed (written by host-local).
        if matches!(self.store.holder(ip)?, Some(Holder::Attachment(a)) if a == *claim.who) {
            claim.index.push(ip);
            self.store.set_indexed(claim.who, &claim.index)?;
            return Ok(ip);
        }
        Err(AllocError::RequestedTaken {
            ip,
            set,
            ranges: self.sets[set].to_string(),
        })
    }

    /// host-local's round robin: from the address after the last reserved one (or the first
    /// range's start), through each range in order, wrapping, skipping gateways.
    fn reserve_next(
        &mut self,
        set_idx: usize,
        claim: &mut Claim<'_>,
    ) -> Result<IpAddr, AllocError> {
        let set = &self.sets[set_idx];
        let last = self
            .store
            .last_reserved(set_idx)?
            .filter(|ip| set.contains(*ip));
        let mut range = last
            .and_then(|ip| set.ranges.iter().position(|r| r.contains(ip)))
            .unwrap_or(0);
        let mut cur = last;
        let mut first = None;
        loop {
            let r = &set.ranges[range];
            let candidate = match cur {
                None => r.start,
                Some(c) if c == r.end => {
                    range = (range + 1) % set.ranges.len();
                    set.ranges[range].start
                }
                Some(c) => next(c),
            };
            cur = Some(candidate);
            match first {
                Some(f) if f == candidate => break,
                Some(_) => {}
                None => first = Some(candidate),
            }
            if candidate == set.ranges[range].gateway {
                continue;
            }
            if self.take(set_idx, candidate, claim)? {
                return Ok(candidate);
            }
        }
        Err(AllocError::Exhausted {
            set: set_idx,
            ranges: set.to_string(),
        })
    }

    /// Releases what a failed ADD took and restores the index entry.
    fn undo(&mut self, claim: &Claim<'_>, held: &[IpAddr]) {
        for ip in &claim.fresh {
            if let Err(e) = self.store.release(*ip) {
                tracing::warn!(%ip, error = %e, "could not undo a reservation; GC will remove it");
            }
        }
        if let Err(e) = self.store.set_indexed(claim.who, held) {
            tracing::warn!(error = %e, "could not restore an index entry; GC will remove it");
        }
    }
}

/// What one ADD has taken so far.
struct Claim<'w> {
    who: &'w Attachment,
    /// The attachment's index entry as written.
    index: Vec<IpAddr>,
    /// Addresses this ADD reserved.
    fresh: Vec<IpAddr>,
}

fn lease(set: usize, rs: &RangeSet, ip: IpAddr) -> Lease {
    let range = rs.range_for(ip).expect("leases are inside their range set");
    Lease {
        set,
        address: IpNet::new(ip, range.subnet.prefix_len()).expect("prefix of a valid subnet"),
        gateway: range.gateway,
    }
}

#[cfg(test)]
#[path = "allocator_tests.rs"]
mod tests;
