//! Syncs told which ports changed ([`Changes::Ports`]): only those are looked at, with the
//! ports that failed before, and a series of them ends where one full sync does. The kernel is
//! a [`FakeNft`] whose applied scripts are replayed into a strict model of the table.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::tests::{ep, name, port, small_model};
use super::*;
use crate::dataplane::{Changes, Dataplane, SyncReport};
use crate::model::{Endpoints, Protocol, ServiceModel, ServicePortName};

/// What the table holds after `scripts`: named objects (`chain X`, `set X`) and elements by
/// map (`hairpin` elements have an empty value). Panics on what nftables would refuse or do
/// differently: a service chain created twice, a deleted object that is not there, an element
/// added again with another value.
#[derive(Debug, Default, PartialEq, Eq)]
struct TableState {
    objects: BTreeSet<String>,
    elements: BTreeMap<String, BTreeMap<String, String>>,
}

fn body(rest: &str) -> &str {
    let open = rest.find("{ ").map_or(rest.len(), |i| i + 2);
    let close = rest.rfind(" }").unwrap_or(rest.len()).max(open);
    &rest[open..close]
}

fn items(list: &str) -> impl Iterator<Item = &str> {
    list.split(", ").filter(|i| !i.is_empty())
}

impl TableState {
    fn replay(scripts: &[String]) -> TableState {
        let mut t = TableState::default();
        for line in scripts.iter().flat_map(|s| s.lines()) {
            let words: Vec<&str> = line.splitn(5, ' ').collect();
            let [verb, kind, _family, _table, rest] = words[..] else {
                continue;
            };
            let object = rest.split(' ').next().unwrap_or_default();
            match (verb, kind) {
                ("add", "chain") => {
                    let owned = ["service-", "external-", "endpoint-", "dnat-"]
                        .iter()
                        .any(|p| object.starts_with(p));
                    let new = t.objects.insert(format!("chain {object}"));
                    assert!(new || !owned, "chain {object} created twice");
                }
                ("add", "set") | ("add", "map") => {
                    t.objects.insert(format!("{kind} {object}"));
                    if let Some((_, elements)) = rest.split_once("elements = { ") {
                        let list = elements.split_once(" }").expect("closed list").0;
                        for item in items(list) {
                            let (key, value) = item.split_once(" : ").unwrap_or((item, ""));
                            let map = t.elements.entry(object.to_string()).or_default();
                            let old = map.insert(key.to_string(), value.to_string());
                            assert!(
                                old.as_deref().is_none_or(|o| o == value),
                                "{object}: {key} added again with another value"
                            );
                        }
                    }
                }
                ("delete", "element") => {
                    for key in items(body(rest)) {
                        let map = t.elements.entry(object.to_string()).or_default();
                        assert!(map.remove(key).is_some(), "{object}: no element {key}");
                    }
                }
                ("delete", "chain") | ("delete", "set") => {
                    let gone = t.objects.remove(&format!("{kind} {object}"));
                    assert!(gone, "no {kind} {object} to delete");
                }
                _ => {}
            }
        }
        t.elements.retain(|_, m| !m.is_empty());
        t
    }
}

fn dataplane() -> (
    NftDataplane<FakeNft>,
    std::sync::Arc<std::sync::Mutex<FakeNftLog>>,
) {
    let fake = FakeNft::default();
    let log = fake.log.clone();
    (NftDataplane::with_kernel(fake, NftConfig::default()), log)
}

fn ports(names: &[&ServicePortName]) -> Changes {
    Changes::Ports(names.iter().map(|n| (*n).clone()).collect())
}

fn applied(log: &std::sync::Mutex<FakeNftLog>) -> Vec<String> {
    log.lock().unwrap().applied.clone()
}

fn web() -> ServicePortName {
    name("default", "web", "http", Protocol::Tcp)
}

fn dns() -> ServicePortName {
    name("kube-system", "dns", "dns", Protocol::Udp)
}

fn nodes() -> ServicePortName {
    name("default", "nodes", "", Protocol::Tcp)
}

