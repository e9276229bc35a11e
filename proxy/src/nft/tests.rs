//! Golden rulesets and diffs, and the dataplane over a recording fake.
//!
//! `SKIFF_UPDATE_GOLDEN=1 cargo test -p skiff-proxy nft::tests` rewrites the files in
//! `testdata/`; review the difference before committing it.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::dataplane::{Changes, Dataplane};
use crate::model::{Endpoint, Protocol, ServiceModel, ServicePort, ServicePortName};

fn golden(file: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/nft/testdata")
        .join(file);
    if std::env::var_os("SKIFF_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with SKIFF_UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        actual, expected,
        "{file} differs; run with SKIFF_UPDATE_GOLDEN=1 to update"
    );
}

pub(super) fn name(ns: &str, svc: &str, port: &str, protocol: Protocol) -> ServicePortName {
    ServicePortName {
        namespace: ns.into(),
        name: svc.into(),
        port: port.into(),
        protocol,
    }
}

pub(super) fn ep(ip: &str, port: u16) -> Endpoint {
    Endpoint::ready(ip.parse().unwrap(), port)
}

pub(super) fn port(n: ServicePortName, cip: &str, port: u16, eps: Vec<Endpoint>) -> ServicePort {
    ServicePort::cluster_ip(n, vec![cip.parse().unwrap()], port, eps.into())
}

/// A web service with a node port and affinity, a DNS service over UDP, an external IP with
/// `externalTrafficPolicy: Local`, a node port and external IP without, and a service without
/// endpoints.
pub(super) fn small_model() -> ServiceModel {
    let mut web = port(
        name("default", "web", "http", Protocol::Tcp),
        "10.43.0.10",
        80,
        vec![ep("10.42.0.5", 8080), ep("10.42.1.7", 8080)],
    );
    web.node_port = Some(30080);
    web.affinity_timeout = Some(Duration::from_secs(10800));
    let dns = port(
        name("kube-system", "dns", "dns", Protocol::Udp),
        "10.43.0.53",
        53,
        vec![ep("10.42.0.9", 53)],
    );
    let mut ext = port(
        name("default", "ext", "", Protocol::Tcp),
        "10.43.0.20",
        443,
        vec![ep("10.42.0.6", 8443), ep("10.42.1.8", 8443)],
    );
    ext.external_ips = vec!["192.0.2.10".parse().unwrap()];
    ext.node_port = Some(30443);
    ext.external_local = true;
    ext.external_endpoints = [ep("10.42.0.6", 8443)].into();
    let mut nodes = port(
        name("default", "nodes", "", Protocol::Tcp),
        "10.43.0.21",
        8443,
        vec![ep("10.42.0.6", 8443), ep("10.42.1.8", 8443)],
    );
    nodes.external_ips = vec!["192.0.2.11".parse().unwrap()];
    nodes.node_port = Some(30444);
    let empty = port(
        name("default", "empty", "", Protocol::Tcp),
        "10.43.0.30",
        80,
        vec![],
    );
    let mut model = ServiceModel::default();
    for p in [web, dns, ext, nodes, empty] {
        model.ports.insert(p.name.clone(), p);
    }
    model
}

pub(super) fn context() -> RuleContext {
    RuleContext {
        cluster_cidrs: vec!["10.42.0.0/16".parse().unwrap()],
        masquerade_all: false,
    }
}

/// The transactions taking the table from `old` to `new`: new shared chains (when needed),
/// then the changes.
fn script_from(old: &ServiceModel, new: &ServiceModel) -> String {
    let mut programmed = Programmed::default();
    let before = desired(old, &context(), Family::Ipv4);
    let plans = plan(&programmed, &before);
    let first = hairpin_changes(&programmed, &before, &plans, false);
    for p in &plans {
        record(&mut programmed, p, &before, 1);
    }
    record_shared(&mut programmed, &first);
    let classes = new_classes(&programmed, &before);
    programmed.classes.extend(classes);
    let after = desired(new, &context(), Family::Ipv4);
    let classes = new_classes(&programmed, &after);
    let mut script = String::new();
    if !classes.is_empty() {
        script = render_classes(Family::Ipv4, &classes) + "# next transaction\n";
    }
    let plans = plan(&programmed, &after);
    let changes = hairpin_changes(&programmed, &after, &plans, false);
    script + &render(Family::Ipv4, &plans.iter().collect::<Vec<_>>(), &changes)
}

#[test]
fn full_ruleset_of_a_small_model_matches_golden() {
    let full = base_script(Family::Ipv4, &context())
        + &script_from(&ServiceModel::default(), &small_model());
    golden("full-ipv4.nft", &full);
}

#[test]
fn adding_a_service_adds_its_chains_and_elements_only() {
    let old = small_model();
    let mut new = old.clone();
    let api = port(
        name("default", "api", "", Protocol::Tcp),
        "10.43.0.40",
        8000,
        vec![ep("10.42.2.2", 8000)],
    );
    new.ports.insert(api.name.clone(), api);
    golden("add-service.nft", &script_from(&old, &new));
}

#[test]
fn removing_a_service_deletes_elements_before_chains() {
    let old = small_model();
    let mut new = old.clone();
    new.ports
        .remove(&name("default", "web", "http", Protocol::Tcp));
    let script = script_from(&old, &new);
    golden("remove-service.nft", &script);
    let element = script.find("delete element").unwrap();
    let chain = script.find("delete chain").unwrap();
    assert!(element < chain);
}

