//! Pure planning: desired state, diff, aggregate, masquerade scripts, host settings.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;

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
    web.external_endpoints = vec![endpoint("10.2.0.3", 8080)];
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
        cluster_vips: BTreeSet::from([vk("10.96.0.10", 80)]),
        external_vips: BTreeSet::from([vk("10.0.0.1", 30080)]),
        endpoints: BTreeSet::from([ip("10.2.0.2")]),
    };
    let policy = MasqPolicy {
        cluster_cidrs: vec!["10.2.0.0/16".parse().unwrap()],
        masquerade_all: false,
    };
    let golden = include_str!("../testdata/masq-full.nft");
    assert_eq!(full_script(&policy, &sets), golden);
    let mut next = sets.clone();
    next.cluster_vips.insert(vk("10.96.0.11", 80));
    next.endpoints.clear();
    assert_eq!(
        delta_script(&sets, &next),
        "delete element ip skiff-ipvs hairpin { 10.2.0.2 . 10.2.0.2 }\n\
         add set ip skiff-ipvs cluster-vips { type ipv4_addr . inet_proto . inet_service; elements = { 10.96.0.11 . tcp . 80 }; }\n"
    );
    assert_eq!(delta_script(&next, &next), "");
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
    let first = agg.update(&model(vec![a.clone(), b.clone()]), "rr", &[]);
    assert_eq!(first.touched.len(), 2);
    let b2 = service("b", "10.96.0.11", &["10.2.0.4"]);
    let update = agg.update(&model(vec![a.clone(), b2]), "rr", &[]);
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
        delta_script(&update.masq_before, &update.masq_after),
        "delete element ip skiff-ipvs hairpin { 10.2.0.3 . 10.2.0.3 }\n\
         add set ip skiff-ipvs hairpin { type ipv4_addr . ipv4_addr; elements = { 10.2.0.4 . 10.2.0.4 }; }\n"
    );
    assert_eq!(
        agg.update(&model(vec![a]), "rr", &[]).touched,
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
    let update = agg.update(&model(vec![a.clone(), b.clone()]), "rr", &[]);
    assert_eq!(update.failures.len(), 1);
    assert_eq!(
        agg.update(&model(vec![a, b.clone()]), "rr", &[])
            .failures
            .len(),
        1
    );
    let only_b = model(vec![b]);
    let update = agg.update(&only_b, "rr", &[]);
    assert!(update.failures.is_empty());
    assert_eq!(
        agg.service(&only_b, &vk("10.96.0.10", 80)).unwrap().reals,
        BTreeSet::from([rk("10.2.0.9", 8080)])
    );
}
