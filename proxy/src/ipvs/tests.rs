//! Unit tests: codec golden bytes against `include/uapi/linux/ip_vs.h`, the diff, desired
//! state, masquerade scripts and the dataplane over fakes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_core::{NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};

use super::*;
use crate::dataplane::Dataplane;
use crate::model::{Endpoint, Protocol, ServiceModel, ServicePort, ServicePortName};
use crate::nft::FakeNft;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vk(addr: &str, port: u16) -> VirtualKey {
    VirtualKey {
        protocol: Protocol::Tcp,
        addr: ip(addr),
        port,
    }
}

fn rk(addr: &str, port: u16) -> RealKey {
    RealKey {
        addr: ip(addr),
        port,
    }
}

fn rr() -> VirtualSpec {
    VirtualSpec {
        scheduler: "rr".into(),
        persistence: None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join("")
}

fn frame(op: &IpvsOp) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&request(op), 0x24, NLM_F_REQUEST | NLM_F_ACK, 7, &mut out);
    out
}

#[test]
fn new_service_request_has_the_kernel_layout() {
    let bytes = frame(&IpvsOp::AddService(vk("10.96.0.10", 80), rr()));
    let want = concat!(
        "68000000",
        "2400",
        "0500",
        "07000000",
        "00000000", // nlmsghdr: len 104, family 0x24
        "01010000", // genlmsghdr: IPVS_CMD_NEW_SERVICE, version 1
        "54000100", // IPVS_CMD_ATTR_SERVICE, 84 bytes, nested
        "060001000200",
        "0000", // AF_INET
        "060002000600",
        "0000",                                     // IPPROTO_TCP
        "140003000a60000a000000000000000000000000", // address union
        "060004000050",
        "0000",                     // port 80 big-endian
        "0700060072720000",         // sched "rr\0" + pad
        "0c00070000000000ffffffff", // flags {0, ~0}
        "0800080000000000",         // timeout 0
        "08000900ffffffff",         // netmask 255.255.255.255
    );
    assert_eq!(hex(&bytes), want);
}

#[test]
fn persistent_service_sets_the_flag_and_timeout() {
    let spec = VirtualSpec {
        scheduler: "rr".into(),
        persistence: Some(10800),
    };
    let s = service_full(&vk("10.96.0.10", 80), &spec);
    assert_eq!(
        s.flags,
        Some(SvcFlags {
            flags: SVC_F_PERSISTENT,
            mask: u32::MAX
        })
    );
    assert_eq!(s.timeout, Some(10800));
    let bytes = frame(&IpvsOp::AddService(vk("10.96.0.10", 80), spec));
    assert!(
        hex(&bytes).contains("0c00070001000000ffffffff"),
        "{}",
        hex(&bytes)
    );
    assert!(hex(&bytes).contains("08000800302a0000"), "{}", hex(&bytes));
}

#[test]
fn new_dest_request_nests_service_key_and_masquerading_dest() {
    let bytes = frame(&IpvsOp::AddReal(
        vk("10.96.0.10", 80),
        rk("10.2.0.2", 8080),
        1,
    ));
    let want = concat!(
        "8c000000",
        "2400",
        "0500",
        "07000000",
        "00000000",
        "05010000", // IPVS_CMD_NEW_DEST
        "30000100", // service key: af, protocol, addr, port
        "0600010002000000",
        "0600020006000000",
        "140003000a60000a000000000000000000000000",
        "0600040000500000",
        "48000200",                                 // IPVS_CMD_ATTR_DEST
        "140001000a020002000000000000000000000000", // addr
        "06000200",
        "1f900000",         // port 8080 big-endian
        "0800030000000000", // IP_VS_CONN_F_MASQ
        "0800040001000000", // weight 1
        "0800050000000000", // u_thresh
        "0800060000000000", // l_thresh
        "06000b0002000000", // addr family AF_INET
    );
    assert_eq!(hex(&bytes), want);
}

#[test]
fn requests_decode_back_to_what_was_encoded() {
    let ops = [
        IpvsOp::AddService(vk("10.96.0.10", 80), rr()),
        IpvsOp::SetWeight(vk("10.96.0.10", 80), rk("10.2.0.2", 8080), 0),
        IpvsOp::DelReal(
            VirtualKey {
                protocol: Protocol::Udp,
                addr: ip("fd00::10"),
                port: 53,
            },
            rk("fd00:1::2", 5353),
        ),
    ];
    for op in &ops {
        let bytes = frame(op);
        let decoded = decode_frame(&bytes).unwrap();
        assert_eq!(decoded.header.sequence_number, 7);
        let NetlinkPayload::InnerMessage(genl) = decoded.payload else {
            panic!("not an IPVS message")
        };
        assert_eq!(genl.payload, request(op));
    }
}

