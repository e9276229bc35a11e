//! A network the kubelet attaches pods to: its configuration list run as a plugin chain per
//! the CNI spec (ADD in order threading `prevResult`, DEL in reverse with the cached result,
//! CHECK, STATUS, GC), with libcni's result cache.

use super::cache::{CacheEntry, ResultCache, DEFAULT_CACHE_DIR, KIND};
use super::config::NetworkConfigList;
use super::error::{PluginRef, RuntimeError};
use super::exec::{ExecError, PluginCall, PluginExec, ProcessExec};
use super::request::{self, AttachmentArgs};
use crate::conf::Attachment;
use crate::error::{from_json_error, CniError};
use crate::invocation::Command;
use crate::types::CniResult;
use crate::version::Version;
use serde_json::Value;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

/// How long each command's plugin calls may run before the plugin is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Per plugin call of ADD.
    pub add: Duration,
    /// Per plugin call of DEL.
    pub del: Duration,
    /// Per plugin call of CHECK.
    pub check: Duration,
    /// Per plugin call of STATUS.
    pub status: Duration,
    /// Per plugin call of GC.
    pub gc: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        Self {
            add: minute,
            del: minute,
            check: minute,
            status: Duration::from_secs(10),
            gc: minute,
        }
    }
}

impl Timeouts {
    /// The same timeout for every command.
    pub fn all(t: Duration) -> Self {
        Self {
            add: t,
            del: t,
            check: t,
            status: t,
            gc: t,
        }
    }

    fn of(&self, command: Command) -> Duration {
        match command {
            Command::Add => self.add,
            Command::Del => self.del,
            Command::Check => self.check,
            Command::Status | Command::Version => self.status,
            Command::Gc => self.gc,
        }
    }
}

/// Where plugins and the result cache live, and how long plugins may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Directories searched for plugin binaries (`CNI_PATH`).
    pub cni_path: Vec<PathBuf>,
    /// The cache dir; results go to `<cache_dir>/results` (libcni's layout).
    pub cache_dir: PathBuf,
    /// Per-call timeouts.
    pub timeouts: Timeouts,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            cni_path: vec![PathBuf::from("/opt/cni/bin")],
            cache_dir: PathBuf::from(DEFAULT_CACHE_DIR),
            timeouts: Timeouts::default(),
        }
    }
}

/// A network configuration list bound to a way of running plugins.
#[derive(Debug)]
pub struct Network<E = ProcessExec> {
    config: NetworkConfigList,
    cni_path: Vec<PathBuf>,
    timeouts: Timeouts,
    cache: ResultCache,
    exec: E,
}

impl Network<ProcessExec> {
    /// A network whose plugins run as processes.
    pub fn new(config: NetworkConfigList, options: RuntimeOptions) -> Self {
        Self::with_exec(config, options, ProcessExec)
    }
}

impl<E: PluginExec> Network<E> {
    /// A network whose plugins run through `exec`.
    pub fn with_exec(config: NetworkConfigList, options: RuntimeOptions, exec: E) -> Self {
        Self {
            config,
            cni_path: options.cni_path,
            timeouts: options.timeouts,
            cache: ResultCache::new(options.cache_dir),
            exec,
        }
    }

    /// The configuration list.
    pub fn config(&self) -> &NetworkConfigList {
        &self.config
    }

    /// The network name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Attaches a container: runs every plugin's ADD in order, each getting the previous
    /// plugin's result as `prevResult`, then caches the final result. On any failure
    /// (including the cache write) nothing is cached and the caller should DEL to clean up
    /// what the plugins did, as with libcni.
    pub fn add(&self, att: &AttachmentArgs) -> Result<CniResult, RuntimeError> {
        att.validate(Command::Add)
            .map_err(RuntimeError::InvalidAttachment)?;
        let mut prev: Option<Value> = None;
        for (index, plugin) in self.config.plugins.iter().enumerate() {
            let conf = request::attachment_config(
                &self.config,
                plugin,
                prev.as_ref(),
                &att.capability_args,
            );
            let out = self.call(index, Command::Add, Some(att), &conf)?;
            let bad = |error: CniError| RuntimeError::BadResult {
                plugin: self.plugin_ref(index),
                error,
            };
            let value: Value =
                serde_json::from_slice(&out).map_err(|e| bad(from_json_error("result", &e)))?;
            CniResult::from_json(&value).map_err(bad)?;
            prev = Some(value);
        }
        let raw = prev.expect("a configuration list has at least one plugin");
        let result = CniResult::from_json(&raw).expect("decoded above");
        let entry = CacheEntry {
            kind: KIND.into(),
            container_id: att.container_id.clone(),
            config: self.config.bytes.clone(),
            if_name: att.ifname.clone(),
            network_name: self.config.name.clone(),
            netns: att
                .netns
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            cni_args: att.cni_args.clone(),
            capability_args: att.capability_args.clone(),
            result: Some(raw),
        };
        self.cache
            .write(&entry)
            .map_err(|source| self.cache_error(source))?;
        tracing::info!(
            network = %self.config.name,
            container = %att.container_id,
            ifname = %att.ifname,
            ips = ?result.ips.iter().map(|ip| ip.address.to_string()).collect::<Vec<_>>(),
            "attached container to CNI network"
        );
        Ok(result)
    }

