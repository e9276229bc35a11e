//! `skiff-control-plane`: the API server binary. Parses flags, prepares the data directory
//! (PKI, admin kubeconfig, store), creates the objects every cluster has and serves the API.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::{Parser, ValueEnum};
use tokio::net::TcpListener;

use skiff_control_plane::auth::{Authenticator, MastersOnly};
use skiff_control_plane::pki::Pki;
use skiff_control_plane::server::{self, write, ApiState, ServerSettings};
use skiff_control_plane::store::{EmbeddedStore, MemoryStore, Store, StoreOptions};

/// Which store backend keeps the objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    /// Durable single-file store under DIR/db/state.redb.
    Embedded,
    /// In memory; everything is lost on exit (tests).
    Memory,
}

/// Skiff's Kubernetes API server.
#[derive(Debug, Parser)]
#[command(name = "skiff-control-plane", version, about)]
struct Args {
    /// Directory for the PKI, the admin kubeconfig and the store.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/skiff/server")]
    data_dir: PathBuf,
    /// Address and port the API server listens on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:6443")]
    listen: SocketAddr,
    /// Extra name or address in the serving certificate (repeatable).
    #[arg(long = "tls-san", value_name = "NAME")]
    tls_san: Vec<String>,
    /// Bearer tokens, kube-apiserver CSV format: token,user,uid,"group1,group2".
    #[arg(long, value_name = "FILE")]
    token_auth_file: Option<PathBuf>,
    /// Store backend.
    #[arg(long, value_enum, default_value = "embedded")]
    store: StoreKind,
    /// Address other components reach this server at (endpoints of the `kubernetes` service).
    #[arg(long, value_name = "IP")]
    advertise_address: Option<IpAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("skiff-control-plane: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn open_store(kind: StoreKind, data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match kind {
        StoreKind::Memory => Arc::new(MemoryStore::new()),
        StoreKind::Embedded => {
            let dir = data_dir.join("db");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating store directory {}", dir.display()))?;
            let path = dir.join("state.redb");
            let store = EmbeddedStore::open(&path, StoreOptions::default())
                .with_context(|| format!("opening store {}", path.display()))?;
            Arc::new(store)
        }
    })
}

async fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let pki = Pki::load_or_create(&args.data_dir, &args.tls_san)
        .with_context(|| format!("PKI under {}", args.data_dir.display()))?;
    let tls = pki
        .server_tls_config()
        .context("TLS settings of the API port")?;
    let authenticator = match &args.token_auth_file {
        Some(path) => Authenticator::from_token_file(path)?,
        None => Authenticator::new(Default::default()),
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(args.listen.port());
    let store = open_store(args.store, &args.data_dir)?;
    let advertise_address = match args.advertise_address {
        Some(ip) => ip,
        None if !args.listen.ip().is_unspecified() && !args.listen.ip().is_loopback() => args.listen.ip(),
        None => IpAddr::V4(skiff_control_plane::hostinfo::primary_ipv4().ok_or_else(|| {
            anyhow!("this host has no non-loopback IPv4 address to advertise; pass --advertise-address")
        })?),
    };
    tracing::info!(%advertise_address, "the kubernetes service's endpoints point at this address");
    let settings = ServerSettings {
        advertise_address,
        advertise_port: port,
        ..ServerSettings::default()
    };
    let write_state = write::WriteState::load(store.as_ref(), &settings)
        .await
        .map_err(|e| anyhow!("loading allocations from the store: {e}"))?;
    let state = Arc::new(ApiState {
        store,
        authorizer: Arc::new(MastersOnly),
        settings,
        write: write_state,
    });
    write::bootstrap(&state)
        .await
        .map_err(|e| anyhow!("creating the initial objects: {e}"))?;
    let kubeconfig = args.data_dir.join("admin.kubeconfig");
    pki.write_admin_kubeconfig(&kubeconfig, &format!("https://127.0.0.1:{port}"))
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    tracing::info!(
        listen = %args.listen,
        store = ?args.store,
        data_dir = %args.data_dir.display(),
        kubeconfig = %kubeconfig.display(),
        "serving the Kubernetes API"
    );
    tokio::select! {
        r = server::serve(listener, tls, state, Arc::new(authenticator)) => {
            r.context("serving the API")?;
        }
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
        }
    }
    Ok(())
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; only SIGINT stops the server");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}
