//! Objects every cluster has from the start: the namespaces `default`, `kube-system`,
//! `kube-public` and `kube-node-lease` with their `default` service accounts, and the
//! `kubernetes` service in `default` with its Endpoints and EndpointSlice pointing at the
//! advertised address. Idempotent: existing objects are kept, the endpoints are brought in
//! line with the current advertised address and port.

use std::net::IpAddr;

use serde_json::{json, Value};

use crate::api::ApiError;
use crate::registry::{by_kind, KindInfo};

use super::create::{create_object, ensure_default_service_account};
use super::options::{Manager, WriteOptions};
use super::prepare::Target;
use super::update::{guaranteed_update, UpdateCall};
use super::{namespace, Ctx};

/// The namespaces that always exist.
pub(super) const NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

const MANAGER: &str = "kube-apiserver";

fn kind(group: &str, name: &str) -> &'static KindInfo {
    by_kind(group, name).expect("bootstrap kinds are served")
}

/// Creates what is missing.
pub(super) async fn run(ctx: &Ctx) -> Result<(), ApiError> {
    let opts = WriteOptions::internal(MANAGER);
    let manager = Manager::Update(MANAGER.into());
    for ns in NAMESPACES {
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        create_if_absent(ctx, kind("", "Namespace"), None, obj, &opts, &manager).await?;
        ensure_default_service_account(ctx, ns).await?;
    }
    let settings = ctx.write.settings().clone();
    let service_ip = settings
        .service_cidr
        .hosts()
        .next()
        .expect("the service range has a host address");
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": service_ip.to_string(),
            "clusterIPs": [service_ip.to_string()],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": settings.advertise_port}],
            "sessionAffinity": "None",
        },
    });
    create_if_absent(
        ctx,
        kind("", "Service"),
        Some("default"),
        service,
        &opts,
        &manager,
    )
    .await?;
    let (endpoints, slice) = endpoints(settings.advertise_address, settings.advertise_port);
    // Upstream refuses loopback endpoints from clients; the server's own may use one (a
    // single-machine control plane advertising 127.0.0.1).
    let opts = WriteOptions {
        skip_validation: true,
        ..opts
    };
    reconcile(
        ctx,
        kind("", "Endpoints"),
        endpoints,
        &["subsets"],
        &opts,
        &manager,
    )
    .await?;
    reconcile(
        ctx,
        kind("discovery.k8s.io", "EndpointSlice"),
        slice,
        &["addressType", "endpoints", "ports"],
        &opts,
        &manager,
    )
    .await?;
    namespace::resume_cleanups(ctx).await
}

/// The `kubernetes` Endpoints and EndpointSlice for the advertised address.
pub(super) fn endpoints(address: IpAddr, port: u16) -> (Value, Value) {
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
        },
        "subsets": [{
            "addresses": [{"ip": address.to_string()}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        }],
    });
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes"},
        },
        "addressType": if address.is_ipv4() { "IPv4" } else { "IPv6" },
        "endpoints": [{"addresses": [address.to_string()], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    });
    (endpoints, slice)
}

async fn create_if_absent(
    ctx: &Ctx,
    kind: &'static KindInfo,
    namespace: Option<&str>,
    obj: Value,
    opts: &WriteOptions,
    manager: &Manager,
) -> Result<(), ApiError> {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let (existing, _) = ctx
        .store
        .get(&kind.key(namespace, name))
        .await
        .map_err(|e| super::store_error(kind, name, e))?;
    if existing.is_some() {
        // Checked first: recreating the `kubernetes` service would collide on its ClusterIP.
        return Ok(());
    }
    match create_object(ctx, kind, namespace, obj, opts, manager).await {
        Ok(_) => {
            tracing::info!(kind = kind.kind, namespace, "bootstrap object created");
            Ok(())
        }
        Err(ApiError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates `desired` or brings `fields` of the stored object in line with it.
async fn reconcile(
    ctx: &Ctx,
    kind: &'static KindInfo,
    desired: Value,
    fields: &[&str],
    opts: &WriteOptions,
    manager: &Manager,
) -> Result<(), ApiError> {
    let call = UpdateCall {
        kind,
        namespace: Some("default"),
        name: "kubernetes",
        target: Target::Raw,
        opts,
        manager,
        create_on_missing: true,
    };
    guaranteed_update(ctx, &call, |current| {
        let Some(cur) = current else {
            return Ok(desired.clone());
        };
        let mut n = cur.clone();
        for f in fields {
            n[*f] = desired[*f].clone();
        }
        Ok(n)
    })
    .await?;
    Ok(())
}