/// `model` with one more endpoint for `port` (cluster and external).
fn with_endpoint(mut model: ServiceModel, port: &ServicePortName, ip: &str) -> ServiceModel {
    let p = model.ports.get_mut(port).unwrap();
    let more = ep(ip, p.cluster_endpoints[0].port);
    p.cluster_endpoints = [&p.cluster_endpoints[..], &[more]].concat().into();
    p.external_endpoints = p.cluster_endpoints.clone();
    model
}

#[test]
fn ports_sync_programs_the_named_port_and_leaves_unnamed_changes_alone() {
    let (mut dp, log) = dataplane();
    dp.sync(&small_model(), &Changes::All).unwrap();
    let model = with_endpoint(small_model(), &dns(), "10.42.1.9");
    let model = with_endpoint(model, &nodes(), "10.42.3.3");
    let before = applied(&log).len();
    let report = dp.sync(&model, &ports(&[&dns()])).unwrap();
    assert!(
        report.changes > 0 && report.failures.is_empty(),
        "{report:?}"
    );
    let scripts = applied(&log);
    let new = scripts[before..].join("");
    assert!(new.contains("10.42.1.9 . 53"), "{new}");
    // `nodes` changed too, but the sync was told only of `dns`.
    assert!(!new.contains("10.42.3.3"), "{new}");
    assert!(!new.contains("10.43.0.21"), "{new}");
    assert_eq!(report.ports, 5);
    // Named later, `nodes` gets its endpoint.
    let report = dp.sync(&model, &ports(&[&nodes()])).unwrap();
    assert!(report.changes > 0, "{report:?}");
    let scripts = applied(&log);
    assert!(scripts.last().unwrap().contains("10.42.3.3 . 8443"));
}

#[test]
fn ports_sync_deletes_a_named_port_missing_from_the_model() {
    let (mut dp, log) = dataplane();
    let full = dp.sync(&small_model(), &Changes::All).unwrap();
    let mut model = small_model();
    model.ports.remove(&web());
    let report = dp.sync(&model, &ports(&[&web()])).unwrap();
    assert_eq!(report.ports, full.ports - 1);
    assert!(report.objects < full.objects);
    let last = applied(&log).last().unwrap().clone();
    assert!(
        last.contains("delete chain ip skiff-proxy service-"),
        "{last}"
    );
    assert!(last.contains("default/web/tcp/http"), "{last}");
    let state = TableState::replay(&applied(&log));
    assert!(!format!("{state:?}").contains("default/web/"), "{state:?}");
    assert!(!format!("{state:?}").contains("10.43.0.10"), "{state:?}");
}

/// Models a sync loop could see one after another, each with the ports that changed.
fn series() -> Vec<(ServiceModel, Vec<ServicePortName>)> {
    let mut steps = Vec::new();
    let mut m = small_model();
    // An endpoint more for `dns`.
    m = with_endpoint(m, &dns(), "10.42.1.9");
    steps.push((m.clone(), vec![dns()]));
    // A new service, and `web` removed in the same sync.
    let api = port(
        name("default", "api", "", Protocol::Tcp),
        "10.43.0.40",
        8000,
        vec![ep("10.42.2.2", 8000), ep("10.42.0.9", 8000)],
    );
    let api_name = api.name.clone();
    m.ports.insert(api.name.clone(), api);
    m.ports.remove(&web());
    steps.push((m.clone(), vec![api_name.clone(), web()]));
    // `web` back with another affinity timeout; `api` gets a node port.
    let mut web_port = small_model().ports[&web()].clone();
    web_port.affinity_timeout = Some(Duration::from_secs(60));
    m.ports.insert(web(), web_port);
    m.ports.get_mut(&api_name).unwrap().node_port = Some(30090);
    steps.push((m.clone(), vec![web(), api_name.clone()]));
    // `dns` loses its endpoints; a name that changed nothing is named as well.
    let p = m.ports.get_mut(&dns()).unwrap();
    p.cluster_endpoints = Endpoints::default();
    p.external_endpoints = Endpoints::default();
    steps.push((m.clone(), vec![dns(), nodes()]));
    steps
}

