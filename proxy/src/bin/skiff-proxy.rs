//! `skiff-proxy`: parses flags, connects to the API server, watches Services and EndpointSlices
//! and keeps the chosen dataplane in step, serving health and metrics.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use clap::Parser;
use kube::config::{KubeConfigOptions, Kubeconfig};
use skiff_proxy::config::{dataplane_for, kernel_has_ipvs, nodeport_ips, Flags, ProxyConfig};
use skiff_proxy::server::{self, NodePortListeners, ProxyStatus};
use skiff_proxy::sync::{KubeEvents, SyncLoop, SyncOptions, SyncTrigger};
use skiff_proxy::watch;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match ProxyConfig::from_flags(Flags::parse()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("skiff-proxy: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("skiff-proxy: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("skiff-proxy: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: ProxyConfig) -> anyhow::Result<()> {
    let mode = config.resolve_mode(kernel_has_ipvs);
    let client = client(&config).await?;
    let node = watch::node_context(
        client.clone(),
        config.node_name.as_deref(),
        &config.node_ips,
    )
    .await?;
    let dataplane = dataplane_for(mode, &config, &node)?;
    tracing::info!(mode = mode.name(), node = %node.name, node_ips = ?node.node_ips, "starting");

    let status = Arc::new(ProxyStatus::new(SystemTime::now(), config.sync_period));
    let (healthz, metrics) = server::spawn(
        config.healthz_bind_address,
        config.metrics_bind_address,
        status.clone(),
    )
    .await
    .context("cannot bind the health or metrics address")?;
    tracing::info!(%healthz, %metrics, "serving health and metrics");

    let trigger = SyncTrigger::default();
    let (stores, _watchers) = watch::start(client.clone(), trigger.clone());
    stores.wait_ready().await;
    let options = SyncOptions {
        sync_period: config.sync_period,
        min_sync_interval: config.min_sync_period,
        ..SyncOptions::default()
    };
    let mut sync = SyncLoop::new(
        dataplane,
        Arc::new(stores),
        node.clone(),
        trigger,
        status,
        options,
    )
    .with_events(Arc::new(KubeEvents::new(client, &node.name)))
    // Health-check node ports answer on the node addresses node ports use; on 0.0.0.0 when
    // none is known.
    .with_health_check_ports(Arc::new(NodePortListeners::new(nodeport_ips(
        &config, &node,
    ))));
    sync.load()
        .await
        .context("cannot read the kernel's state")?;
    sync.run(shutdown()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn client(config: &ProxyConfig) -> anyhow::Result<kube::Client> {
    let kube_config = match &config.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("--kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("--kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("no in-cluster config and no usable ~/.kube/config; pass --kubeconfig")?,
    };
    Ok(kube::Client::try_from(kube_config)?)
}

async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