#[test]
fn a_kernel_service_dump_reply_decodes_skipping_stats() {
    // IPVS_CMD_NEW_SERVICE with a service carrying stats (nested, ignored) and pe_name.
    let attrs = concat!(
        "0600010002000000",
        "0600020011000000", // UDP
        "140003000a60000a000000000000000000000000",
        "0600040000350000", // port 53
        "0700060072720000",
        "0c00070003000000ffffffff", // persistent|hashed
        "08000800100e0000",         // 3600
        "08000900ffffffff",
        "0c000a00",
        "0800010005000000", // stats { conns: 5 }
    );
    let inner_len = 4 + attrs.len() / 2;
    let total = 16 + 4 + inner_len;
    let msg = format!(
        "{:02x}000000240002000100000000000000010100{}{:02x}000100{}",
        total, "00", inner_len, attrs
    );
    let bytes: Vec<u8> = (0..msg.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&msg[i..i + 2], 16).unwrap())
        .collect();
    let decoded = decode_frame(&bytes).unwrap();
    let NetlinkPayload::InnerMessage(genl) = decoded.payload else {
        panic!("not an IPVS message")
    };
    let [IpvsAttr::Service(s)] = genl.payload.attrs.as_slice() else {
        panic!("{:?}", genl.payload)
    };
    let (key, spec) = parse_service(s).unwrap();
    assert_eq!(
        key,
        VirtualKey {
            protocol: Protocol::Udp,
            addr: ip("10.96.0.10"),
            port: 53
        }
    );
    assert_eq!(spec.persistence, Some(3600));
    assert_eq!(s.netmask, Some(u32::MAX));
}

/// A real server with its weight and connection count.
type RealEntry = (RealKey, u32, u32);

fn programmed(entries: &[(VirtualKey, &[RealEntry])]) -> Programmed {
    entries
        .iter()
        .map(|(k, reals)| {
            (
                *k,
                ProgrammedService {
                    spec: rr(),
                    reals: reals
                        .iter()
                        .map(|(r, weight, connections)| {
                            (
                                *r,
                                RealState {
                                    weight: *weight,
                                    connections: *connections,
                                },
                            )
                        })
                        .collect(),
                },
            )
        })
        .collect()
}

fn wanted(entries: &[(VirtualKey, &[RealKey])]) -> DesiredServices {
    entries
        .iter()
        .map(|(k, reals)| {
            (
                *k,
                DesiredService {
                    spec: rr(),
                    reals: reals.iter().copied().collect(),
                },
            )
        })
        .collect()
}

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

fn endpoint(addr: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: ip(addr),
        port,
        ready: true,
        serving: true,
        terminating: false,
        local: true,
    }
}

fn service(name: &str, cluster_ip: &str, endpoints: &[&str]) -> ServicePort {
    let eps: Vec<Endpoint> = endpoints.iter().map(|e| endpoint(e, 8080)).collect();
    ServicePort {
        name: ServicePortName {
            namespace: "default".into(),
            name: name.into(),
            port: String::new(),
            protocol: Protocol::Tcp,
        },
        cluster_ips: vec![ip(cluster_ip)],
        port: 80,
        protocol: Protocol::Tcp,
        node_port: None,
        external_ips: vec![],
        load_balancer_ips: vec![],
        affinity_timeout: None,
        external_local: false,
        internal_local: false,
        health_check_node_port: None,
        cluster_endpoints: eps.clone(),
        external_endpoints: eps,
        local_ready_endpoints: 0,
    }
}

