//! What each plugin of a chain receives, computed without side effects: the `CNI_*`
//! environment and the configuration with `name`, `cniVersion`, `prevResult` and the enabled
//! `runtimeConfig` capabilities merged in, as libcni builds them.

use super::config::{NetworkConfigList, PluginConfig};
use crate::conf::Attachment;
use crate::error::{CniError, Code};
use crate::invocation::{validate_container_id, validate_ifname, Command};
use crate::types::CniResult;
use crate::version::Version;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The runtime's side of one attachment: which container, where, and what it asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttachmentArgs {
    /// Container id (`CNI_CONTAINERID`).
    pub container_id: String,
    /// Network namespace path (`CNI_NETNS`); DEL may run without one.
    pub netns: Option<PathBuf>,
    /// Interface name inside the container (`CNI_IFNAME`).
    pub ifname: String,
    /// `CNI_ARGS` pairs (e.g. `K8S_POD_NAME`).
    pub cni_args: Vec<(String, String)>,
    /// Capability arguments (`ips`, `mac`, `portMappings`, …), passed in `runtimeConfig` to each
    /// plugin whose `capabilities` enables the key.
    pub capability_args: Map<String, Value>,
}

impl AttachmentArgs {
    /// An attachment with no `CNI_ARGS` and no capability arguments.
    pub fn new(
        container_id: impl Into<String>,
        netns: Option<PathBuf>,
        ifname: impl Into<String>,
    ) -> Self {
        Self {
            container_id: container_id.into(),
            netns,
            ifname: ifname.into(),
            ..Self::default()
        }
    }

    /// The attachment key GC speaks of.
    pub fn key(&self) -> Attachment {
        Attachment {
            container_id: self.container_id.clone(),
            ifname: self.ifname.clone(),
        }
    }

    /// Checks what plugins would reject: container id and interface name per the spec, a netns
    /// for commands other than DEL, and `CNI_ARGS` that survive `K=V;K=V` encoding.
    pub fn validate(&self, command: Command) -> Result<(), CniError> {
        validate_container_id(&self.container_id)?;
        validate_ifname(&self.ifname)?;
        if command != Command::Del
            && self
                .netns
                .as_deref()
                .is_none_or(|p| p.as_os_str().is_empty())
        {
            return Err(CniError::new(
                Code::InvalidEnvironment,
                format!("CNI_NETNS is required for {}", command.as_str()),
            ));
        }
        for (k, v) in &self.cni_args {
            if k.is_empty() || k.contains(['=', ';']) || v.contains(';') {
                return Err(CniError::new(
                    Code::InvalidEnvironment,
                    format!("CNI_ARGS entry {k:?}={v:?} cannot be encoded: keys need a name without '=' or ';', values no ';'"),
                ));
            }
        }
        Ok(())
    }
}

/// The `CNI_*` environment of a call; attachment fields are empty for STATUS and GC, so that
/// nothing leaks in from the runtime's own environment.
pub fn env(
    command: Command,
    att: Option<&AttachmentArgs>,
    cni_path: &[PathBuf],
) -> Vec<(String, String)> {
    let netns = att.and_then(|a| a.netns.as_deref()).map(Path::display);
    let args: Vec<String> = att
        .map(|a| a.cni_args.iter().map(|(k, v)| format!("{k}={v}")).collect())
        .unwrap_or_default();
    let path: Vec<String> = cni_path.iter().map(|p| p.display().to_string()).collect();
    vec![
        ("CNI_COMMAND".into(), command.as_str().into()),
        (
            "CNI_CONTAINERID".into(),
            att.map(|a| a.container_id.clone()).unwrap_or_default(),
        ),
        (
            "CNI_NETNS".into(),
            netns.map(|n| n.to_string()).unwrap_or_default(),
        ),
        (
            "CNI_IFNAME".into(),
            att.map(|a| a.ifname.clone()).unwrap_or_default(),
        ),
        ("CNI_ARGS".into(), args.join(";")),
        ("CNI_PATH".into(), path.join(":")),
    ]
}

