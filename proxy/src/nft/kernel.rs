//! The seam to nftables: apply a script as one transaction, list an object as JSON.

use std::sync::{Arc, Mutex};

use skiff_cni::nft::{NftError, NftRunner};

/// nftables as the dataplane uses it.
pub trait NftKernel: Send {
    /// Applies `script` as one atomic transaction.
    fn apply(&mut self, script: &str) -> Result<(), NftError>;
    /// Runs a `list` command with JSON output; `None` when the object does not exist.
    fn list_json(&mut self, command: &str) -> Result<Option<String>, NftError>;
    /// Drops what the library keeps between commands (a fresh context).
    fn reset(&mut self) -> Result<(), NftError> {
        Ok(())
    }
}

impl NftKernel for NftRunner {
    fn apply(&mut self, script: &str) -> Result<(), NftError> {
        // On a thread of its own (in the caller's network namespace, which threads inherit):
        // glibc gives it another heap arena, so libnftables' short-lived parse trees do not
        // fragment the heap holding the dataplane's long-lived state.
        let runner = &*self;
        std::thread::scope(|s| {
            s.spawn(|| NftRunner::apply(runner, script))
                .join()
                .unwrap_or_else(|_| Err(NftError::Library("libnftables thread panicked".into())))
        })
    }
    fn list_json(&mut self, command: &str) -> Result<Option<String>, NftError> {
        NftRunner::list_json(self, command)
    }
    fn reset(&mut self) -> Result<(), NftError> {
        // libnftables keeps the parsed objects of the last transactions in its context: after
        // a full load of 10k services that is tens of megabytes, and later commands get slower.
        *self = NftRunner::load()?;
        Ok(())
    }
}

/// What a [`FakeNft`] saw, shared with the test that made it.
#[derive(Debug, Default)]
pub struct FakeNftLog {
    /// Every script applied successfully, in order.
    pub applied: Vec<String>,
    /// Scripts refused.
    pub refused: Vec<String>,
}

/// A recording nftables: applies every script unless it contains a refused word; lists
/// nothing.
#[derive(Debug, Clone, Default)]
pub struct FakeNft {
    /// The shared log.
    pub log: Arc<Mutex<FakeNftLog>>,
    /// A script containing one of these is refused as a whole.
    pub refuse_containing: Vec<String>,
}

impl NftKernel for FakeNft {
    fn apply(&mut self, script: &str) -> Result<(), NftError> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if self.refuse_containing.iter().any(|w| script.contains(w)) {
            log.refused.push(script.to_string());
            return Err(NftError::Transaction {
                message: "refused by the fake".into(),
            });
        }
        log.applied.push(script.to_string());
        Ok(())
    }
    fn list_json(&mut self, _command: &str) -> Result<Option<String>, NftError> {
        Ok(None)
    }
}