#[test]
fn a_series_of_ports_syncs_ends_where_one_full_sync_does() {
    let (mut stepwise, stepwise_log) = dataplane();
    stepwise.sync(&small_model(), &Changes::All).unwrap();
    let mut last = SyncReport::default();
    let steps = series();
    for (model, names) in &steps {
        let names: Vec<&ServicePortName> = names.iter().collect();
        last = stepwise.sync(model, &ports(&names)).unwrap();
        assert!(last.failures.is_empty(), "{last:?}");
    }
    let final_model = &steps.last().unwrap().0;
    let (mut once, once_log) = dataplane();
    let full = once.sync(final_model, &Changes::All).unwrap();
    let mut stepwise_state = TableState::replay(&applied(&stepwise_log));
    let once_state = TableState::replay(&applied(&once_log));
    // Shared chains stay once created (the stepwise table keeps the one `dns` used with one endpoint).
    stepwise_state
        .objects
        .retain(|o| !o.starts_with("chain dnat-") || once_state.objects.contains(o));
    assert_eq!(stepwise_state, once_state);
    assert_eq!(last.ports, full.ports);
    assert_eq!(last.objects, full.objects + 1, "one more shared chain");
    // And a full sync of the stepwise dataplane finds nothing to change.
    assert_eq!(
        stepwise.sync(final_model, &Changes::All).unwrap().changes,
        0
    );
}

#[test]
fn a_failed_port_is_retried_by_a_later_ports_sync_that_does_not_name_it() {
    let ext = name("default", "ext", "", Protocol::Tcp);
    let (mut dp, log) = dataplane();
    dp.kernel_mut().refuse_containing = vec!["default/ext/".into()];
    let report = dp.sync(&small_model(), &Changes::All).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.ports, 4);
    // Still refused: reported again by a sync naming another port.
    let report = dp.sync(&small_model(), &ports(&[&dns()])).unwrap();
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(report.failures[0].name, ext);
    dp.kernel_mut().refuse_containing.clear();
    let report = dp.sync(&small_model(), &ports(&[&dns()])).unwrap();
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.ports, 5);
    let last = applied(&log).last().unwrap().clone();
    assert!(last.contains("default/ext/"), "{last}");
    // Programmed now: not looked at again.
    let before = applied(&log).len();
    assert_eq!(dp.sync(&small_model(), &ports(&[])).unwrap().changes, 0);
    assert_eq!(applied(&log).len(), before);
}

#[test]
fn a_refused_hairpin_change_is_retried_next_sync() {
    let (mut dp, log) = dataplane();
    dp.kernel_mut().refuse_containing = vec!["ipv4_addr . ipv4_addr; elements".into()];
    let report = dp.sync(&small_model(), &Changes::All).unwrap();
    assert!(report.failures.is_empty(), "{report:?}");
    let state = TableState::replay(&applied(&log));
    assert!(!state.elements.contains_key("hairpin"), "{state:?}");
    dp.kernel_mut().refuse_containing.clear();
    let report = dp.sync(&small_model(), &ports(&[])).unwrap();
    assert!(report.changes > 0, "{report:?}");
    let (mut once, once_log) = dataplane();
    once.sync(&small_model(), &Changes::All).unwrap();
    assert_eq!(
        TableState::replay(&applied(&log)),
        TableState::replay(&applied(&once_log))
    );
}

#[test]
fn a_ports_sync_after_a_failed_sync_compares_every_port() {
    let (mut dp, log) = dataplane();
    dp.kernel_mut().refuse_containing = vec!["add table".into()];
    assert!(dp.sync(&small_model(), &Changes::All).is_err());
    dp.kernel_mut().refuse_containing.clear();
    let report = dp.sync(&small_model(), &ports(&[&dns()])).unwrap();
    assert_eq!(report.ports, 5, "{report:?}");
    let (mut once, once_log) = dataplane();
    once.sync(&small_model(), &Changes::All).unwrap();
    assert_eq!(
        TableState::replay(&applied(&log)),
        TableState::replay(&applied(&once_log))
    );
}
