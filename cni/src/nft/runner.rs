//! A public runner of nftables scripts through the in-process libnftables, for other Skiff
//! crates that own their own tables (the service proxy).

use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

use super::library::{Context, Library};
use super::NftError;

/// Runs nftables scripts in-process, each as one transaction, in the network namespace of the
/// calling thread. The libnftables context is kept and reopened only when the calling thread's
/// namespace changes.
pub struct NftRunner {
    lib: Library,
    ctx: Mutex<Option<((u64, u64), Context)>>,
}

impl std::fmt::Debug for NftRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NftRunner").finish_non_exhaustive()
    }
}

fn current_netns() -> Result<(u64, u64), NftError> {
    let m = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| NftError::Library(format!("cannot identify the network namespace: {e}")))?;
    Ok((m.dev(), m.ino()))
}

impl NftRunner {
    /// Loads libnftables now; fails when it is not installed.
    pub fn load() -> Result<Self, NftError> {
        Ok(Self {
            lib: Library::load()?,
            ctx: Mutex::new(None),
        })
    }

    fn with_context<T>(
        &self,
        f: impl FnOnce(&mut Context) -> Result<T, NftError>,
    ) -> Result<T, NftError> {
        let ns = current_netns()?;
        let mut slot = self.ctx.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|(at, _)| *at != ns) {
            *slot = None;
            *slot = Some((ns, self.lib.context()?));
        }
        let (_, ctx) = slot.as_mut().expect("context set above");
        f(ctx)
    }

    /// Applies `script` as one atomic transaction: all of it or nothing.
    pub fn apply(&self, script: &str) -> Result<(), NftError> {
        self.with_context(|ctx| ctx.apply(script))
    }

    /// Runs one `list` command with JSON output; `None` when the object does not exist.
    pub fn list_json(&self, command: &str) -> Result<Option<String>, NftError> {
        self.with_context(|ctx| ctx.list(command))
    }
}
