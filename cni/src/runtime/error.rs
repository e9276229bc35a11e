//! Errors of running a network's plugin chain, each naming the network, the plugin and the
//! command, and carrying the plugin's own CNI error when it printed one.

use super::cache::CacheError;
use crate::error::CniError;
use crate::invocation::Command;
use std::time::Duration;

/// Which plugin of a chain a failure concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    /// The network name.
    pub network: String,
    /// The plugin's position in the list (0-based).
    pub index: usize,
    /// The plugin's `type`.
    pub plugin_type: String,
}

impl std::fmt::Display for PluginRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "network {:?}: plugin {:?} (plugins[{}])",
            self.network, self.plugin_type, self.index
        )
    }
}

/// Why an operation on a network failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The attachment arguments are invalid (bad container id or interface name, no netns).
    #[error("invalid attachment: {0}")]
    InvalidAttachment(CniError),
    /// The plugin binary is not on the CNI path.
    #[error("{plugin}: cannot run {}: {error}", command.as_str())]
    PluginNotFound {
        /// The plugin.
        plugin: PluginRef,
        /// The command that was to run.
        command: Command,
        /// The lookup error, listing the directories searched.
        error: CniError,
    },
    /// The plugin failed; `error` is what it printed (or how it died).
    #[error("{plugin}: {} failed: {error}", command.as_str())]
    Plugin {
        /// The plugin.
        plugin: PluginRef,
        /// The command that failed.
        command: Command,
        /// The plugin's CNI error.
        error: CniError,
    },
    /// The plugin did not finish in time and was killed.
    #[error("{plugin}: {} did not finish within {after:?}; the plugin was killed", command.as_str())]
    Timeout {
        /// The plugin.
        plugin: PluginRef,
        /// The command that timed out.
        command: Command,
        /// The timeout.
        after: Duration,
    },
    /// ADD succeeded but printed something that is not a CNI result.
    #[error("{plugin}: ADD printed an invalid result: {error}")]
    BadResult {
        /// The plugin.
        plugin: PluginRef,
        /// The decoding error.
        error: CniError,
    },
    /// CHECK needs the result of a previous ADD and none is cached.
    #[error("network {network:?}: no cached result for container {container_id:?} interface {ifname:?}; CHECK needs a previous ADD")]
    NoCachedResult {
        /// The network name.
        network: String,
        /// Container id.
        container_id: String,
        /// Interface name.
        ifname: String,
    },
    /// The cached result cannot be used as `prevResult`.
    #[error("network {network:?}: cached result cannot be used: {error}")]
    BadCachedResult {
        /// The network name.
        network: String,
        /// The decoding error.
        error: CniError,
    },
    /// The result cache could not be read or written.
    #[error("network {network:?}: result cache")]
    Cache {
        /// The network name.
        network: String,
        /// The cache failure.
        #[source]
        source: CacheError,
    },
    /// GC went through every step; these failed.
    #[error("network {network:?}: GC had {} failure(s): {}", failures.len(), list(failures))]
    Gc {
        /// The network name.
        network: String,
        /// Each failure, in the order they happened.
        failures: Vec<RuntimeError>,
    },
}

fn list(failures: &[RuntimeError]) -> String {
    let parts: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
    parts.join("; ")
}

impl RuntimeError {
    /// The CNI error behind this failure, when a plugin (or validation) produced one; the
    /// runtime maps its code (e.g. 11 "try again later", 50 "not available").
    pub fn cni_error(&self) -> Option<&CniError> {
        match self {
            RuntimeError::InvalidAttachment(e)
            | RuntimeError::PluginNotFound { error: e, .. }
            | RuntimeError::Plugin { error: e, .. }
            | RuntimeError::BadResult { error: e, .. }
            | RuntimeError::BadCachedResult { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The plugin a failure concerns, when it concerns one.
    pub fn plugin(&self) -> Option<&PluginRef> {
        match self {
            RuntimeError::PluginNotFound { plugin, .. }
            | RuntimeError::Plugin { plugin, .. }
            | RuntimeError::Timeout { plugin, .. }
            | RuntimeError::BadResult { plugin, .. } => Some(plugin),
            _ => None,
        }
    }
}
