//! The IPVS dataplane's masquerade set elements written over nfnetlink, against the real
//! kernel's nf_tables (no IPVS needed): the table is created as the dataplane creates it, then
//! element batches change its sets, read back with `nft`. Runs in a namespace it creates.

use std::collections::BTreeSet;
use std::net::IpAddr;

use skiff_proxy::ipvs::{
    full_script, Element, ElementSocket, ElementsError, IpFamily, MasqPolicy, MasqSets, SetChange,
    VirtualKey, MASQ_TABLE,
};
use skiff_proxy::model::Protocol;
use skiff_tests::guard::{require, Need};
use skiff_tests::Netns;

fn preconditions() {
    require(&[Need::Root, Need::Tool("nft", "nftables")]);
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vip(addr: &str, protocol: Protocol, port: u16) -> VirtualKey {
    VirtualKey {
        protocol,
        addr: ip(addr),
        port,
    }
}

/// A namespace holding the masquerade table with one cluster VIP and one hairpin endpoint.
fn with_table() -> Netns {
    let ns = Netns::new();
    let sets = MasqSets {
        cluster_vips: BTreeSet::from([vip("10.96.0.10", Protocol::Tcp, 80)]),
        external_vips: BTreeSet::new(),
        endpoints: BTreeSet::from([ip("10.2.0.2")]),
    };
    let policy = MasqPolicy {
        cluster_cidrs: vec!["10.2.0.0/16".parse().unwrap()],
        masquerade_all: false,
    };
    let script = std::env::temp_dir().join(format!("skiff-masq-{}.nft", ns.name()));
    std::fs::write(&script, full_script(&policy, &sets)).unwrap();
    ns.exec_ok("nft", &["-f", &script.to_string_lossy()]);
    let _ = std::fs::remove_file(&script);
    ns
}

/// The elements of `set` of the `ip` table as nft prints them, one per entry.
fn elements(ns: &Netns, set: &str) -> BTreeSet<String> {
    family_elements(ns, "ip", set)
}

/// The elements of `set` of the `ip6` table.
fn elements6(ns: &Netns, set: &str) -> BTreeSet<String> {
    family_elements(ns, "ip6", set)
}

fn family_elements(ns: &Netns, family: &str, set: &str) -> BTreeSet<String> {
    let out = ns.exec_ok("nft", &["-j", "list", "set", family, MASQ_TABLE, set]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut found = BTreeSet::new();
    for item in json["nftables"].as_array().unwrap() {
        for elem in item["set"]["elem"].as_array().into_iter().flatten() {
            let parts: Vec<String> = elem["concat"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            found.insert(parts.join(" . "));
        }
    }
    found
}

fn strings(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn element_batches_add_and_delete_set_elements_as_nft_reads_them() {
    preconditions();
    let ns = with_table();
    let changes = [
        SetChange {
            family: IpFamily::V4,
            set: "hairpin",
            add: false,
            elements: vec![Element::Hairpin(ip("10.2.0.2"))],
        },
        SetChange {
            family: IpFamily::V4,
            set: "cluster-vips",
            add: true,
            elements: vec![
                Element::Vip(vip("10.96.0.11", Protocol::Udp, 53)),
                Element::Vip(vip("10.96.0.12", Protocol::Sctp, 9000)),
            ],
        },
        SetChange {
            family: IpFamily::V4,
            set: "external-vips",
            add: true,
            elements: vec![Element::Vip(vip("192.168.5.1", Protocol::Tcp, 30080))],
        },
        SetChange {
            family: IpFamily::V4,
            set: "hairpin",
            add: true,
            elements: vec![Element::Hairpin(ip("10.2.0.7"))],
        },
        SetChange {
            family: IpFamily::V6,
            set: "cluster-vips",
            add: true,
            elements: vec![Element::Vip(vip("fd00:43::10", Protocol::Tcp, 443))],
        },
        SetChange {
            family: IpFamily::V6,
            set: "hairpin",
            add: true,
            elements: vec![Element::Hairpin(ip("fd00:2::5"))],
        },
    ];
    ns.run(|| {
        let mut socket = ElementSocket::open().expect("nfnetlink socket");
        socket.apply(MASQ_TABLE, &changes).expect("element batch");
        // Adding what is there already is no error (`add`, not `create`).
        socket
            .apply(MASQ_TABLE, &changes[1..2])
            .expect("repeated add");
    });
    assert_eq!(
        elements(&ns, "cluster-vips"),
        strings(&[
            "10.96.0.10 . tcp . 80",
            "10.96.0.11 . udp . 53",
            "10.96.0.12 . sctp . 9000"
        ])
    );
    assert_eq!(
        elements(&ns, "external-vips"),
        strings(&["192.168.5.1 . tcp . 30080"])
    );
    assert_eq!(elements(&ns, "hairpin"), strings(&["10.2.0.7 . 10.2.0.7"]));
    assert_eq!(
        elements6(&ns, "cluster-vips"),
        strings(&["fd00:43::10 . tcp . 443"])
    );
    assert_eq!(
        elements6(&ns, "hairpin"),
        strings(&["fd00:2::5 . fd00:2::5"])
    );
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn the_table_lookup_tells_a_fresh_namespace_from_one_holding_the_table() {
    preconditions();
    let fresh = Netns::new();
    assert!(!fresh.run(|| ElementSocket::open()
        .unwrap()
        .table_exists(MASQ_TABLE)
        .unwrap()));
    let ns = with_table();
    assert!(ns.run(|| ElementSocket::open()
        .unwrap()
        .table_exists(MASQ_TABLE)
        .unwrap()));
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn a_refused_element_batch_changes_nothing() {
    preconditions();
    let ns = with_table();
    let changes = [
        SetChange {
            family: IpFamily::V4,
            set: "cluster-vips",
            add: true,
            elements: vec![Element::Vip(vip("10.96.0.20", Protocol::Tcp, 443))],
        },
        // Not in the set: the kernel refuses the delete, and so the whole transaction.
        SetChange {
            family: IpFamily::V4,
            set: "hairpin",
            add: false,
            elements: vec![Element::Hairpin(ip("10.2.0.99"))],
        },
    ];
    // The socket belongs to the namespace it was opened in, whichever thread uses it.
    let mut socket = ns.run(|| ElementSocket::open().expect("nfnetlink socket"));
    match socket.apply(MASQ_TABLE, &changes) {
        Err(ElementsError::Refused(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
        other => panic!("expected ENOENT, got {other:?}"),
    }
    assert_eq!(
        elements(&ns, "cluster-vips"),
        strings(&["10.96.0.10 . tcp . 80"])
    );
    assert_eq!(elements(&ns, "hairpin"), strings(&["10.2.0.2 . 10.2.0.2"]));
    // The socket stays usable after a refusal.
    socket
        .apply(MASQ_TABLE, &changes[..1])
        .expect("a later batch");
    assert_eq!(
        elements(&ns, "cluster-vips"),
        strings(&["10.96.0.10 . tcp . 80", "10.96.0.20 . tcp . 443"])
    );
    assert_eq!(elements(&ns, "hairpin"), strings(&["10.2.0.2 . 10.2.0.2"]));
}
