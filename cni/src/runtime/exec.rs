//! The seam between running a chain and running a process: [`PluginExec`] runs one plugin
//! call; [`ProcessExec`] finds the binary on `CNI_PATH` and executes it with a timeout.

use crate::delegate::{exec_plugin, find_plugin};
use crate::error::{CniError, Code};
use crate::invocation::Command;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One plugin invocation: which plugin, the `CNI_*` environment, the configuration on stdin.
#[derive(Debug, Clone)]
pub struct PluginCall<'a> {
    /// The plugin's `type` (its binary name).
    pub plugin_type: &'a str,
    /// The CNI command (also in `env` as `CNI_COMMAND`).
    pub command: Command,
    /// Directories to search for the binary.
    pub cni_path: &'a [PathBuf],
    /// The `CNI_*` variables.
    pub env: &'a [(String, String)],
    /// The configuration for this plugin.
    pub stdin: &'a [u8],
    /// How long the plugin may run before it is killed.
    pub timeout: Duration,
}

/// Why a plugin call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The plugin binary is not on `CNI_PATH`.
    #[error("{0}")]
    NotFound(CniError),
    /// The plugin ran and failed (its own CNI error, or one describing how it failed).
    #[error("{0}")]
    Failed(CniError),
    /// The plugin did not finish in time and was killed.
    #[error("did not finish within {0:?} and was killed")]
    TimedOut(Duration),
}

/// Runs plugin calls. Implementations must be usable from several threads at once.
pub trait PluginExec: Send + Sync {
    /// Runs one call and returns the plugin's stdout.
    fn exec(&self, call: &PluginCall<'_>) -> Result<Vec<u8>, ExecError>;
}

/// Runs plugins as processes, through [`find_plugin`] and [`exec_plugin`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessExec;

impl PluginExec for ProcessExec {
    fn exec(&self, call: &PluginCall<'_>) -> Result<Vec<u8>, ExecError> {
        let binary = find_plugin(call.plugin_type, call.cni_path).map_err(ExecError::NotFound)?;
        let started = Instant::now();
        exec_plugin(&binary, call.env, call.stdin, Some(call.timeout)).map_err(|e| {
            // exec_plugin reports a kill at the deadline as "try again later"; a plugin that
            // returned that code itself would have done so before the deadline.
            if e.is(Code::TryAgainLater) && started.elapsed() >= call.timeout {
                ExecError::TimedOut(call.timeout)
            } else {
                ExecError::Failed(e)
            }
        })
    }
}

impl<T: PluginExec + ?Sized> PluginExec for &T {
    fn exec(&self, call: &PluginCall<'_>) -> Result<Vec<u8>, ExecError> {
        (**self).exec(call)
    }
}

impl<T: PluginExec + ?Sized> PluginExec for std::sync::Arc<T> {
    fn exec(&self, call: &PluginCall<'_>) -> Result<Vec<u8>, ExecError> {
        (**self).exec(call)
    }
}
