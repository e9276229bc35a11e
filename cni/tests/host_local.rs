//! `skiff-host-local` driven as a binary, the way a runtime or a bridge plugin runs it, over
//! a temporary data directory. No root needed.

use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_skiff-host-local");

struct Net {
    data: tempfile::TempDir,
    ipam: Value,
}

#[derive(Debug)]
struct Reply {
    status: i32,
    json: Value,
}

impl Reply {
    #[track_caller]
    fn ok(self) -> Value {
        assert_eq!(self.status, 0, "plugin failed: {}", self.json);
        self.json
    }

    #[track_caller]
    fn err(self, code: u64) -> String {
        assert_eq!(self.status, 1, "expected error {code}, got {}", self.json);
        assert_eq!(self.json["code"], code, "unexpected error {}", self.json);
        self.json["msg"].as_str().unwrap_or_default().to_string()
    }
}

impl Net {
    fn new(ipam: Value) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut ipam = ipam;
        ipam["type"] = "skiff-host-local".into();
        ipam["dataDir"] = data.path().display().to_string().into();
        Self { data, ipam }
    }

    fn v4() -> Self {
        Self::new(json!({"subnet": "10.10.0.0/24"}))
    }

    fn conf(&self) -> Value {
        json!({"cniVersion": "1.1.0", "name": "testnet", "type": "bridge", "bridge": "cni0",
               "ipam": self.ipam})
    }

    fn dir(&self) -> PathBuf {
        self.data.path().join("testnet")
    }

    fn spawn(&self, env: &[(&str, &str)], stdin: &[u8]) -> Child {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("CNI_NETNS", "/run/netns/test")
            .env("CNI_IFNAME", "eth0")
            .env("CNI_PATH", "/opt/cni/bin");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run skiff-host-local");
        // A child killed early closes its stdin; the write may then fail, which is fine.
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child
    }

    fn raw(&self, env: &[(&str, &str)], stdin: &[u8]) -> Reply {
        let out = self.spawn(env, stdin).wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        Reply {
            status: out.status.code().unwrap_or(-1),
            json: if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(text.trim()).expect("stdout is JSON")
            },
        }
    }

    fn call(&self, command: &str, id: &str, conf: &Value) -> Reply {
        self.raw(
            &[("CNI_COMMAND", command), ("CNI_CONTAINERID", id)],
            conf.to_string().as_bytes(),
        )
    }

    fn add(&self, id: &str) -> Reply {
        self.call("ADD", id, &self.conf())
    }

    fn del(&self, id: &str) -> Reply {
        self.call("DEL", id, &self.conf())
    }

    fn gc(&self, valid: &[&str]) -> Reply {
        let mut conf = self.conf();
        conf["cni.dev/valid-attachments"] = valid
            .iter()
            .map(|id| json!({"containerID": id, "ifname": "eth0"}))
            .collect();
        self.call("GC", "", &conf)
    }

    /// Address files in the network directory, by name.
    fn allocations(&self) -> Vec<String> {
        let mut v: Vec<String> = entries(&self.dir())
            .into_iter()
            .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
            .collect();
        v.sort();
        v
    }

    fn index_entries(&self) -> Vec<String> {
        entries(&self.dir().join(".skiff"))
    }
}