/// The configuration a plugin gets for ADD, DEL and CHECK: its entry with the list's `name`
/// and negotiated `cniVersion`, `prevResult` when there is one, and `runtimeConfig` holding
/// exactly the capability arguments the entry enables (replacing any written there).
pub fn attachment_config(
    list: &NetworkConfigList,
    plugin: &PluginConfig,
    prev_result: Option<&Value>,
    capability_args: &Map<String, Value>,
) -> Value {
    let mut conf = base_config(list, plugin);
    if let Some(prev) = prev_result {
        conf.insert("prevResult".into(), prev.clone());
    }
    let runtime_config: Map<String, Value> = capability_args
        .iter()
        .filter(|(k, _)| plugin.capabilities.contains(k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !runtime_config.is_empty() {
        conf.insert("runtimeConfig".into(), Value::Object(runtime_config));
    }
    Value::Object(conf)
}

/// The configuration a plugin gets for GC: `cni.dev/valid-attachments` lists what to keep.
pub fn gc_config(list: &NetworkConfigList, plugin: &PluginConfig, valid: &[Attachment]) -> Value {
    let mut conf = base_config(list, plugin);
    let valid: Vec<Value> = valid
        .iter()
        .map(|a| serde_json::json!({"containerID": a.container_id, "ifname": a.ifname}))
        .collect();
    conf.insert("cni.dev/valid-attachments".into(), Value::Array(valid));
    Value::Object(conf)
}

/// The configuration a plugin gets for STATUS.
pub fn status_config(list: &NetworkConfigList, plugin: &PluginConfig) -> Value {
    Value::Object(base_config(list, plugin))
}

fn base_config(list: &NetworkConfigList, plugin: &PluginConfig) -> Map<String, Value> {
    let mut conf = plugin.raw.clone();
    conf.insert("name".into(), list.name.clone().into());
    conf.insert("cniVersion".into(), list.cni_version.as_str().into());
    conf
}

/// A cached result as `prevResult` for `version`: as cached when it already speaks that
/// version (keeping fields other plugins added), else re-encoded.
pub fn prev_result_for(version: Version, cached: &Value) -> Result<Value, CniError> {
    if cached.get("cniVersion").and_then(Value::as_str) == Some(version.as_str()) {
        return Ok(cached.clone());
    }
    Ok(CniResult::from_json(cached)?.to_json(version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn list() -> NetworkConfigList {
        NetworkConfigList::from_conflist(
            br#"{"cniVersion":"1.0.0","cniVersions":["1.0.0","1.1.0"],"name":"pods","plugins":[
                {"type":"bridge","cniVersion":"0.4.0","name":"old","capabilities":{"ips":true,"mac":true},
                 "runtimeConfig":{"stale":1}},
                {"type":"portmap","capabilities":{"portMappings":true,"ips":false}}]}"#,
            Path::new("/t.conflist"),
        )
        .unwrap()
    }

    fn caps() -> Map<String, Value> {
        json!({"ips":["10.0.0.5/24"],"mac":"02:00:00:00:00:05","portMappings":[{"hostPort":80}],"bandwidth":{}})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn name_and_negotiated_version_override_the_entry() {
        let l = list();
        let c = attachment_config(&l, &l.plugins[0], None, &Map::new());
        assert_eq!(c["name"], "pods");
        assert_eq!(c["cniVersion"], "1.1.0");
        assert_eq!(c["type"], "bridge");
        assert!(c.get("prevResult").is_none());
    }

    #[test]
    fn capability_args_go_only_to_plugins_that_enable_them() {
        let l = list();
        let bridge = attachment_config(&l, &l.plugins[0], None, &caps());
        assert_eq!(
            bridge["runtimeConfig"],
            json!({"ips":["10.0.0.5/24"],"mac":"02:00:00:00:00:05"})
        );
        let portmap = attachment_config(&l, &l.plugins[1], None, &caps());
        assert_eq!(
            portmap["runtimeConfig"],
            json!({"portMappings":[{"hostPort":80}]})
        );
        let none = attachment_config(&l, &l.plugins[1], None, &Map::new());
        assert!(none.get("runtimeConfig").is_none());
    }

    #[test]
    fn gc_config_lists_valid_attachments() {
        let l = list();
        let keep = [Attachment {
            container_id: "c1".into(),
            ifname: "eth0".into(),
        }];
        let c = gc_config(&l, &l.plugins[1], &keep);
        assert_eq!(
            c["cni.dev/valid-attachments"],
            json!([{"containerID":"c1","ifname":"eth0"}])
        );
        assert_eq!(c["cniVersion"], "1.1.0");
    }

    #[test]
    fn env_carries_attachment_or_blanks() {
        let mut a = AttachmentArgs::new("c1", Some("/run/netns/p".into()), "eth0");
        a.cni_args = vec![("A".into(), "1".into()), ("B".into(), "2".into())];
        let e = env(
            Command::Add,
            Some(&a),
            &["/opt/cni/bin".into(), "/usr/lib/cni".into()],
        );
        let get = |k: &str| e.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("CNI_COMMAND"), "ADD");
        assert_eq!(get("CNI_NETNS"), "/run/netns/p");
        assert_eq!(get("CNI_ARGS"), "A=1;B=2");
        assert_eq!(get("CNI_PATH"), "/opt/cni/bin:/usr/lib/cni");
        let e = env(Command::Status, None, &[]);
        assert!(e
            .iter()
            .filter(|(k, _)| k != "CNI_COMMAND")
            .all(|(_, v)| v.is_empty()));
    }

    #[test]
    fn validation_rejects_bad_ids_missing_netns_and_unencodable_args() {
        let ok = AttachmentArgs::new("c1", Some("/run/netns/p".into()), "eth0");
        assert!(ok.validate(Command::Add).is_ok());
        assert!(AttachmentArgs::new("c1", None, "eth0")
            .validate(Command::Del)
            .is_ok());
        assert!(AttachmentArgs::new("c1", None, "eth0")
            .validate(Command::Add)
            .is_err());
        assert!(AttachmentArgs::new("bad id", None, "eth0")
            .validate(Command::Del)
            .is_err());
        let mut bad = ok.clone();
        bad.cni_args.push(("K".into(), "a;b".into()));
        assert!(bad
            .validate(Command::Add)
            .unwrap_err()
            .is(Code::InvalidEnvironment));
    }

    #[test]
    fn cached_result_is_converted_to_the_config_version() {
        let cached =
            json!({"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mtu":1400}],"extra":1});
        assert_eq!(prev_result_for(Version::V1_1_0, &cached).unwrap(), cached);
        let v = prev_result_for(Version::V1_0_0, &cached).unwrap();
        assert_eq!(
            v,
            json!({"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"dns":{}})
        );
    }
}