fn model(ports: Vec<ServicePort>) -> ServiceModel {
    ServiceModel {
        ports: ports.into_iter().map(|p| (p.name.clone(), p)).collect(),
    }
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
    let golden = include_str!("testdata/masq-full.nft");
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

type FakePlane = IpvsDataplane<FakeIpvs, FakeVipLink, FakeNft, FakeConntrack>;

fn fake_plane(ipvs: &FakeIpvs, link: &FakeVipLink, nft: &FakeNft) -> FakePlane {
    let config = IpvsConfig {
        sysctl_root: None,
        ..IpvsConfig::default()
    };
    IpvsDataplane::with_parts(
        ipvs.clone(),
        link.clone(),
        nft.clone(),
        FakeConntrack::default(),
        config,
    )
}

#[test]
fn dataplane_programs_the_model_and_a_restart_with_the_same_model_changes_nothing() {
    let (ipvs, link, nft) = (
        FakeIpvs::default(),
        FakeVipLink::default(),
        FakeNft::default(),
    );
    let m = model(vec![service(
        "web",
        "10.96.0.10",
        &["10.2.0.2", "10.2.0.3"],
    )]);
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    let report = plane.sync(&m).unwrap();
    assert_eq!((report.ports, report.objects), (1, 3));
    assert!(link.addresses.lock().unwrap().contains(&ip("10.96.0.10")));
    let requests = ipvs.state.lock().unwrap().requests.len();
    assert_eq!(requests, 3);

    let mut restarted = fake_plane(&ipvs, &link, &nft);
    restarted.load().unwrap();
    let report = restarted.sync(&m).unwrap();
    assert_eq!(
        ipvs.state.lock().unwrap().requests.len(),
        requests,
        "no IPVS writes after restart"
    );
    assert_eq!(report.objects, 3);
    // The masquerade table is rewritten whole once per start; nothing else changed.
    assert_eq!(report.changes, 1);
    assert_eq!(restarted.sync(&m).unwrap().changes, 0);
}

#[test]
fn dataplane_drains_a_removed_endpoint_until_its_connections_close() {
    let (ipvs, link, nft) = (
        FakeIpvs::default(),
        FakeVipLink::default(),
        FakeNft::default(),
    );
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    plane
        .sync(&model(vec![service(
            "web",
            "10.96.0.10",
            &["10.2.0.2", "10.2.0.3"],
        )]))
        .unwrap();
    let v = vk("10.96.0.10", 80);
    ipvs.set_connections(v, rk("10.2.0.3", 8080), 1, 0);
    let smaller = model(vec![service("web", "10.96.0.10", &["10.2.0.2"])]);
    plane.sync(&smaller).unwrap();
    let weight = |ipvs: &FakeIpvs| {
        let st = ipvs.state.lock().unwrap();
        st.services[&v]
            .1
            .get(&rk("10.2.0.3", 8080))
            .map(|d| d.weight)
    };
    assert_eq!(weight(&ipvs), Some(Some(0)));
    assert_eq!(plane.reap_drained().unwrap(), 0);
    ipvs.set_connections(v, rk("10.2.0.3", 8080), 0, 0);
    assert_eq!(plane.reap_drained().unwrap(), 1);
    assert_eq!(weight(&ipvs), None);
    let _ = BTreeMap::<u8, u8>::new();
}

#[test]
fn dataplane_leaves_virtual_servers_that_are_not_on_its_addresses_alone() {
    let (ipvs, link, nft) = (
        FakeIpvs::default(),
        FakeVipLink::default(),
        FakeNft::default(),
    );
    let foreign = vk("192.0.2.1", 443);
    ipvs.state
        .lock()
        .unwrap()
        .services
        .insert(foreign, (service_full(&foreign, &rr()), BTreeMap::new()));
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    plane.sync(&model(vec![])).unwrap();
    assert!(ipvs.state.lock().unwrap().services.contains_key(&foreign));
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

#[test]
fn dataplane_changing_one_port_sends_only_its_requests_and_removing_it_unbinds_its_vip() {
    let (ipvs, link, nft) = (
        FakeIpvs::default(),
        FakeVipLink::default(),
        FakeNft::default(),
    );
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    let a = service("a", "10.96.0.10", &["10.2.0.2"]);
    plane
        .sync(&model(vec![
            a.clone(),
            service("b", "10.96.0.11", &["10.2.0.3"]),
        ]))
        .unwrap();
    let before = ipvs.state.lock().unwrap().requests.len();
    plane
        .sync(&model(vec![
            a.clone(),
            service("b", "10.96.0.11", &["10.2.0.3", "10.2.0.4"]),
        ]))
        .unwrap();
    let sent: Vec<IpvsMessage> = ipvs.state.lock().unwrap().requests[before..].to_vec();
    assert_eq!(
        sent,
        vec![request(&IpvsOp::AddReal(
            vk("10.96.0.11", 80),
            rk("10.2.0.4", 8080),
            1
        ))]
    );
    plane.sync(&model(vec![a])).unwrap();
    assert!(!ipvs
        .state
        .lock()
        .unwrap()
        .services
        .contains_key(&vk("10.96.0.11", 80)));
    assert!(!link.addresses.lock().unwrap().contains(&ip("10.96.0.11")));
    assert!(link.addresses.lock().unwrap().contains(&ip("10.96.0.10")));
}

#[test]
fn dataplane_deletes_a_removed_udp_endpoint_at_once_and_clears_its_conntrack_entries() {
    let (ipvs, link, nft) = (
        FakeIpvs::default(),
        FakeVipLink::default(),
        FakeNft::default(),
    );
    let conntrack = FakeConntrack::default();
    let config = IpvsConfig {
        sysctl_root: None,
        ..IpvsConfig::default()
    };
    let mut plane = IpvsDataplane::with_parts(ipvs.clone(), link, nft, conntrack.clone(), config);
    let mut dns = service("dns", "10.96.0.53", &["10.2.0.2", "10.2.0.3"]);
    dns.protocol = Protocol::Udp;
    dns.name.protocol = Protocol::Udp;
    plane.sync(&model(vec![dns.clone()])).unwrap();
    let v = VirtualKey {
        protocol: Protocol::Udp,
        addr: ip("10.96.0.53"),
        port: 80,
    };
    ipvs.set_connections(v, rk("10.2.0.3", 8080), 0, 5);
    dns.cluster_endpoints.truncate(1);
    plane.sync(&model(vec![dns])).unwrap();
    assert!(!ipvs.state.lock().unwrap().services[&v]
        .1
        .contains_key(&rk("10.2.0.3", 8080)));
    assert_eq!(
        *conntrack.cleared.lock().unwrap(),
        vec![(ip("10.96.0.53"), 80, ip("10.2.0.3"), 8080)]
    );
}
