//! The seam to the masquerade table: the whole table written through libnftables (at start),
//! element changes over nfnetlink (every later sync).

use std::io;

use skiff_cni::nft::{NftError, NftRunner};

use super::elements::{ElementSocket, ElementsError, SetChange};
use super::masq::MASQ_TABLE;
use crate::nft::{FakeNft, NftKernel};

/// Why the masquerade table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MasqTableError {
    /// libnftables refused the table script.
    #[error("writing the masquerade table")]
    Script(#[from] NftError),
    /// The kernel refused element changes.
    #[error("changing masquerade set elements")]
    Elements(#[from] ElementsError),
}

/// The masquerade table as the IPVS dataplane writes it.
pub trait MasqKernel: Send {
    /// Applies a whole-table script as one transaction.
    fn apply_script(&mut self, script: &str) -> Result<(), MasqTableError>;
    /// Applies element changes to the table's sets as one transaction.
    fn change_elements(&mut self, changes: &[SetChange]) -> Result<(), MasqTableError>;
    /// Whether the table exists.
    fn table_exists(&mut self) -> Result<bool, MasqTableError>;
}

/// libnftables for the table, an nfnetlink socket for its elements.
pub struct MasqWriter {
    nft: NftRunner,
    elements: ElementSocket,
}

impl MasqWriter {
    /// Loads libnftables and opens the socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, MasqTableError> {
        let nft = NftRunner::load()?;
        let elements = ElementSocket::open().map_err(|source| ElementsError::Io {
            operation: "opening",
            source,
        })?;
        Ok(Self { nft, elements })
    }
}

impl MasqKernel for MasqWriter {
    fn apply_script(&mut self, script: &str) -> Result<(), MasqTableError> {
        NftKernel::apply(&mut self.nft, script)?;
        // A full table leaves its parse tree in the library's context; start afresh.
        NftKernel::reset(&mut self.nft)?;
        Ok(())
    }

    fn change_elements(&mut self, changes: &[SetChange]) -> Result<(), MasqTableError> {
        Ok(self.elements.apply(MASQ_TABLE, changes)?)
    }

    fn table_exists(&mut self) -> Result<bool, MasqTableError> {
        Ok(self.elements.table_exists(MASQ_TABLE)?)
    }
}

/// The recording fake: element changes are logged (and refused) as the equivalent nftables
/// commands; the table exists once a script was applied.
impl MasqKernel for FakeNft {
    fn apply_script(&mut self, script: &str) -> Result<(), MasqTableError> {
        Ok(NftKernel::apply(self, script)?)
    }

    fn change_elements(&mut self, changes: &[SetChange]) -> Result<(), MasqTableError> {
        let script: String = changes.iter().map(|c| c.to_command(MASQ_TABLE)).collect();
        NftKernel::apply(self, &script).map_err(|e| {
            MasqTableError::Elements(ElementsError::Refused(io::Error::other(e.to_string())))
        })
    }

    fn table_exists(&mut self) -> Result<bool, MasqTableError> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        Ok(!log.applied.is_empty())
    }
}
