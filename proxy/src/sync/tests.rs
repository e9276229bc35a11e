//! Unit tests of the sync loop against the fake dataplane.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use k8s_openapi::api::core::v1::Service;
use serde_json::json;

use super::*;
use crate::model::Protocol;
use crate::server::ServiceHealth;

#[derive(Default)]
pub(super) struct RecordingPorts(pub(super) Mutex<Vec<BTreeMap<u16, ServiceHealth>>>);

impl HealthCheckPorts for RecordingPorts {
    fn update(&self, desired: &BTreeMap<u16, ServiceHealth>) {
        self.0.lock().unwrap().push(desired.clone());
    }
}

pub(super) fn service(name: &str, ip: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name},
        "spec": {"clusterIP": ip, "ports": [{"port": 80}]},
    }))
    .unwrap()
}

pub(super) fn lb_local(name: &str, ip: &str, hc: u16) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name},
        "spec": {"type": "LoadBalancer", "clusterIP": ip, "externalTrafficPolicy": "Local",
                 "healthCheckNodePort": hc, "ports": [{"port": 80, "nodePort": 30080}]},
    }))
    .unwrap()
}

pub(super) fn port_name(name: &str) -> ServicePortName {
    ServicePortName {
        namespace: "default".into(),
        name: name.into(),
        port: String::new(),
        protocol: Protocol::Tcp,
    }
}

pub(super) struct Fixture {
    pub(super) source: Arc<MemorySource>,
    pub(super) record: FakeRecord,
    pub(super) status: Arc<ProxyStatus>,
    pub(super) trigger: SyncTrigger,
    pub(super) events: RecordingEvents,
    pub(super) ports: Arc<RecordingPorts>,
}

pub(super) fn fixture(options: SyncOptions) -> (Fixture, SyncLoop) {
    let dataplane = FakeDataplane::new();
    let f = Fixture {
        source: Arc::new(MemorySource::new()),
        record: dataplane.record(),
        status: Arc::new(ProxyStatus::new(SystemTime::now(), options.sync_period)),
        trigger: SyncTrigger::default(),
        events: RecordingEvents::default(),
        ports: Arc::new(RecordingPorts::default()),
    };
    let sync = SyncLoop::new(
        Box::new(dataplane),
        f.source.clone(),
        NodeContext::default(),
        f.trigger.clone(),
        f.status.clone(),
        options,
    )
    .with_events(Arc::new(f.events.clone()))
    .with_health_check_ports(f.ports.clone());
    (f, sync)
}

pub(super) fn fast() -> SyncOptions {
    SyncOptions {
        sync_period: Duration::from_secs(3600),
        min_sync_interval: Duration::ZERO,
        debounce: Duration::from_millis(10),
        initial_backoff: Duration::from_millis(5),
        housekeep_interval: Duration::ZERO,
    }
}

/// Polls `cond` until it holds (the loop runs on other tasks); panics after many tries.
pub(super) async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn sync_once_hands_the_model_to_the_dataplane_and_records_metrics_and_health() {
    let (f, mut sync) = fixture(fast());
    f.source
        .replace_all(vec![service("web", "10.43.0.10")], vec![]);
    sync.load().await.unwrap();
    let report = sync.sync_once().await.unwrap();
    assert_eq!(f.record.loads(), 1);
    assert_eq!(report.ports, 1);
    let models = f.record.models();
    assert_eq!(models.len(), 1);
    assert!(models[0].ports.contains_key(&port_name("web")));
    assert!(f.status.health.last_updated().is_some());
    assert!(f
        .status
        .metrics
        .render()
        .contains("kubeproxy_sync_proxy_rules_duration_seconds_count 1"));
}

#[tokio::test]
async fn a_failed_port_is_reported_once_and_does_not_block_the_others() {
    let (f, mut sync) = fixture(fast());
    f.source.replace_all(
        vec![service("bad", "10.43.0.9"), service("good", "10.43.0.10")],
        vec![],
    );
    f.record.fail_port(port_name("bad"));
    let report = sync.sync_once().await.unwrap();
    assert_eq!(report.ports, 1);
    assert_eq!(report.failures.len(), 1);
    // A partial sync of another service, then a full one: neither repeats the report.
    f.source.apply_service(service("other", "10.43.0.11"));
    sync.sync_once().await.unwrap();
    f.source.replace_all(
        vec![service("bad", "10.43.0.9"), service("good", "10.43.0.10")],
        vec![],
    );
    sync.sync_once().await.unwrap();
    let reported = f.events.reported();
    assert_eq!(reported.len(), 1, "a persisting failure is reported once");
    assert_eq!(reported[0].name, port_name("bad"));
    assert!(f.record.models()[1].ports.contains_key(&port_name("good")));
    assert_eq!(FAILED_TO_PROGRAM, "FailedToProgram");
}

#[tokio::test]
async fn health_check_ports_follow_the_model() {
    let (f, mut sync) = fixture(fast());
    f.source
        .replace_all(vec![lb_local("lb", "10.43.0.20", 32100)], vec![]);
    sync.sync_once().await.unwrap();
    f.source.replace_all(vec![], vec![]);
    sync.sync_once().await.unwrap();
    let updates = f.ports.0.lock().unwrap().clone();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0][&32100].name, "lb");
    assert_eq!(updates[0][&32100].local_endpoints, 0);
    assert!(updates[1].is_empty());
}

#[tokio::test]
async fn a_failed_sync_is_counted_and_retried_until_it_succeeds() {
    let (f, sync) = fixture(fast());
    f.source
        .replace_all(vec![service("web", "10.43.0.10")], vec![]);
    f.record.fail_next_syncs(3);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sync.run(async {
        let _ = stopped.await;
    }));
    eventually("a sync succeeds after the failures", || {
        f.record.models().len() == 1
    })
    .await;
    assert_eq!(f.status.metrics.sync_failures(), 3);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_change_signal_syncs_the_new_objects() {
    let (f, sync) = fixture(fast());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sync.run(async {
        let _ = stopped.await;
    }));
    eventually("the initial sync", || f.record.models().len() == 1).await;
    f.source
        .replace_all(vec![service("web", "10.43.0.10")], vec![]);
    f.trigger.notify();
    eventually("the change is synced", || {
        f.record
            .models()
            .last()
            .is_some_and(|m| m.ports.contains_key(&port_name("web")))
    })
    .await;
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_burst_of_change_signals_coalesces() {
    let (f, sync) = fixture(fast());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sync.run(async {
        let _ = stopped.await;
    }));
    eventually("the initial sync", || f.record.models().len() == 1).await;
    for i in 0..100 {
        f.source
            .apply_service(service(&format!("s{i}"), &format!("10.43.1.{i}")));
        f.trigger.notify();
    }
    eventually("the burst is synced", || {
        f.record
            .models()
            .last()
            .is_some_and(|m| m.ports.len() == 100)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(f.record.models().len() <= 3, "{}", f.record.models().len());
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
