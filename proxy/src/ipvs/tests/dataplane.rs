//! The dataplane over fakes.

use std::collections::BTreeMap;

use super::*;
use crate::dataplane::{Changes, Dataplane};

/// Fresh fake IPVS, VIP link and nftables.
fn fakes() -> (FakeIpvs, FakeVipLink, FakeNft) {
    Default::default()
}

#[test]
fn dataplane_programs_the_model_and_a_restart_with_the_same_model_changes_nothing() {
    let (ipvs, link, nft) = fakes();
    let m = model(vec![service(
        "web",
        "10.96.0.10",
        &["10.2.0.2", "10.2.0.3"],
    )]);
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    let report = plane.sync(&m, &Changes::All).unwrap();
    assert_eq!((report.ports, report.objects), (1, 3));
    assert!(link.addresses.lock().unwrap().contains(&ip("10.96.0.10")));
    let requests = ipvs.state.lock().unwrap().requests.len();
    assert_eq!(requests, 3);

    let mut restarted = fake_plane(&ipvs, &link, &nft);
    restarted.load().unwrap();
    let report = restarted.sync(&m, &Changes::All).unwrap();
    assert_eq!(
        ipvs.state.lock().unwrap().requests.len(),
        requests,
        "no IPVS writes after restart"
    );
    assert_eq!(report.objects, 3);
    // The masquerade table is rewritten whole once per start; nothing else changed.
    assert_eq!(report.changes, 1);
    assert_eq!(restarted.sync(&m, &Changes::All).unwrap().changes, 0);
}

#[test]
fn dataplane_drains_a_removed_endpoint_until_its_connections_close() {
    let (ipvs, link, nft) = fakes();
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    plane
        .sync(
            &model(vec![service(
                "web",
                "10.96.0.10",
                &["10.2.0.2", "10.2.0.3"],
            )]),
            &Changes::All,
        )
        .unwrap();
    let v = vk("10.96.0.10", 80);
    ipvs.set_connections(v, rk("10.2.0.3", 8080), 1, 0);
    let smaller = model(vec![service("web", "10.96.0.10", &["10.2.0.2"])]);
    plane.sync(&smaller, &Changes::All).unwrap();
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
    let (ipvs, link, nft) = fakes();
    let foreign = vk("192.0.2.1", 443);
    ipvs.state
        .lock()
        .unwrap()
        .services
        .insert(foreign, (service_full(&foreign, &rr()), BTreeMap::new()));
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    plane.sync(&model(vec![]), &Changes::All).unwrap();
    assert!(ipvs.state.lock().unwrap().services.contains_key(&foreign));
}

#[test]
fn dataplane_changing_one_port_sends_only_its_requests_and_removing_it_unbinds_its_vip() {
    let (ipvs, link, nft) = fakes();
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    let a = service("a", "10.96.0.10", &["10.2.0.2"]);
    plane
        .sync(
            &model(vec![a.clone(), service("b", "10.96.0.11", &["10.2.0.3"])]),
            &Changes::All,
        )
        .unwrap();
    let before = ipvs.state.lock().unwrap().requests.len();
    plane
        .sync(
            &model(vec![
                a.clone(),
                service("b", "10.96.0.11", &["10.2.0.3", "10.2.0.4"]),
            ]),
            &Changes::All,
        )
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
    plane.sync(&model(vec![a]), &Changes::All).unwrap();
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
    let (ipvs, link, nft) = fakes();
    let conntrack = FakeConntrack::default();
    let config = IpvsConfig {
        sysctl_root: None,
        ..IpvsConfig::default()
    };
    let mut plane = IpvsDataplane::with_parts(ipvs.clone(), link, nft, conntrack.clone(), config);
    let mut dns = service("dns", "10.96.0.53", &["10.2.0.2", "10.2.0.3"]);
    dns.protocol = Protocol::Udp;
    dns.name.protocol = Protocol::Udp;
    plane
        .sync(&model(vec![dns.clone()]), &Changes::All)
        .unwrap();
    let v = VirtualKey {
        protocol: Protocol::Udp,
        addr: ip("10.96.0.53"),
        port: 80,
    };
    ipvs.set_connections(v, rk("10.2.0.3", 8080), 0, 5);
    dns.cluster_endpoints = dns.cluster_endpoints[..1].into();
    plane.sync(&model(vec![dns]), &Changes::All).unwrap();
    assert!(!ipvs.state.lock().unwrap().services[&v]
        .1
        .contains_key(&rk("10.2.0.3", 8080)));
    assert_eq!(
        *conntrack.cleared.lock().unwrap(),
        vec![(ip("10.96.0.53"), 80, ip("10.2.0.3"), 8080)]
    );
}

#[test]
fn a_new_masquerade_table_is_created_empty_then_filled_by_one_element_batch() {
    let (ipvs, link, nft) = fakes();
    let mut plane = fake_plane(&ipvs, &link, &nft);
    plane.load().unwrap();
    // Created at load, so the first sync is one element transaction.
    assert_eq!(nft.log.lock().unwrap().applied.len(), 1);
    plane
        .sync(
            &model(vec![service("web", "10.96.0.10", &["10.2.0.2"])]),
            &Changes::All,
        )
        .unwrap();
    let applied = nft.log.lock().unwrap().applied.clone();
    assert_eq!(applied.len(), 2, "{applied:?}");
    assert!(applied[0].starts_with("add table ip skiff-ipvs\n"));
    assert!(!applied[0].contains("add element"));
    // The test's endpoints are on this node: hairpin elements too.
    assert_eq!(
        applied[1],
        "add element ip skiff-ipvs cluster-vips { 10.96.0.10 . tcp . 80 }\n\
         add element ip skiff-ipvs hairpin { 10.2.0.2 . 10.2.0.2 }\n"
    );
}