    /// Detaches a container: runs every plugin's DEL in reverse order with the cached result
    /// as `prevResult` (none when nothing is cached), then removes the cache entry. On failure
    /// the entry stays so a retry has the same `prevResult`.
    pub fn del(&self, att: &AttachmentArgs) -> Result<(), RuntimeError> {
        att.validate(Command::Del)
            .map_err(RuntimeError::InvalidAttachment)?;
        let prev = self.cached_prev_result_for_del(att);
        for (index, plugin) in self.config.plugins.iter().enumerate().rev() {
            let conf = request::attachment_config(
                &self.config,
                plugin,
                prev.as_ref(),
                &att.capability_args,
            );
            self.call(index, Command::Del, Some(att), &conf)?;
        }
        self.cache
            .remove(&self.config.name, &att.container_id, &att.ifname)
            .map_err(|source| self.cache_error(source))?;
        tracing::info!(network = %self.config.name, container = %att.container_id, ifname = %att.ifname, "detached container from CNI network");
        Ok(())
    }

    /// Verifies an attachment: runs every plugin's CHECK in order with the cached result.
    /// A no-op when the list sets `disableCheck`; an error when no result is cached.
    pub fn check(&self, att: &AttachmentArgs) -> Result<(), RuntimeError> {
        if self.config.disable_check {
            tracing::debug!(network = %self.config.name, "CHECK disabled by disableCheck");
            return Ok(());
        }
        att.validate(Command::Check)
            .map_err(RuntimeError::InvalidAttachment)?;
        let entry = self
            .cache
            .read(&self.config.name, &att.container_id, &att.ifname)
            .map_err(|source| self.cache_error(source))?;
        let Some(cached) = entry.and_then(|e| e.result) else {
            return Err(RuntimeError::NoCachedResult {
                network: self.config.name.clone(),
                container_id: att.container_id.clone(),
                ifname: att.ifname.clone(),
            });
        };
        let prev = request::prev_result_for(self.config.cni_version, &cached).map_err(|error| {
            RuntimeError::BadCachedResult {
                network: self.config.name.clone(),
                error,
            }
        })?;
        for (index, plugin) in self.config.plugins.iter().enumerate() {
            let conf =
                request::attachment_config(&self.config, plugin, Some(&prev), &att.capability_args);
            self.call(index, Command::Check, Some(att), &conf)?;
        }
        Ok(())
    }

    /// Asks every plugin whether ADD can succeed now (CNI 1.1 STATUS); the first failure is
    /// returned (code 50 or 51 means not ready). Lists negotiated at 1.0.0 are always ready.
    pub fn status(&self) -> Result<(), RuntimeError> {
        if self.config.cni_version < Version::V1_1_0 {
            return Ok(());
        }
        for (index, plugin) in self.config.plugins.iter().enumerate() {
            let conf = request::status_config(&self.config, plugin);
            self.call(index, Command::Status, None, &conf)?;
        }
        Ok(())
    }

    /// Garbage-collects, as libcni does: DELs every cached attachment of this network that is
    /// not in `valid` (using its cached arguments), then sends GC with
    /// `cni.dev/valid-attachments` to every plugin (CNI 1.1). Every step runs even when one
    /// fails; returns the stale attachments deleted, or every failure. A no-op with `disableGC`.
    pub fn gc(&self, valid: &[Attachment]) -> Result<Vec<Attachment>, RuntimeError> {
        if self.config.disable_gc {
            tracing::debug!(network = %self.config.name, "GC disabled by disableGC");
            return Ok(Vec::new());
        }
        let keep: HashSet<&Attachment> = valid.iter().collect();
        let mut failures = Vec::new();
        let mut removed = Vec::new();
        let entries = self
            .cache
            .entries(&self.config.name)
            .unwrap_or_else(|source| {
                failures.push(self.cache_error(source));
                Vec::new()
            });
        for entry in entries {
            let att = AttachmentArgs {
                container_id: entry.container_id,
                netns: Some(PathBuf::from(entry.netns)).filter(|p| !p.as_os_str().is_empty()),
                ifname: entry.if_name,
                cni_args: entry.cni_args,
                capability_args: entry.capability_args,
            };
            if keep.contains(&att.key()) {
                continue;
            }
            tracing::info!(network = %self.config.name, container = %att.container_id, ifname = %att.ifname, "GC: deleting stale attachment");
            match self.del(&att) {
                Ok(()) => removed.push(att.key()),
                Err(e) => failures.push(e),
            }
        }
        if self.config.cni_version >= Version::V1_1_0 {
            for (index, plugin) in self.config.plugins.iter().enumerate() {
                let conf = request::gc_config(&self.config, plugin, valid);
                if let Err(e) = self.call(index, Command::Gc, None, &conf) {
                    failures.push(e);
                }
            }
        }
        if failures.is_empty() {
            Ok(removed)
        } else {
            Err(RuntimeError::Gc {
                network: self.config.name.clone(),
                failures,
            })
        }
    }

