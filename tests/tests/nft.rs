//! The nftables firewall of the bridge plugin against the real kernel, each test inside its own
//! throwaway network namespace (the host's ruleset is never touched).

use std::time::Instant;

use skiff_cni::nft::{
    chain_name, AttachmentKey, AttachmentRules, Firewall, MacSpoof, NftError, Nftables,
};
use skiff_tests::guard::{require, Need};
use skiff_tests::Netns;

fn preconditions() {
    require(&[
        Need::Root,
        Need::Tool("nft", "nftables"),
        Need::File("/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables1"),
    ]);
}

fn ruleset(ns: &Netns) -> String {
    ns.exec_ok("nft", &["list", "ruleset"])
}

fn dual(addr4: &str, addr6: &str, veth: &str) -> AttachmentRules {
    AttachmentRules {
        masquerade: vec![addr4.parse().unwrap(), addr6.parse().unwrap()],
        macspoof: Some(MacSpoof {
            host_ifname: veth.into(),
            mac: [0x02, 0x42, 0xac, 0x11, 0x00, 0x05],
        }),
    }
}

fn ipv4(addr: &str) -> AttachmentRules {
    AttachmentRules {
        masquerade: vec![addr.parse().unwrap()],
        macspoof: None,
    }
}

const BASE_INET: &str = "table inet skiff-cni {
	map masq4 {
		type ipv4_addr : verdict
	}

	map masq6 {
		type ipv6_addr : verdict
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr vmap @masq4
		ip6 saddr vmap @masq6
	}
}
";

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn add_installs_masquerade_for_ipv4_and_ipv6_and_the_macspoof_check() {
    preconditions();
    let ns = Netns::new();
    let key = AttachmentKey::new("skiffnet", "c0ffee", "eth0");
    ns.run(|| {
        Nftables::load()
            .unwrap()
            .add(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth0a1b2c3d"))
            .unwrap()
    });
    let c = chain_name(&key);
    assert_eq!(c, "att-a3d9dc76-7276c4e7f85fa043");
    let want = format!(
        "table inet skiff-cni {{
	map masq4 {{
		type ipv4_addr : verdict
		elements = {{ 10.88.0.5 : jump {c} }}
	}}

	map masq6 {{
		type ipv6_addr : verdict
		elements = {{ fd00:88::5 : jump {c} }}
	}}

	chain postrouting {{
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr vmap @masq4
		ip6 saddr vmap @masq6
	}}

	chain {c} {{
		ip saddr 10.88.0.5 ip daddr 10.88.0.0/16 accept
		ip saddr 10.88.0.5 ip daddr != 224.0.0.0/4 masquerade
		ip6 saddr fd00:88::5 ip6 daddr fd00:88::/64 accept
		ip6 saddr fd00:88::5 ip6 daddr != ff00::/8 masquerade
	}}
}}
table bridge skiff-cni {{
	map macspoof {{
		type ifname : verdict
		elements = {{ \"veth0a1b2c3d\" : jump {c} }}
	}}

	chain prerouting {{
		type filter hook prerouting priority dstnat; policy accept;
		iifname vmap @macspoof
	}}

	chain {c} {{
		iifname \"veth0a1b2c3d\" ether saddr != 02:42:ac:11:00:05 drop
	}}
}}
"
    );
    assert_eq!(ruleset(&ns), want);
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn del_restores_the_ruleset_exactly_and_can_be_repeated() {
    preconditions();
    let ns = Netns::new();
    let warm = AttachmentKey::new("net", "warm-up", "eth0");
    let key = AttachmentKey::new("net", "c1", "eth0");
    let rules = dual("10.88.0.7/16", "fd00:88::7/64", "veth7");
    let fw = Nftables::load().unwrap();
    ns.run(|| {
        fw.add(&warm, &dual("10.88.0.6/16", "fd00:88::6/64", "veth6"))
            .unwrap();
        fw.del(&warm).unwrap();
    });
    let before = ruleset(&ns);
    assert!(before.starts_with(BASE_INET), "{before}");
    let (add, del, close) = ns.run(|| {
        // A fresh firewall as in a plugin process: load, add, check, del, drop.
        let fw = Nftables::load().unwrap();
        let t = Instant::now();
        fw.add(&key, &rules).unwrap();
        let add = t.elapsed();
        fw.check(&key, &rules).unwrap();
        let t = Instant::now();
        fw.del(&key).unwrap();
        let del = t.elapsed();
        let t = Instant::now();
        drop(fw);
        (add, del, t.elapsed())
    });
    eprintln!(
        "nftables add took {add:?}, del took {del:?}, dropping the context right after took {close:?}"
    );
    assert_eq!(ruleset(&ns), before);
    ns.run(|| {
        fw.del(&key).unwrap();
        fw.del(&AttachmentKey::new("net", "never-added", "eth0"))
            .unwrap();
    });
    assert_eq!(ruleset(&ns), before);
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn del_and_gc_without_any_skiff_table_succeed_and_create_nothing() {
    preconditions();
    let ns = Netns::new();
    let key = AttachmentKey::new("net", "c1", "eth0");
    ns.run(|| {
        let fw = Nftables::new();
        fw.del(&key).unwrap();
        fw.gc("net", &[]).unwrap();
    });
    assert_eq!(ruleset(&ns), "");
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn gc_removes_only_unlisted_attachments_of_that_network() {
    preconditions();
    let ns = Netns::new();
    let live = AttachmentKey::new("net", "live", "eth0");
    let dead = AttachmentKey::new("net", "dead", "eth0");
    let other = AttachmentKey::new("other", "dead", "eth0");
    let fw = Nftables::load().unwrap();
    let expected = ns.run(|| {
        fw.add(&live, &dual("10.88.0.2/16", "fd00:88::2/64", "veth2"))
            .unwrap();
        fw.add(&other, &ipv4("10.99.0.3/16")).unwrap();
        ruleset(&ns)
    });
    ns.run(|| {
        fw.add(&dead, &dual("10.88.0.3/16", "fd00:88::3/64", "veth3"))
            .unwrap();
        fw.gc("net", std::slice::from_ref(&live)).unwrap();
    });
    assert_eq!(
        ruleset(&ns),
        expected,
        "only the dead attachment of net went"
    );
    ns.run(|| {
        fw.check(&live, &dual("10.88.0.2/16", "fd00:88::2/64", "veth2"))
            .unwrap();
        fw.check(&other, &ipv4("10.99.0.3/16")).unwrap();
    });
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn a_transaction_failing_in_the_kernel_applies_nothing() {
    preconditions();
    let ns = Netns::new();
    // A plain chain where the script declares the bridge base chain: the kernel refuses that
    // command, which comes after every inet command of the same script.
    ns.exec_ok(
        "nft",
        &["add table bridge skiff-cni; add chain bridge skiff-cni prerouting"],
    );
    let before = ruleset(&ns);
    let key = AttachmentKey::new("net", "c1", "eth0");
    let err = ns.run(|| {
        Nftables::load()
            .unwrap()
            .add(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth5"))
            .unwrap_err()
    });
    assert!(
        matches!(&err, NftError::Transaction { message } if message.contains("Operation not supported")),
        "{err}"
    );
    assert_eq!(
        ruleset(&ns),
        before,
        "no inet table, chain or element was left"
    );
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn add_replaces_its_own_leftover_from_an_interrupted_attempt() {
    preconditions();
    let ns = Netns::new();
    let key = AttachmentKey::new("net", "c1", "eth0");
    let fw = Nftables::load().unwrap();
    let clean = ns.run(|| {
        fw.add(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth5"))
            .unwrap();
        let clean = ruleset(&ns);
        fw.del(&key).unwrap();
        // The earlier attempt got another address and host veth.
        fw.add(&key, &dual("10.88.0.4/16", "fd00:88::4/64", "veth4"))
            .unwrap();
        fw.add(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth5"))
            .unwrap();
        clean
    });
    assert_eq!(ruleset(&ns), clean);
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn add_takes_over_an_address_whose_stale_element_jumps_elsewhere() {
    preconditions();
    let ns = Netns::new();
    let stale = AttachmentKey::new("net", "crashed", "eth0");
    let key = AttachmentKey::new("net", "c1", "eth0");
    let fw = Nftables::load().unwrap();
    let base = ns.run(|| {
        fw.add(&key, &ipv4("10.88.0.5/16")).unwrap();
        fw.del(&key).unwrap();
        ruleset(&ns)
    });
    ns.run(|| {
        // An attachment that was never deleted holds the address and the host veth name.
        fw.add(&stale, &dual("10.88.0.5/16", "fd00:88::9/64", "veth5"))
            .unwrap();
        fw.add(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth5"))
            .unwrap();
        fw.check(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth5"))
            .unwrap();
        // The stale chain lost exactly what was taken over.
        let err = fw
            .check(&stale, &dual("10.88.0.5/16", "fd00:88::9/64", "veth5"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rule missing in inet: ip saddr 10.88.0.5"),
            "{err}"
        );
        assert!(!err.contains("fd00:88::9"), "{err}");
        fw.del(&stale).unwrap();
        fw.check(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth5"))
            .unwrap();
        fw.del(&key).unwrap();
    });
    let after = ruleset(&ns);
    assert!(after.starts_with(&base), "{after}");
    assert!(!after.contains("att-"), "no attachment chain left: {after}");
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn check_names_what_differs() {
    preconditions();
    let ns = Netns::new();
    let key = AttachmentKey::new("net", "c1", "eth0");
    let err = ns.run(|| {
        let fw = Nftables::load().unwrap();
        fw.add(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth5"))
            .unwrap();
        fw.check(&key, &dual("10.88.0.5/16", "fd00:88::5/64", "veth5"))
            .unwrap();
        fw.check(&key, &ipv4("10.88.0.6/16")).unwrap_err()
    });
    let NftError::Mismatch { key: k, problem } = err else {
        panic!("expected a mismatch, got {err}");
    };
    assert_eq!(k, "net/c1/eth0");
    for part in [
        "rule missing in inet: ip saddr 10.88.0.6 ip daddr 10.88.0.0/16 accept",
        "unexpected rule in inet: ip6 saddr fd00:88::5",
        "unexpected chain",
        "unexpected macspoof element \"veth5\"",
    ] {
        assert!(problem.contains(part), "{part:?} not in {problem}");
    }
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn many_attachments_add_and_del_independently() {
    preconditions();
    let ns = Netns::new();
    let fw = Nftables::load().unwrap();
    let before = ns.run(|| {
        let warm = AttachmentKey::new("net", "warm", "eth0");
        fw.add(&warm, &dual("10.88.9.9/16", "fd00:88::99/64", "vethw"))
            .unwrap();
        fw.del(&warm).unwrap();
        ruleset(&ns)
    });
    ns.run(|| {
        let keys: Vec<AttachmentKey> = (0..50)
            .map(|i| AttachmentKey::new("net", &format!("c{i}"), "eth0"))
            .collect();
        let t = Instant::now();
        for (i, k) in keys.iter().enumerate() {
            let rules = dual(
                &format!("10.88.1.{i}/16"),
                &format!("fd00:88::1:{i:x}/64"),
                &format!("veth{i}"),
            );
            fw.add(k, &rules).unwrap();
        }
        let add = t.elapsed() / 50;
        let t = Instant::now();
        for k in &keys {
            fw.del(k).unwrap();
        }
        eprintln!(
            "50 attachments: add {add:?} each, del {:?} each",
            t.elapsed() / 50
        );
    });
    assert_eq!(ruleset(&ns), before);
}

#[test]
#[ignore = "needs root: nftables in a network namespace"]
fn concurrent_first_adds_from_separate_firewalls_all_succeed() {
    preconditions();
    let ns = Netns::new();
    let keys: Vec<AttachmentKey> = (0..8)
        .map(|i| AttachmentKey::new("net", &format!("c{i}"), "eth0"))
        .collect();
    let rules = |i: usize| {
        dual(
            &format!("10.88.2.{i}/16"),
            &format!("fd00:88::2:{i:x}/64"),
            &format!("veth{i}"),
        )
    };
    std::thread::scope(|s| {
        for (i, key) in keys.iter().enumerate() {
            let ns = &ns;
            s.spawn(move || ns.run(|| Nftables::load().unwrap().add(key, &rules(i)).unwrap()));
        }
    });
    ns.run(|| {
        let fw = Nftables::load().unwrap();
        for (i, key) in keys.iter().enumerate() {
            fw.check(key, &rules(i)).unwrap();
            fw.del(key).unwrap();
        }
    });
    let after = ruleset(&ns);
    assert!(after.starts_with(BASE_INET), "{after}");
    assert!(!after.contains("att-"), "{after}");
}
