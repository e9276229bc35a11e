//! Watching the API server: reflectors over Services and EndpointSlices in every namespace,
//! feeding stores the sync loop reads, and signalling the loop on every change; and the node's
//! identity from its Node object.

mod node;

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client};
use tokio::task::JoinHandle;

use crate::sync::{ObjectSource, SyncTrigger};

pub use node::{node_context, node_ips, NodeLookupError};

/// The watched Services and EndpointSlices.
#[derive(Clone)]
pub struct Stores {
    services: Store<Service>,
    slices: Store<EndpointSlice>,
}

impl Stores {
    /// Waits until both stores hold their initial lists.
    pub async fn wait_ready(&self) -> Result<(), reflector::store::WriterDropped> {
        self.services.wait_until_ready().await?;
        self.slices.wait_until_ready().await
    }
}

impl ObjectSource for Stores {
    fn snapshot(&self) -> (Vec<Service>, Vec<EndpointSlice>) {
        let services = self
            .services
            .state()
            .iter()
            .map(|s| (**s).clone())
            .collect();
        let slices = self.slices.state().iter().map(|s| (**s).clone()).collect();
        (services, slices)
    }
}

/// Starts the reflectors on the current tokio runtime; every change notifies `trigger`.
pub fn start(client: Client, trigger: SyncTrigger) -> (Stores, Vec<JoinHandle<()>>) {
    let (services, services_writer) = reflector::store::<Service>();
    let (slices, slices_writer) = reflector::store::<EndpointSlice>();
    let tasks = vec![
        tokio::spawn(reflect(
            Api::<Service>::all(client.clone()),
            services_writer,
            trigger.clone(),
            "services",
        )),
        tokio::spawn(reflect(
            Api::<EndpointSlice>::all(client),
            slices_writer,
            trigger,
            "endpointslices",
        )),
    ];
    (Stores { services, slices }, tasks)
}

async fn reflect<K>(
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    trigger: SyncTrigger,
    resource: &'static str,
) where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let stream =
        reflector::reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let trigger = Arc::new(trigger);
    while let Some(event) = stream.next().await {
        match event {
            // A relist is applied as a whole at InitDone; the pieces before are not yet the
            // new state.
            Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => {}
            Ok(_) => trigger.notify(),
            Err(error) => tracing::warn!(resource, %error, "watch failed; retrying"),
        }
    }
}
