//! The [`IpamStore`] seam: where allocations live. [`super::disk::DiskStore`] keeps them in
//! host-local's on-disk format; [`MemStore`] keeps them in memory for tests.

use crate::conf::Attachment;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;

/// Who an allocation record names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    /// A `(container id, ifname)` attachment (`<id>\r\n<ifname>`).
    Attachment(Attachment),
    /// A container id alone, as host-local versions before 0.7 wrote.
    ContainerId(String),
    /// An empty or partial record, left by a writer killed mid-write; GC removes it.
    Garbage,
}

impl Holder {
    /// Whether this record belongs to `who`.
    pub fn is(&self, who: &Attachment) -> bool {
        match self {
            Holder::Attachment(a) => a == who,
            Holder::ContainerId(id) => *id == who.container_id,
            Holder::Garbage => false,
        }
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Where allocations live. Callers hold [`IpamStore::lock`] around every read-modify-write.
pub trait IpamStore {
    /// Held while the store is locked; dropping it unlocks.
    type Lock;

    /// Takes the store's exclusive lock (shared with other plugins using the same store).
    fn lock(&mut self) -> Result<Self::Lock, StoreError>;
    /// Records `ip` for `who` unless some record of `ip` exists; whether it did.
    fn reserve(&mut self, ip: IpAddr, who: &Attachment) -> Result<bool, StoreError>;
    /// The holder recorded for `ip`, if any.
    fn holder(&self, ip: IpAddr) -> Result<Option<Holder>, StoreError>;
    /// Removes the record of `ip` (no error when there is none).
    fn release(&mut self, ip: IpAddr) -> Result<(), StoreError>;
    /// The last address reserved in range set `set`, if recorded and readable.
    fn last_reserved(&self, set: usize) -> Result<Option<IpAddr>, StoreError>;
    /// Records the last address reserved in range set `set`.
    fn set_last_reserved(&mut self, set: usize, ip: IpAddr) -> Result<(), StoreError>;
    /// The addresses the index lists for `who`; `None` when the index has no entry.
    fn indexed(&self, who: &Attachment) -> Result<Option<Vec<IpAddr>>, StoreError>;
    /// Replaces the index entry of `who`; an empty list removes it.
    fn set_indexed(&mut self, who: &Attachment, ips: &[IpAddr]) -> Result<(), StoreError>;
    /// Every attachment with an index entry.
    fn index_entries(&self) -> Result<Vec<Attachment>, StoreError>;
    /// Every allocation record (a scan; cost grows with the number of allocations).
    fn list(&self) -> Result<Vec<(IpAddr, Holder)>, StoreError>;
    /// Removes leftovers of interrupted writes (scratch files, unreadable index entries).
    fn sweep(&mut self) -> Result<(), StoreError>;
}

/// An in-memory [`IpamStore`]: the fake for allocator tests. Fields are public so tests
/// can set up states a crash would leave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemStore {
    /// Allocation records.
    pub records: BTreeMap<IpAddr, Holder>,
    /// Last reserved address per range set.
    pub last: HashMap<usize, IpAddr>,
    /// The attachment index.
    pub index: HashMap<Attachment, Vec<IpAddr>>,
    /// Leftover scratch entries (what a killed writer leaves).
    pub scratch: usize,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl IpamStore for MemStore {
    type Lock = ();

    fn lock(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn reserve(&mut self, ip: IpAddr, who: &Attachment) -> Result<bool, StoreError> {
        if self.records.contains_key(&ip) {
            return Ok(false);
        }
        self.records.insert(ip, Holder::Attachment(who.clone()));
        Ok(true)
    }

    fn holder(&self, ip: IpAddr) -> Result<Option<Holder>, StoreError> {
        Ok(self.records.get(&ip).cloned())
    }

    fn release(&mut self, ip: IpAddr) -> Result<(), StoreError> {
        self.records.remove(&ip);
        Ok(())
    }

    fn last_reserved(&self, set: usize) -> Result<Option<IpAddr>, StoreError> {
        Ok(self.last.get(&set).copied())
    }

    fn set_last_reserved(&mut self, set: usize, ip: IpAddr) -> Result<(), StoreError> {
        self.last.insert(set, ip);
        Ok(())
    }

    fn indexed(&self, who: &Attachment) -> Result<Option<Vec<IpAddr>>, StoreError> {
        Ok(self.index.get(who).cloned())
    }

    fn set_indexed(&mut self, who: &Attachment, ips: &[IpAddr]) -> Result<(), StoreError> {
        if ips.is_empty() {
            self.index.remove(who);
        } else {
            self.index.insert(who.clone(), ips.to_vec());
        }
        Ok(())
    }

    fn index_entries(&self) -> Result<Vec<Attachment>, StoreError> {
        Ok(self.index.keys().cloned().collect())
    }

    fn list(&self) -> Result<Vec<(IpAddr, Holder)>, StoreError> {
        Ok(self
            .records
            .iter()
            .map(|(ip, h)| (*ip, h.clone()))
            .collect())
    }

    fn sweep(&mut self) -> Result<(), StoreError> {
        self.scratch = 0;
        Ok(())
    }
}

impl From<StoreError> for crate::error::CniError {
    fn from(e: StoreError) -> Self {
        crate::error::CniError::new(crate::error::Code::Io, e.to_string())
    }
}
