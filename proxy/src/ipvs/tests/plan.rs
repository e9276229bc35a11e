//! Pure planning: desired state, diff, aggregate, masquerade scripts, host settings.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::dataplane::Changes;

#[test]
fn diff_adds_services_with_their_reals_and_deletes_undesired_services() {
    let have = programmed(&[(vk("10.96.0.9", 80), &[])]);
    let want = wanted(&[(
        vk("10.96.0.10", 80),
        &[rk("10.2.0.2", 80), rk("10.2.0.3", 80)],
    )]);
    let plan = diff(&have, &want);
    assert_eq!(
        plan.ops,
        vec![
            IpvsOp::AddService(vk("10.96.0.10", 80), rr()),
            IpvsOp::AddReal(vk("10.96.0.10", 80), rk("10.2.0.2", 80), 1),
            IpvsOp::AddReal(vk("10.96.0.10", 80), rk("10.2.0.3", 80), 1),
            IpvsOp::DelService(vk("10.96.0.9", 80)),
        ]
    );
}

#[test]
fn diff_of_identical_state_is_empty() {
    let have = programmed(&[(vk("10.96.0.10", 80), &[(rk("10.2.0.2", 80), 1, 3)])]);
    let want = wanted(&[(vk("10.96.0.10", 80), &[rk("10.2.0.2", 80)])]);
    assert_eq!(diff(&have, &want), IpvsPlan::default());
}

#[test]
fn diff_drains_a_removed_tcp_real_with_connections_and_deletes_it_when_idle() {
    let v = vk("10.96.0.10", 80);
    let want = wanted(&[(v, &[rk("10.2.0.2", 80)])]);
    let busy = programmed(&[(v, &[(rk("10.2.0.2", 80), 1, 0), (rk("10.2.0.3", 80), 1, 2)])]);
    assert_eq!(
        diff(&busy, &want).ops,
        vec![IpvsOp::SetWeight(v, rk("10.2.0.3", 80), 0)]
    );
    let draining_still =
        programmed(&[(v, &[(rk("10.2.0.2", 80), 1, 0), (rk("10.2.0.3", 80), 0, 1)])]);
    assert_eq!(diff(&draining_still, &want).ops, vec![]);
    let drained = programmed(&[(v, &[(rk("10.2.0.2", 80), 1, 0), (rk("10.2.0.3", 80), 0, 0)])]);
    assert_eq!(
        diff(&drained, &want).ops,
        vec![IpvsOp::DelReal(v, rk("10.2.0.3", 80))]
    );
    assert_eq!(draining(&draining_still, &want), vec![v]);
}

#[test]
fn diff_deletes_a_removed_udp_real_at_once_and_clears_its_conntrack() {
    let v = VirtualKey {
        protocol: Protocol::Udp,
        addr: ip("10.96.0.10"),
        port: 53,
    };
    let have = programmed(&[(v, &[(rk("10.2.0.2", 53), 1, 4)])]);
    let plan = diff(&have, &wanted(&[(v, &[])]));
    assert_eq!(plan.ops, vec![IpvsOp::DelReal(v, rk("10.2.0.2", 53))]);
    assert_eq!(plan.clear_conntrack, vec![(v, rk("10.2.0.2", 53))]);
}

#[test]
fn diff_restores_weight_of_a_draining_real_that_comes_back_and_updates_changed_scheduling() {
    let v = vk("10.96.0.10", 80);
    let have = programmed(&[(v, &[(rk("10.2.0.2", 80), 0, 1)])]);
    let mut want = wanted(&[(v, &[rk("10.2.0.2", 80)])]);
    want.get_mut(&v).unwrap().spec.persistence = Some(60);
    let plan = diff(&have, &want);
    let spec = VirtualSpec {
        scheduler: "rr".into(),
        persistence: Some(60),
    };
    assert_eq!(
        plan.ops,
        vec![
            IpvsOp::UpdateService(v, spec),
            IpvsOp::SetWeight(v, rk("10.2.0.2", 80), 1)
        ]
    );
}