#[test]
fn adding_and_removing_an_endpoint_changes_elements_only() {
    let old = small_model();
    let dns = name("kube-system", "dns", "dns", Protocol::Udp);
    let mut added = old.clone();
    let p = added.ports.get_mut(&dns).unwrap();
    p.cluster_endpoints = [&p.cluster_endpoints[..], &[ep("10.42.1.9", 53)]]
        .concat()
        .into();
    p.external_endpoints = p.cluster_endpoints.clone();
    let add = script_from(&old, &added);
    golden("add-endpoint.nft", &add);
    // The shared chain for two endpoints exists already (`default/nodes` uses it).
    assert!(!add.contains("chain"), "{add}");
    let remove = script_from(&added, &old);
    golden("remove-endpoint.nft", &remove);
    // Only a shared chain (for one endpoint, new to the table here) is created; none deleted.
    assert_eq!(
        remove.matches("add chain").count(),
        remove
            .matches("add chain ip skiff-proxy dnat-cluster-outside-")
            .count()
    );
    assert!(!remove.contains("delete chain"), "{remove}");
}

#[test]
fn unchanged_model_needs_no_change() {
    assert_eq!(script_from(&small_model(), &small_model()), "");
}

#[test]
fn restart_claims_kernel_objects_and_changes_nothing_that_is_right() {
    let model = small_model();
    let want = desired(&model, &context(), Family::Ipv4);
    let mut unowned = Inventory::default();
    for o in want.values() {
        let inv = Inventory::of(o);
        unowned.chains.extend(inv.chains);
        unowned.sets.extend(inv.sets);
        unowned.elements.extend(inv.elements);
    }
    unowned
        .chains
        .insert("service-OLDOLDOL-default/gone/tcp/".into());
    let mut programmed = Programmed {
        unowned,
        classes: want.values().flat_map(|o| &o.classes).copied().collect(),
        ..Programmed::default()
    };
    programmed.hairpin_programmed(want.values().flat_map(|o| &o.hairpin).copied());
    claim(&mut programmed, &want);
    let plans = plan(&programmed, &want);
    assert!(hairpin_changes(&programmed, &want, &plans, true).is_empty());
    assert_eq!(plans.len(), 1, "{plans:?}");
    assert_eq!(plans[0].owner, None);
    assert_eq!(
        plans[0].delete_chains,
        ["service-OLDOLDOL-default/gone/tcp/"]
    );
}

#[test]
fn a_refused_service_port_is_reported_and_the_others_are_programmed() {
    let model = small_model();
    let fake = FakeNft {
        refuse_containing: vec!["default/ext/".into()],
        ..FakeNft::default()
    };
    let log = fake.log.clone();
    let mut dp = NftDataplane::with_kernel(fake, NftConfig::default());
    dp.load().unwrap();
    let report = dp.sync(&model, &Changes::All).unwrap();
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(
        report.failures[0].name,
        name("default", "ext", "", Protocol::Tcp)
    );
    assert_eq!(report.ports, 4);
    let log = log.lock().unwrap();
    let applied = log.applied.join("");
    assert!(applied.contains("default/web/tcp/http"));
    assert!(applied.contains("10.43.0.53 . udp . 53 : goto dnat-cluster-1"));
    // A second sync retries only the failed port.
    drop(log);
    let report = dp.sync(&model, &Changes::All).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.changes, 0);
}

#[test]
fn large_changes_are_split_between_whole_service_ports() {
    let mut model = ServiceModel::default();
    for i in 0..50u16 {
        let p = port(
            name("ns", &format!("s{i}"), "", Protocol::Tcp),
            &format!("10.43.1.{i}"),
            80,
            vec![ep(&format!("10.42.1.{i}"), 80)],
        );
        model.ports.insert(p.name.clone(), p);
    }
    let fake = FakeNft::default();
    let log = fake.log.clone();
    let config = NftConfig {
        max_transaction_lines: 50,
        ..NftConfig::default()
    };
    let mut dp = NftDataplane::with_kernel(fake, config);
    let report = dp.sync(&model, &Changes::All).unwrap();
    assert!(report.failures.is_empty());
    let log = log.lock().unwrap();
    // The fixed part, then several transactions.
    assert!(log.applied.len() >= 3, "{}", log.applied.len());
    for script in &log.applied[1..] {
        // Each port's dispatch element travels with its endpoint element.
        assert_eq!(
            script.matches(" . 80 . 0 : 10.42.1.").count(),
            script.matches(" . 80 : goto dnat-cluster-1").count(),
            "{script}"
        );
    }
}

#[test]
fn a_sync_writes_only_the_ports_that_changed() {
    let mut model = small_model();
    let fake = FakeNft::default();
    let log = fake.log.clone();
    let mut dp = NftDataplane::with_kernel(fake, NftConfig::default());
    dp.sync(&model, &Changes::All).unwrap();
    let scripts = log.lock().unwrap().applied.len();
    assert_eq!(dp.sync(&model, &Changes::All).unwrap().changes, 0);
    assert_eq!(log.lock().unwrap().applied.len(), scripts);
    let api = port(
        name("default", "api", "", Protocol::Tcp),
        "10.43.0.40",
        8000,
        vec![ep("10.42.2.2", 8000)],
    );
    model.ports.insert(api.name.clone(), api);
    let report = dp.sync(&model, &Changes::All).unwrap();
    // The dispatch element, the endpoint slot and the hairpin address.
    assert_eq!(report.changes, 3, "{report:?}");
    let log = log.lock().unwrap();
    assert_eq!(log.applied.len(), scripts + 1);
    let last = log.applied.last().unwrap();
    assert!(
        last.contains("10.43.0.40 . tcp . 8000 . 0 : 10.42.2.2 . 8000"),
        "{last}"
    );
    assert!(!last.contains("10.43.0.53"), "{last}");
}