fn entries(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn address(result: &Value, i: usize) -> String {
    result["ips"][i]["address"].as_str().unwrap().to_string()
}

#[test]
fn add_check_del_through_the_binary() {
    let net = Net::v4();
    let r = net.add("ctr1").ok();
    assert_eq!(r["cniVersion"], "1.1.0");
    assert_eq!(
        r["ips"],
        json!([{"address": "10.10.0.2/24", "gateway": "10.10.0.1"}])
    );
    assert_eq!(net.allocations(), ["10.10.0.2"]);
    let content = std::fs::read_to_string(net.dir().join("10.10.0.2")).unwrap();
    assert_eq!(content, "ctr1\r\neth0");
    assert_eq!(
        std::fs::read_to_string(net.dir().join("last_reserved_ip.0")).unwrap(),
        "10.10.0.2"
    );
    net.call("CHECK", "ctr1", &net.conf()).ok();
    net.call("CHECK", "other", &net.conf()).err(3);
    net.call("STATUS", "", &net.conf()).ok();
    net.del("ctr1").ok();
    assert!(net.allocations().is_empty());
    assert!(net.index_entries().is_empty());
    net.call("CHECK", "ctr1", &net.conf()).err(3);
}

#[test]
fn repeated_add_returns_the_same_address() {
    let net = Net::v4();
    let first = net.add("ctr1").ok();
    let again = net.add("ctr1").ok();
    assert_eq!(first, again);
    assert_eq!(net.allocations().len(), 1);
}

#[test]
fn del_twice_and_del_without_allocation_or_netns_succeed() {
    let net = Net::v4();
    net.del("never-added").ok();
    assert!(!net.dir().exists(), "DEL of nothing creates nothing");
    net.add("ctr1").ok();
    let del = |net: &Net| {
        net.raw(
            &[
                ("CNI_COMMAND", "DEL"),
                ("CNI_CONTAINERID", "ctr1"),
                ("CNI_NETNS", ""),
            ],
            net.conf().to_string().as_bytes(),
        )
    };
    del(&net).ok();
    del(&net).ok();
    assert!(net.allocations().is_empty());
}

#[test]
fn fifty_concurrent_adds_get_fifty_distinct_addresses() {
    let net = Net::v4();
    let conf = net.conf().to_string();
    let ids: Vec<String> = (0..50).map(|i| format!("pod{i}")).collect();
    let children: Vec<Child> = ids
        .iter()
        .map(|id| {
            net.spawn(
                &[("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", id)],
                conf.as_bytes(),
            )
        })
        .collect();
    let mut seen = HashSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "ADD failed: {text}");
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        assert!(seen.insert(address(&v, 0)), "duplicate address in {text}");
    }
    assert_eq!(seen.len(), 50);
    assert_eq!(net.allocations().len(), 50);
    assert_eq!(net.index_entries().len(), 50);
}

#[test]
fn gc_removes_only_attachments_not_listed() {
    let net = Net::v4();
    for id in ["keep1", "drop1", "keep2", "drop2"] {
        net.add(id).ok();
    }
    // A record cut short by a crash is garbage too.
    std::fs::write(net.dir().join("10.10.0.200"), "").unwrap();
    net.gc(&["keep1", "keep2"]).ok();
    assert_eq!(net.allocations(), ["10.10.0.2", "10.10.0.4"]);
    assert_eq!(net.index_entries().len(), 2);
    net.call("CHECK", "keep1", &net.conf()).ok();
    net.call("CHECK", "drop1", &net.conf()).err(3);
}

#[test]
fn full_range_fails_add_with_100_and_status_with_50() {
    let net = Net::new(json!({"ranges": [[{"subnet": "10.20.0.0/24",
        "rangeStart": "10.20.0.10", "rangeEnd": "10.20.0.11"}]]}));
    net.add("a").ok();
    net.call("STATUS", "", &net.conf()).ok();
    net.add("b").ok();
    let msg = net.add("c").err(100);
    assert!(msg.contains("range set 0"), "{msg}");
    let msg = net.call("STATUS", "", &net.conf()).err(50);
    assert!(msg.contains("range set 0"), "{msg}");
    net.del("a").ok();
    net.call("STATUS", "", &net.conf()).ok();
}

#[test]
fn dual_stack_result_with_routes_and_dns_in_1_0_0() {
    let resolv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        resolv.path(),
        "nameserver 10.43.0.10\nsearch svc.cluster.local\n",
    )
    .unwrap();
    let net = Net::new(json!({
        "ranges": [[{"subnet": "10.30.0.0/16"}], [{"subnet": "fd00:30::/64"}]],
        "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}],
        "resolvConf": resolv.path().display().to_string(),
    }));
    let mut conf = net.conf();
    conf["cniVersion"] = "1.0.0".into();
    let r = net.call("ADD", "ctr1", &conf).ok();
    assert_eq!(
        r,
        json!({"cniVersion": "1.0.0",
            "ips": [{"address": "10.30.0.2/16", "gateway": "10.30.0.1"},
                    {"address": "fd00:30::2/64", "gateway": "fd00:30::1"}],
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}],
            "dns": {"nameservers": ["10.43.0.10"], "search": ["svc.cluster.local"]}})
    );
    assert_eq!(net.allocations(), ["10.30.0.2", "fd00:30::2"]);
    assert!(net.dir().join("last_reserved_ip.1").exists());
}

