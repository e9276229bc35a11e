//! An in-memory [`PluginExec`] that records every call and answers like a well-behaved plugin,
//! for tests of code that runs plugin chains.

use super::exec::{ExecError, PluginCall, PluginExec};
use crate::invocation::Command;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

/// One recorded plugin call.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// The plugin's `type`.
    pub plugin_type: String,
    /// The command.
    pub command: Command,
    /// The `CNI_*` environment.
    pub env: Vec<(String, String)>,
    /// The configuration it received.
    pub stdin: Value,
    /// Its timeout.
    pub timeout: Duration,
}

impl RecordedCall {
    /// The value of one environment variable.
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Records calls. ADD answers with its `prevResult` (or an empty result) plus one interface
/// named after the plugin, so the chain's threading shows in the final result; other commands
/// succeed silently. [`fail`](Self::fail) scripts failures.
#[derive(Debug, Default)]
pub struct RecordingExec {
    calls: Mutex<Vec<RecordedCall>>,
    failures: Mutex<Vec<(String, Command, ExecError)>>,
}

impl RecordingExec {
    /// A fake with no calls and no scripted failures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every `command` call of `plugin_type` fail with `error`.
    pub fn fail(&self, plugin_type: &str, command: Command, error: ExecError) {
        self.failures
            .lock()
            .expect("fake lock")
            .push((plugin_type.into(), command, error));
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().expect("fake lock").clone()
    }

    /// Every call so far as `"<type> <COMMAND>"`.
    pub fn sequence(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| format!("{} {}", c.plugin_type, c.command.as_str()))
            .collect()
    }

    /// Forgets the calls recorded so far.
    pub fn clear(&self) {
        self.calls.lock().expect("fake lock").clear();
    }
}

impl std::fmt::Display for RecordingExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in self.sequence() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl PluginExec for RecordingExec {
    fn exec(&self, call: &PluginCall<'_>) -> Result<Vec<u8>, ExecError> {
        let stdin: Value = serde_json::from_slice(call.stdin).unwrap_or(Value::Null);
        self.calls.lock().expect("fake lock").push(RecordedCall {
            plugin_type: call.plugin_type.into(),
            command: call.command,
            env: call.env.to_vec(),
            stdin: stdin.clone(),
            timeout: call.timeout,
        });
        let scripted = self
            .failures
            .lock()
            .expect("fake lock")
            .iter()
            .find_map(|(t, c, e)| (t == call.plugin_type && *c == call.command).then(|| e.clone()));
        if let Some(e) = scripted {
            return Err(e);
        }
        if call.command != Command::Add {
            return Ok(Vec::new());
        }
        let mut result = stdin
            .get("prevResult")
            .cloned()
            .unwrap_or_else(|| json!({"cniVersion": stdin["cniVersion"]}));
        let interfaces = result
            .as_object_mut()
            .expect("results are objects")
            .entry("interfaces")
            .or_insert_with(|| json!([]));
        interfaces
            .as_array_mut()
            .expect("interfaces is an array")
            .push(json!({"name": call.plugin_type}));
        Ok(serde_json::to_vec(&result).expect("JSON values serialize"))
    }
}