#[test]
fn desired_has_cluster_external_and_node_port_servers_with_their_endpoints() {
    let mut web = service("web", "10.96.0.10", &["10.2.0.2"]);
    web.node_port = Some(30080);
    web.external_ips = vec![ip("192.0.2.10")];
    web.external_endpoints = [endpoint("10.2.0.3", 8080)].into();
    web.affinity_timeout = Some(Duration::from_secs(600));
    let d = desired(&model(vec![web]), "rr", &[ip("10.0.0.1")]);
    let keys: Vec<_> = d.services.keys().copied().collect();
    assert_eq!(
        keys,
        vec![
            vk("10.0.0.1", 30080),
            vk("10.96.0.10", 80),
            vk("192.0.2.10", 80)
        ]
    );
    assert_eq!(
        d.services[&vk("10.96.0.10", 80)].reals,
        BTreeSet::from([rk("10.2.0.2", 8080)])
    );
    assert_eq!(
        d.services[&vk("10.0.0.1", 30080)].reals,
        BTreeSet::from([rk("10.2.0.3", 8080)])
    );
    assert_eq!(
        d.services[&vk("10.96.0.10", 80)].spec.persistence,
        Some(600)
    );
    assert_eq!(d.vips, BTreeSet::from([ip("10.96.0.10"), ip("192.0.2.10")]));
    assert_eq!(d.cluster_vips, BTreeSet::from([vk("10.96.0.10", 80)]));
    assert_eq!(
        d.external_vips,
        BTreeSet::from([vk("10.0.0.1", 30080), vk("192.0.2.10", 80)])
    );
}

#[test]
fn desired_reports_a_port_whose_virtual_server_another_port_holds() {
    let a = service("a", "10.96.0.10", &[]);
    let b = service("b", "10.96.0.10", &[]);
    let d = desired(&model(vec![a, b]), "rr", &[]);
    assert_eq!(d.services.len(), 1);
    assert_eq!(d.failures.len(), 1);
    assert_eq!(d.failures[0].name.name, "b");
    assert!(
        d.failures[0].reason.contains("default/a"),
        "{}",
        d.failures[0].reason
    );
}

#[test]
fn masquerade_table_script_is_golden_and_deltas_touch_only_changed_elements() {
    let sets = MasqSets {
        cluster_vips: BTreeSet::from([vk("10.96.0.10", 80), vk("fd00:43::10", 80)]),
        external_vips: BTreeSet::from([vk("10.0.0.1", 30080)]),
        endpoints: BTreeSet::from([ip("10.2.0.2"), ip("fd00:2::2")]),
    };
    let policy = MasqPolicy {
        cluster_cidrs: vec![
            "10.2.0.0/16".parse().unwrap(),
            "fd00:2::/64".parse().unwrap(),
        ],
        masquerade_all: false,
    };
    let golden = include_str!("../testdata/masq-full.nft");
    if std::env::var_os("SKIFF_UPDATE_GOLDEN").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/ipvs/testdata/masq-full.nft"
        );
        std::fs::write(path, full_script(&policy, &sets)).unwrap();
    }
    assert_eq!(full_script(&policy, &sets), golden);
    let mut next = sets.clone();
    next.cluster_vips.insert(vk("10.96.0.11", 80));
    next.endpoints.clear();
    assert_eq!(
        commands(&delta(&sets, &next)),
        "delete element ip skiff-ipvs hairpin { 10.2.0.2 . 10.2.0.2 }\n\
         delete element ip6 skiff-ipvs hairpin { fd00:2::2 . fd00:2::2 }\n\
         add element ip skiff-ipvs cluster-vips { 10.96.0.11 . tcp . 80 }\n"
    );
    assert!(delta(&next, &next).is_empty());
}

fn commands(changes: &[SetChange]) -> String {
    changes.iter().map(|c| c.to_command(MASQ_TABLE)).collect()
}

#[test]
fn element_keys_fill_32_bit_registers_in_network_order() {
    let key = Element::Vip(VirtualKey {
        protocol: Protocol::Udp,
        addr: ip("10.96.0.10"),
        port: 53,
    })
    .key();
    assert_eq!(hex(&key), "0a60000a1100000000350000");
    assert_eq!(
        hex(&Element::Hairpin(ip("10.2.0.2")).key()),
        "0a0200020a020002"
    );
    let v6 = Element::Vip(VirtualKey {
        protocol: Protocol::Tcp,
        addr: ip("fd00:43::10"),
        port: 443,
    });
    assert_eq!(
        hex(&v6.key()),
        "fd000043000000000000000000000010".to_string() + "06000000" + "01bb0000"
    );
    assert_eq!(Element::Hairpin(ip("fd00::1")).key().len(), 32);
}

