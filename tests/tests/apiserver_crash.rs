//! Crash safety of the API server on its embedded store: every write acknowledged before a
//! `kill -9` is there after a restart.

use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use skiff_tests::apiserver::ApiServer;
use skiff_tests::kube_client::client;

fn config_map(name: &str, value: u64) -> ConfigMap {
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.to_string());
    cm.data = Some([("v".to_string(), value.to_string())].into());
    cm
}

#[test]
#[ignore = "needs the skiff-control-plane binary"]
fn acknowledged_writes_survive_kill_9() {
    let mut server = ApiServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(rt.block_on(client(&server)), "default");
    rt.block_on(api.create(&PostParams::default(), &config_map("counter", 0)))
        .unwrap();

    let created = Arc::new(Mutex::new(Vec::<String>::new()));
    let counter = Arc::new(Mutex::new(0u64));
    let mut writers = Vec::new();
    for w in 0..16 {
        let (api, created) = (api.clone(), created.clone());
        writers.push(rt.spawn(async move {
            for n in 0.. {
                let name = format!("w{w}-{n}");
                match api
                    .create(&PostParams::default(), &config_map(&name, n))
                    .await
                {
                    Ok(_) => created.lock().unwrap().push(name),
                    Err(_) => return,
                }
            }
        }));
    }
    {
        let (api, counter) = (api.clone(), counter.clone());
        writers.push(rt.spawn(async move {
            for v in 1.. {
                let Ok(mut cm) = api.get("counter").await else {
                    return;
                };
                cm.data = Some([("v".to_string(), v.to_string())].into());
                match api.replace("counter", &PostParams::default(), &cm).await {
                    Ok(_) => *counter.lock().unwrap() = v,
                    Err(_) => return,
                }
            }
        }));
    }
    while created.lock().unwrap().len() < 400 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    server.kill9();
    for w in writers {
        let _ = rt.block_on(w);
    }
    let acked = created.lock().unwrap().clone();
    let acked_counter = *counter.lock().unwrap();

    server.restart();
    let api: Api<ConfigMap> = Api::namespaced(rt.block_on(client(&server)), "default");
    let items = rt.block_on(api.list(&ListParams::default())).unwrap().items;
    let present: std::collections::HashSet<String> = items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|n| !present.contains(*n)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged creates lost after kill -9: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(10)]
    );
    let counter_now: u64 = rt.block_on(api.get("counter")).unwrap().data.unwrap()["v"]
        .parse()
        .unwrap();
    assert!(
        counter_now >= acked_counter,
        "counter went back from acknowledged {acked_counter} to {counter_now}"
    );
}
