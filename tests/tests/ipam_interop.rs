//! `skiff-host-local` and the reference `host-local` sharing one data directory, as they do on
//! a node running both: interleaved and concurrent allocations never collide, each releases
//! and checks the other's allocations.

use serde_json::{json, Value};
use skiff_tests::cni::{invoke, Call, PluginDir, Reply};
use skiff_tests::guard::{require, Need};
use std::collections::HashSet;
use std::path::Path;

const NEEDS: &[Need] = &[Need::File(
    "/usr/lib/cni/host-local",
    "containernetworking-plugins",
)];
const SKIFF: &str = "skiff-host-local";
const REFERENCE: &str = "host-local";

struct Shared {
    plugins: PluginDir,
    data: tempfile::TempDir,
}

impl Shared {
    fn new() -> Self {
        require(NEEDS);
        Self {
            plugins: PluginDir::new(),
            data: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// One configuration for both plugins; only `ipam.type` differs.
    fn conf(&self, plugin: &str) -> Value {
        json!({"cniVersion": "1.0.0", "name": "shared", "type": "bridge",
            "ipam": {"type": plugin, "subnet": "10.77.0.0/24",
                     "dataDir": self.data.path().display().to_string()}})
    }

    fn call(&self, plugin: &str, command: &str, id: &str) -> Reply {
        let call = Call {
            command,
            container_id: id,
            netns: Some(Path::new("/run/netns/ipam-interop")),
            ifname: "eth0",
        };
        invoke(&self.plugins, plugin, &call, &self.conf(plugin))
    }

    fn add(&self, plugin: &str, id: &str) -> String {
        let r = self.call(plugin, "ADD", id).ok();
        r["ips"][0]["address"]
            .as_str()
            .expect("address")
            .to_string()
    }

    fn allocations(&self) -> Vec<String> {
        let dir = self.data.path().join("shared");
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

#[test]
#[ignore = "needs root: the reference plugins of containernetworking-plugins (tier 2)"]
fn interleaved_allocations_share_round_robin_without_collision() {
    let s = Shared::new();
    let got: Vec<String> = (0..20)
        .map(|i| {
            let plugin = if i % 2 == 0 { SKIFF } else { REFERENCE };
            s.add(plugin, &format!("ctr{i}"))
        })
        .collect();
    // Both follow one last_reserved_ip: consecutive addresses, whoever allocates.
    let expected: Vec<String> = (2..22).map(|n| format!("10.77.0.{n}/24")).collect();
    assert_eq!(got, expected);
    assert_eq!(s.allocations().len(), 20);
}

#[test]
#[ignore = "needs root: the reference plugins of containernetworking-plugins (tier 2)"]
fn concurrent_allocations_of_both_plugins_never_collide() {
    let s = Shared::new();
    let addrs: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let s = &s;
                scope.spawn(move || {
                    let plugin = if i % 2 == 0 { SKIFF } else { REFERENCE };
                    s.add(plugin, &format!("ctr{i}"))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: HashSet<&String> = addrs.iter().collect();
    assert_eq!(distinct.len(), 40, "{addrs:?}");
    assert_eq!(s.allocations().len(), 40);
}

#[test]
#[ignore = "needs root: the reference plugins of containernetworking-plugins (tier 2)"]
fn each_plugin_releases_the_others_allocation() {
    let s = Shared::new();
    s.add(SKIFF, "ours");
    s.add(REFERENCE, "theirs");
    assert_eq!(s.allocations(), ["10.77.0.2", "10.77.0.3"]);
    s.call(REFERENCE, "DEL", "ours").ok();
    assert_eq!(s.allocations(), ["10.77.0.3"]);
    s.call(SKIFF, "DEL", "theirs").ok();
    assert!(s.allocations().is_empty());
    // Our index entry for "ours" outlived the reference's DEL; it must not confuse a new ADD.
    assert_eq!(s.add(SKIFF, "ours"), "10.77.0.4/24");
    s.call(SKIFF, "DEL", "ours").ok();
    s.call(REFERENCE, "DEL", "ours").ok();
    assert!(s.allocations().is_empty());
}

#[test]
#[ignore = "needs root: the reference plugins of containernetworking-plugins (tier 2)"]
fn each_plugin_reads_the_others_files() {
    let s = Shared::new();
    s.add(SKIFF, "ours");
    s.add(REFERENCE, "theirs");
    s.call(REFERENCE, "CHECK", "ours").ok();
    s.call(SKIFF, "CHECK", "theirs").ok();
    assert_ne!(s.call(REFERENCE, "CHECK", "nobody").status, 0);
    s.call(SKIFF, "CHECK", "nobody").err(3);
    // The reference refuses a second allocation for an attachment it finds in our files.
    assert_ne!(s.call(REFERENCE, "ADD", "ours").status, 0);
    s.call(SKIFF, "DEL", "theirs").ok();
    s.call(REFERENCE, "DEL", "ours").ok();
    assert!(s.allocations().is_empty());
}