#[test]
fn element_batch_is_one_transaction_with_an_answer_asked_per_message() {
    let changes = [
        SetChange {
            family: IpFamily::V4,
            set: "hairpin",
            add: false,
            elements: vec![Element::Hairpin(ip("10.2.0.3"))],
        },
        SetChange {
            family: IpFamily::V4,
            set: "cluster-vips",
            add: true,
            elements: vec![Element::Vip(vk("10.96.0.11", 80))],
        },
    ];
    let (bytes, answers) = batch(MASQ_TABLE, &changes, 100);
    assert_eq!(answers, 2);
    // nlmsghdr (native endian) + nfgenmsg: batch begin for subsystem nf_tables (10).
    let begin = "14000000100001006500000000000000".to_string() + "0000000a";
    // DELSETELEM (0x0a0e), REQUEST|ACK, seq 102, family ipv4: table, set, one element key.
    // Elements (nested 3), one list element (nested 1) holding a key (nested 1) holding the
    // value (1): each length covers its header and what it holds.
    let del = "480000000e0a0500660000000000000002000000".to_string()
        + "0f000100736b6966662d697076730000"
        + "0c0002006861697270696e00"
        + "1800038014000180100001800c000100"
        + "0a0200030a020003";
    assert_eq!(hex(&bytes[..20]), begin);
    assert_eq!(hex(&bytes[20..92]), del);
    // NEWSETELEM (0x0a0c) with CREATE (0x400): REQUEST|ACK|CREATE = 0x405; 84 bytes.
    assert_eq!(hex(&bytes[92..100]), "540000000c0a0504");
    assert_eq!(bytes.len(), 20 + 72 + 84 + 20);
    // Batch end, seq 104.
    assert_eq!(
        hex(&bytes[bytes.len() - 20..]),
        "140000001100010068000000000000000000000a"
    );
}

#[test]
fn sysctls_are_written_and_absent_optional_keys_skipped() {
    let root = tempfile::tempdir().unwrap();
    for (key, _, required) in SYSCTLS {
        if *required {
            let p = root.path().join(key);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "5\n").unwrap();
        }
    }
    apply_sysctls(root.path()).unwrap();
    let read = |k: &str| std::fs::read_to_string(root.path().join(k)).unwrap();
    assert_eq!(read("net/ipv4/vs/conntrack"), "1");
    assert_eq!(read("net/ipv4/vs/conn_reuse_mode"), "0");
    assert!(!root.path().join("net/bridge").exists());
}

#[test]
fn conntrack_arguments_name_the_vip_and_the_translated_endpoint() {
    assert_eq!(
        conntrack_args(ip("10.96.0.10"), 53, ip("10.2.0.2"), 5353).join(" "),
        "-D -f ipv4 -p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --dst-nat 10.2.0.2 --reply-port-src 5353"
    );
}

#[test]
fn aggregate_update_touches_only_the_changed_port_and_its_masquerade_elements() {
    let mut agg = Aggregate::default();
    let a = service("a", "10.96.0.10", &["10.2.0.2"]);
    let b = service("b", "10.96.0.11", &["10.2.0.2", "10.2.0.3"]);
    let first = agg.update(&model(vec![a.clone(), b.clone()]), &Changes::All, "rr", &[]);
    assert_eq!(first.touched.len(), 2);
    let b2 = service("b", "10.96.0.11", &["10.2.0.4"]);
    let update = agg.update(&model(vec![a.clone(), b2]), &Changes::All, "rr", &[]);
    assert_eq!(update.touched, BTreeSet::from([vk("10.96.0.11", 80)]));
    // 10.2.0.2 is still an endpoint of a: it stays in the hairpin set.
    assert_eq!(
        update.masq_before.endpoints,
        BTreeSet::from([ip("10.2.0.2"), ip("10.2.0.3")])
    );
    assert_eq!(
        update.masq_after.endpoints,
        BTreeSet::from([ip("10.2.0.2"), ip("10.2.0.4")])
    );
    assert_eq!(
        commands(&delta(&update.masq_before, &update.masq_after)),
        "delete element ip skiff-ipvs hairpin { 10.2.0.3 . 10.2.0.3 }\n\
         add element ip skiff-ipvs hairpin { 10.2.0.4 . 10.2.0.4 }\n"
    );
    assert_eq!(
        agg.update(&model(vec![a]), &Changes::All, "rr", &[])
            .touched,
        BTreeSet::from([vk("10.96.0.11", 80)])
    );
    assert!(!agg.wants_vip(&ip("10.96.0.11")));
    assert!(agg.wants_vip(&ip("10.96.0.10")));
}

#[test]
fn aggregate_reports_a_clashing_port_until_the_holder_goes() {
    let mut agg = Aggregate::default();
    let a = service("a", "10.96.0.10", &[]);
    let b = service("b", "10.96.0.10", &["10.2.0.9"]);
    let update = agg.update(&model(vec![a.clone(), b.clone()]), &Changes::All, "rr", &[]);
    assert_eq!(update.failures.len(), 1);
    assert_eq!(
        agg.update(&model(vec![a, b.clone()]), &Changes::All, "rr", &[])
            .failures
            .len(),
        1
    );
    let only_b = model(vec![b]);
    let update = agg.update(&only_b, &Changes::All, "rr", &[]);
    assert!(update.failures.is_empty());
    assert_eq!(
        agg.service(&only_b, &vk("10.96.0.10", 80)).unwrap().reals,
        BTreeSet::from([rk("10.2.0.9", 8080)])
    );
}