    /// The cached result of an attachment's ADD, if any.
    pub fn cached_result(
        &self,
        container_id: &str,
        ifname: &str,
    ) -> Result<Option<CniResult>, RuntimeError> {
        let entry = self
            .cache
            .read(&self.config.name, container_id, ifname)
            .map_err(|source| self.cache_error(source))?;
        match entry.and_then(|e| e.result) {
            None => Ok(None),
            Some(v) => {
                CniResult::from_json(&v)
                    .map(Some)
                    .map_err(|error| RuntimeError::BadCachedResult {
                        network: self.config.name.clone(),
                        error,
                    })
            }
        }
    }

    /// Every attachment of this network in the result cache.
    pub fn cached_attachments(&self) -> Result<Vec<CacheEntry>, RuntimeError> {
        self.cache
            .entries(&self.config.name)
            .map_err(|source| self.cache_error(source))
    }

    /// The cached result as DEL's `prevResult`. An unreadable entry is removed (as libcni
    /// does) and DEL goes on without one: DEL must work without `prevResult`.
    fn cached_prev_result_for_del(&self, att: &AttachmentArgs) -> Option<Value> {
        let name = &self.config.name;
        match self.cache.read(name, &att.container_id, &att.ifname) {
            Ok(entry) => entry.and_then(|e| e.result).and_then(|r| {
                request::prev_result_for(self.config.cni_version, &r)
                    .inspect_err(|e| tracing::warn!(network = %name, container = %att.container_id, error = %e, "cached result unusable; DEL without prevResult"))
                    .ok()
            }),
            Err(e) => {
                tracing::warn!(network = %name, container = %att.container_id, error = %e, "result cache entry unreadable; removing it and running DEL without prevResult");
                let _ = self.cache.remove(name, &att.container_id, &att.ifname);
                None
            }
        }
    }

    fn call(
        &self,
        index: usize,
        command: Command,
        att: Option<&AttachmentArgs>,
        conf: &Value,
    ) -> Result<Vec<u8>, RuntimeError> {
        let plugin = &self.config.plugins[index];
        let env = request::env(command, att, &self.cni_path);
        let stdin = serde_json::to_vec(conf).expect("JSON values serialize");
        let call = PluginCall {
            plugin_type: &plugin.plugin_type,
            command,
            cni_path: &self.cni_path,
            env: &env,
            stdin: &stdin,
            timeout: self.timeouts.of(command),
        };
        tracing::debug!(
            network = %self.config.name,
            plugin = %plugin.plugin_type,
            command = command.as_str(),
            container = att.map(|a| a.container_id.as_str()).unwrap_or_default(),
            "running CNI plugin"
        );
        self.exec.exec(&call).map_err(|e| {
            let plugin = self.plugin_ref(index);
            let err = match e {
                ExecError::NotFound(error) => RuntimeError::PluginNotFound {
                    plugin,
                    command,
                    error,
                },
                ExecError::Failed(error) => RuntimeError::Plugin {
                    plugin,
                    command,
                    error,
                },
                ExecError::TimedOut(after) => RuntimeError::Timeout {
                    plugin,
                    command,
                    after,
                },
            };
            tracing::warn!(network = %self.config.name, error = %err, "CNI plugin failed");
            err
        })
    }

    fn plugin_ref(&self, index: usize) -> PluginRef {
        PluginRef {
            network: self.config.name.clone(),
            index,
            plugin_type: self.config.plugins[index].plugin_type.clone(),
        }
    }

    fn cache_error(&self, source: super::cache::CacheError) -> RuntimeError {
        RuntimeError::Cache {
            network: self.config.name.clone(),
            source,
        }
    }
}

#[cfg(test)]
#[path = "network_tests.rs"]
mod tests;
