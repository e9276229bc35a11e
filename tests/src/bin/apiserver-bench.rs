//! Benchmark of `skiff-control-plane` on its embedded store: creates per second and p50/p99
//! latency of single-object create and get under 50 concurrent clients, listing 10k pods, watch
//! delivery latency to 100 watchers, and RSS idle and with 10k pods on 1k nodes. The raw store's
//! durable write rate is measured in the same run, on the same disk, as the limit.
//! Everything talks to a server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use skiff_tests::apiserver::ApiServer;
use skiff_tests::kube_client::client;

const CLIENTS: usize = 50;
const CREATES: usize = 5000;
const NODES: usize = 1000;
const PODS: usize = 10_000;
const WATCHERS: usize = 100;
const WATCHED_EVENTS: usize = 100;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kb / 1024.0
}

/// Runs `total` operations split over `CLIENTS` tasks, each with its own client connection;
/// returns each operation's latency and the wall time.
async fn concurrent<F, Fut>(
    clients: &[kube::Client],
    total: usize,
    op: F,
) -> (Vec<Duration>, Duration)
where
    F: Fn(kube::Client, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        let (op, latencies, client) = (op.clone(), latencies.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while i < total {
                let t = Instant::now();
                op(client.clone(), i).await;
                latencies.lock().unwrap().push(t.elapsed());
                i += CLIENTS;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    let wall = start.elapsed();
    let samples = std::mem::take(&mut *latencies.lock().unwrap());
    (samples, wall)
}

fn config_map(name: String) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

fn pod(i: usize) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": format!("pod-{i}"), "labels": {"app": format!("app-{}", i % 100)}},
        "spec": {
            "nodeName": format!("node-{}", i % NODES),
            "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]
        }
    }))
    .unwrap()
}

fn node(i: usize) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": format!("node-{i}"), "labels": {"kubernetes.io/hostname": format!("node-{i}")}},
        "status": {"capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True"}]}
    }))
    .unwrap()
}

async fn watch_latency(clients: &[kube::Client]) -> Vec<Duration> {
    let api: Api<ConfigMap> = Api::namespaced(clients[0].clone(), "default");
    let start_rv = api
        .create(&PostParams::default(), &config_map("watch-start".into()))
        .await
        .unwrap();
    let start_rv = start_rv.metadata.resource_version.unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let mut watchers = Vec::new();
    for w in 0..WATCHERS {
        let api: Api<ConfigMap> = Api::namespaced(clients[w % clients.len()].clone(), "default");
        let (received, rv) = (received.clone(), start_rv.clone());
        let params = WatchParams::default().labels("bench=watch").timeout(120);
        let stream = api.watch(&params, &rv).await.expect("watch");
        watchers.push(tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            let mut seen = 0;
            while let Ok(Some(event)) = stream.try_next().await {
                if let WatchEvent::Added(cm) = event {
                    let sent: u128 = cm.metadata.annotations.unwrap()["sent"].parse().unwrap();
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap()
                        .as_nanos();
                    received
                        .lock()
                        .unwrap()
                        .push(Duration::from_nanos((now - sent) as u64));
                    seen += 1;
                    if seen == WATCHED_EVENTS {
                        return;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..WATCHED_EVENTS {
        let sent = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": format!("watched-{i}"), "labels": {"bench": "watch"},
                         "annotations": {"sent": sent.to_string()}}
        }))
        .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for w in watchers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("watchers got every event")
            .unwrap();
    }
    let out = std::mem::take(&mut *received.lock().unwrap());
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = ApiServer::start();
    let pid = server.pid();

    let raw = skiff_control_plane::store::measure_raw_write_rate(server.data_dir(), 2000)
        .expect("raw store write rate");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss_mb(pid);

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(client(&server).await);
    }

    let (mut create_lat, create_wall) = concurrent(&clients, CREATES, |c, i| async move {
        let api: Api<ConfigMap> = Api::namespaced(c, "default");
        api.create(&PostParams::default(), &config_map(format!("cm-{i}")))
            .await
            .expect("create");
    })
    .await;
    let creates_per_s = CREATES as f64 / create_wall.as_secs_f64();

    let (mut get_lat, _) = concurrent(&clients, CREATES, |c, i| async move {
        let api: Api<ConfigMap> = Api::namespaced(c, "default");
        api.get(&format!("cm-{i}")).await.expect("get");
    })
    .await;

    concurrent(&clients, NODES, |c, i| async move {
        Api::<Node>::all(c)
            .create(&PostParams::default(), &node(i))
            .await
            .expect("create node");
    })
    .await;
    let (_, pods_wall) = concurrent(&clients, PODS, |c, i| async move {
        Api::<Pod>::namespaced(c, "default")
            .create(&PostParams::default(), &pod(i))
            .await
            .expect("create pod");
    })
    .await;

    let mut list_lat = Vec::new();
    let mut list_bytes = 0;
    for _ in 0..5 {
        let req = http::Request::get("/api/v1/pods").body(Vec::new()).unwrap();
        let t = Instant::now();
        let body = clients[0].request_text(req).await.expect("list pods");
        list_lat.push(t.elapsed());
        list_bytes = body.len();
        assert!(
            body.matches("\"kind\":\"Pod\"").count() >= PODS || body.contains("pod-9999"),
            "list returned every pod"
        );
    }

    let mut watch_lat = watch_latency(&clients).await;
    drop(clients);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_loaded = rss_mb(pid);

    println!("skiff-control-plane benchmark (embedded store, release build, 127.0.0.1)");
    println!("raw store durable write rate (limit):        {raw:>9.0} writes/s");
    println!(
        "create, {CLIENTS} clients, {CREATES} configmaps:      {creates_per_s:>9.0} creates/s = {:.2}x the raw rate (goal >= 0.5x)",
        creates_per_s / raw
    );
    println!(
        "  create latency p50 / p99:                  {:>9.2} / {:.2} ms (goal p99 <= 25 ms; upstream SLO 1 s)",
        ms(percentile(&mut create_lat, 0.5)),
        ms(percentile(&mut create_lat, 0.99))
    );
    println!(
        "  get latency p50 / p99:                     {:>9.2} / {:.2} ms",
        ms(percentile(&mut get_lat, 0.5)),
        ms(percentile(&mut get_lat, 0.99))
    );
    println!(
        "create {PODS} pods on {NODES} nodes:             {:>9.0} pods/s",
        PODS as f64 / pods_wall.as_secs_f64()
    );
    println!(
        "list {PODS} pods (JSON, {:.1} MB) p50 / max:    {:>9.1} / {:.1} ms",
        list_bytes as f64 / 1e6,
        ms(percentile(&mut list_lat, 0.5)),
        ms(percentile(&mut list_lat, 1.0))
    );
    println!(
        "watch delivery to {WATCHERS} watchers p50 / p99:    {:>9.2} / {:.2} ms ({} deliveries)",
        ms(percentile(&mut watch_lat, 0.5)),
        ms(percentile(&mut watch_lat, 0.99)),
        watch_lat.len()
    );
    println!("RSS idle:                                    {rss_idle:>9.1} MB (goal <= 60 MB)");
    println!(
        "RSS with {PODS} pods on {NODES} nodes:            {rss_loaded:>9.1} MB (goal <= 250 MB; a k3s server with a workload: ~1.6 GB)"
    );
}