#[test]
fn requested_ips_from_runtime_config_and_cni_args_are_honoured() {
    let net = Net::v4();
    let mut conf = net.conf();
    conf["runtimeConfig"] = json!({"ips": ["10.10.0.50/24"]});
    assert_eq!(
        address(&net.call("ADD", "a", &conf).ok(), 0),
        "10.10.0.50/24"
    );
    let r = net.raw(
        &[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "b"),
            ("CNI_ARGS", "IP=10.10.0.60"),
        ],
        net.conf().to_string().as_bytes(),
    );
    assert_eq!(address(&r.ok(), 0), "10.10.0.60/24");
    let msg = net.call("ADD", "c", &conf).err(7);
    assert!(
        msg.contains("10.10.0.50") && msg.contains("not available"),
        "{msg}"
    );
    conf["runtimeConfig"] = json!({"ips": ["192.168.9.9"]});
    net.call("ADD", "d", &conf).err(7);
}

#[test]
fn del_releases_records_that_have_no_index_entry() {
    // As the reference plugin, or a crash between the two writes, leaves them.
    let net = Net::v4();
    net.add("other").ok();
    std::fs::write(net.dir().join("10.10.0.77"), "ctr9\r\neth0").unwrap();
    net.call("CHECK", "ctr9", &net.conf()).ok();
    net.del("ctr9").ok();
    assert_eq!(net.allocations(), ["10.10.0.2"]);
}

#[test]
fn kill_9_during_add_then_gc_leaves_no_allocation() {
    let net = Net::v4();
    let conf = net.conf().to_string();
    let delays_us = [0u64, 100, 300, 700, 1500, 3000];
    for i in 0..30 {
        let id = format!("killed{i}");
        let mut child = net.spawn(
            &[("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", &id)],
            conf.as_bytes(),
        );
        std::thread::sleep(Duration::from_micros(delays_us[i % delays_us.len()]));
        let _ = child.kill();
        let _ = child.wait();
    }
    net.gc(&[]).ok();
    let left: Vec<String> = entries(&net.dir())
        .into_iter()
        .filter(|n| n != "lock" && n != ".skiff" && !n.starts_with("last_reserved_ip."))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        net.index_entries().is_empty(),
        "left in .skiff: {:?}",
        net.index_entries()
    );
    // The network still works afterwards.
    net.add("after").ok();
}

#[test]
fn bad_input_gets_its_code_and_leaves_the_data_dir_untouched() {
    let net = Net::v4();
    let add = |id: &str, stdin: &str| {
        net.raw(
            &[("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", id)],
            stdin.as_bytes(),
        )
    };
    add("a", "{\"cniVersion\": \"1.1.0\", ").err(6);
    let mut conf = net.conf();
    conf["ipam"]["rangeStrat"] = "10.10.0.5".into();
    let msg = add("a", &conf.to_string()).err(2);
    assert!(msg.contains("rangeStrat"), "{msg}");
    let mut conf = net.conf();
    conf["ipam"]["ranges"] = json!([[{"subnet": "10.50.0.0/24"}], [{"subnet": "10.50.0.0/25"}]]);
    let msg = add("a", &conf.to_string()).err(7);
    assert!(
        msg.contains("ipam.ranges[1][0]") && msg.contains("ipam.ranges[0][0]"),
        "{msg}"
    );
    let msg = net
        .raw(&[("CNI_COMMAND", "ADD")], net.conf().to_string().as_bytes())
        .err(4);
    assert!(msg.contains("CNI_CONTAINERID"), "{msg}");
    assert!(entries(net.data.path()).is_empty(), "data dir touched");
}
