//! Unit tests of incremental syncs: which [`Changes`] the loop passes, when it rebuilds
//! everything, and housekeeping.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

use super::tests::{eventually, fast, fixture, lb_local, port_name, service};
use super::*;
use crate::dataplane::Changes;
use crate::model::ServiceKey;

fn slice(name: &str, service: &str, ip: &str) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name,
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
    }))
    .unwrap()
}

fn ports(names: &[&str]) -> Changes {
    Changes::Ports(names.iter().map(|n| port_name(n)).collect())
}

fn key(name: &str) -> ServiceKey {
    ServiceKey::new("default", name)
}

#[tokio::test]
async fn the_first_sync_is_full_and_later_ones_pass_only_the_changed_ports() {
    let (f, mut sync) = fixture(fast());
    f.source.replace_all(
        vec![service("web", "10.43.0.10"), service("db", "10.43.0.11")],
        vec![slice("web-1", "web", "10.42.0.5")],
    );
    sync.sync_once().await.unwrap();
    f.source.apply_slice(slice("web-1", "web", "10.42.0.6"));
    sync.sync_once().await.unwrap();
    f.source.apply_service(service("db", "10.43.0.12"));
    f.source.apply_service(service("new", "10.43.0.13"));
    sync.sync_once().await.unwrap();
    f.source.delete_service(&key("web"));
    sync.sync_once().await.unwrap();

    assert_eq!(
        f.record.changes(),
        [
            Changes::All,
            ports(&["web"]),
            ports(&["db", "new"]),
            ports(&["web"])
        ]
    );
    assert!(
        f.record.violations().is_empty(),
        "{:?}",
        f.record.violations()
    );
    let last = f.record.models().pop().unwrap();
    let names: BTreeSet<String> = last.ports.keys().map(|n| n.name.clone()).collect();
    assert_eq!(names, BTreeSet::from(["db".into(), "new".into()]));
}

#[tokio::test]
async fn a_slice_moved_to_another_service_changes_both() {
    let (f, mut sync) = fixture(fast());
    f.source.replace_all(
        vec![service("web", "10.43.0.10"), service("db", "10.43.0.11")],
        vec![slice("s1", "web", "10.42.0.5")],
    );
    sync.sync_once().await.unwrap();
    f.source.apply_slice(slice("s1", "db", "10.42.0.5"));
    sync.sync_once().await.unwrap();
    f.source.delete_slice("default", "s1");
    sync.sync_once().await.unwrap();
    assert_eq!(
        f.record.changes()[1..],
        [ports(&["db", "web"]), ports(&["db"])]
    );
    assert!(
        f.record.violations().is_empty(),
        "{:?}",
        f.record.violations()
    );
}

#[tokio::test]
async fn a_sync_without_changed_ports_does_not_call_the_dataplane() {
    let (f, mut sync) = fixture(fast());
    f.source
        .replace_all(vec![service("web", "10.43.0.10")], vec![]);
    let first = sync.sync_once().await.unwrap();
    let idle = sync.sync_once().await.unwrap();
    // Dirty but identical: rebuilt, nothing changed.
    f.source.apply_service(service("web", "10.43.0.10"));
    let same = sync.sync_once().await.unwrap();
    assert_eq!(f.record.changes(), [Changes::All]);
    assert_eq!((idle.ports, idle.changes), (first.ports, 0));
    assert_eq!(same.ports, first.ports);
}

#[tokio::test]
async fn the_sync_after_a_failed_one_and_after_a_relist_is_full() {
    let (f, mut sync) = fixture(fast());
    f.source
        .replace_all(vec![service("web", "10.43.0.10")], vec![]);
    sync.sync_once().await.unwrap();
    f.source.apply_service(service("db", "10.43.0.11"));
    f.record.fail_next_syncs(1);
    assert!(sync.sync_once().await.is_err());
    f.source.apply_service(service("other", "10.43.0.12"));
    sync.sync_once().await.unwrap();
    f.source.apply_service(service("next", "10.43.0.13"));
    sync.sync_once().await.unwrap();
    f.source
        .replace_all(vec![service("web", "10.43.0.10")], vec![]);
    sync.sync_once().await.unwrap();
    assert_eq!(
        f.record.changes(),
        [
            Changes::All,
            ports(&["db"]),
            Changes::All,
            ports(&["next"]),
            Changes::All
        ]
    );
    assert!(
        f.record.violations().is_empty(),
        "{:?}",
        f.record.violations()
    );
}

#[tokio::test]
async fn health_check_ports_are_updated_only_when_a_health_checked_port_changes() {
    let (f, mut sync) = fixture(fast());
    f.source
        .replace_all(vec![lb_local("lb", "10.43.0.20", 32100)], vec![]);
    sync.sync_once().await.unwrap();
    f.source.apply_service(service("web", "10.43.0.10"));
    sync.sync_once().await.unwrap();
    assert_eq!(
        f.ports.0.lock().unwrap().len(),
        1,
        "web has no health check"
    );

    let mut lb_slice = slice("lb-1", "lb", "10.42.0.5");
    lb_slice.endpoints[0].node_name = Some("node-a".into());
    f.source.apply_slice(lb_slice);
    sync.sync_once().await.unwrap();
    f.source.delete_service(&key("lb"));
    sync.sync_once().await.unwrap();
    let updates = f.ports.0.lock().unwrap().clone();
    assert_eq!(updates.len(), 3);
    assert_eq!(updates[1][&32100].name, "lb");
    assert!(updates[2].is_empty());
}

#[tokio::test]
async fn the_loop_rebuilds_everything_every_sync_period() {
    let options = SyncOptions {
        sync_period: Duration::from_secs(1),
        ..fast()
    };
    let (f, sync) = fixture(options);
    f.source
        .replace_all(vec![service("web", "10.43.0.10")], vec![]);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sync.run(async {
        let _ = stopped.await;
    }));
    eventually("the initial sync", || f.record.changes().len() == 1).await;
    f.source.apply_service(service("db", "10.43.0.11"));
    f.trigger.notify();
    eventually("a full resync after the change", || {
        let changes = f.record.changes();
        changes
            .iter()
            .position(|c| *c == ports(&["db"]))
            .is_some_and(|i| changes[i + 1..].contains(&Changes::All))
    })
    .await;
    assert_eq!(f.record.changes()[0], Changes::All);
    assert!(
        f.record.violations().is_empty(),
        "{:?}",
        f.record.violations()
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn housekeeping_runs_on_its_interval_and_survives_errors() {
    let options = SyncOptions {
        housekeep_interval: Duration::from_millis(20),
        ..fast()
    };
    let (f, sync) = fixture(options);
    f.record.fail_next_housekeeps(2);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sync.run(async {
        let _ = stopped.await;
    }));
    eventually("housekeeping after two failures", || {
        f.record.housekeeps() >= 4
    })
    .await;
    assert_eq!(
        f.record.changes(),
        [Changes::All],
        "housekeeping is not a sync"
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn housekeeping_is_off_with_a_zero_interval() {
    let (f, sync) = fixture(fast());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sync.run(async {
        let _ = stopped.await;
    }));
    eventually("the initial sync", || f.record.changes().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(f.record.housekeeps(), 0);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
