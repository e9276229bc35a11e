//! Benchmark: the nftables dataplane of skiff-proxy programming N services x 10 endpoints (full
//! load, then services added one per sync with the sync told which port changed, then an
//! unchanged full resync), beside two anchors loaded with `nft -f` in the same run, each in a fresh network
//! namespace:
//! - a kube-proxy-nftables-shaped ruleset (1.31: a chain per service and per endpoint, the
//!   `service-ips` verdict map, `numgen` verdict maps);
//! - an iptables-shaped ruleset translated to nftables (one `ip daddr X tcp dport Y jump` rule
//!   per service in one linear chain, cascaded random jumps to endpoint chains).
//!
//! `SKIFF_BENCH_SIZES` (default `1000,10000`) picks the sizes; `SKIFF_BENCH_ANCHOR_TIMEOUT`
//! (seconds, default 900) bounds each `nft -f` of an anchor; `SKIFF_BENCH_ANCHORS=0` measures
//! only skiff-proxy.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use skiff_proxy::dataplane::{Changes, Dataplane};
use skiff_proxy::nft::{NftConfig, NftDataplane};
use skiff_tests::guard::{require, Need};
use skiff_tests::proxy_bench::{cluster_ip, endpoint_ip, model, service, status_kb, ENDPOINTS};
use skiff_tests::Netns;

/// Counts the bytes the program holds on the heap (libnftables' allocations, made in C, are
/// not counted).
struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_mb() -> f64 {
    LIVE.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1048576.0
}

/// Services added one at a time after the full load; the median is reported.
const ADDED: usize = 5;

struct Ours {
    full: Duration,
    /// Median of [`ADDED`] single-service syncs.
    add_one: Duration,
    add_max: Duration,
    resync: Duration,
    transactions_note: String,
    rss_kb: u64,
    hwm_kb: u64,
    model_rss_kb: u64,
}

fn ours(n: usize, config: &NftConfig) -> Ours {
    let ns = Netns::new();
    let mut m = model(n);
    ns.run(|| {
        let model_rss_kb = status_kb("VmRSS:");
        let model_live = live_mb();
        let mut dp = NftDataplane::new(config.clone()).expect("libnftables");
        dp.load().expect("load");
        let start = Instant::now();
        let report = dp.sync(&m, &Changes::All).expect("sync");
        let full = start.elapsed();
        assert!(report.failures.is_empty(), "{:?}", report.failures.first());
        // Services added one per sync, each told which port changed.
        let mut added = Vec::new();
        for i in n..n + ADDED {
            let extra = service(i);
            let changes = Changes::Ports([extra.name.clone()].into());
            m.ports.insert(extra.name.clone(), extra);
            let start = Instant::now();
            let report = dp.sync(&m, &changes).expect("sync");
            added.push(start.elapsed());
            assert!(report.failures.is_empty());
            assert!(report.changes > 0);
        }
        added.sort();
        let start = Instant::now();
        let report = dp.sync(&m, &Changes::All).expect("sync");
        let resync = start.elapsed();
        assert_eq!(report.changes, 0);
        Ours {
            full,
            add_one: added[ADDED / 2],
            add_max: added[ADDED - 1],
            resync,
            transactions_note: format!(
                "{} objects; Rust heap {:.1} MB of which the dataplane {:.1} MB",
                report.objects,
                live_mb(),
                live_mb() - model_live
            ),
            rss_kb: status_kb("VmRSS:"),
            hwm_kb: status_kb("VmHWM:"),
            model_rss_kb,
        }
    })
}

/// kube-proxy 1.31 nftables mode's shape for services `range` (chains, rules, elements).
fn kube_nft_services(s: &mut String, range: std::ops::Range<usize>) {
    for i in range {
        let id = format!("bench/svc-{i}/tcp/http");
        let mut eps = Vec::new();
        for e in 0..ENDPOINTS {
            let ip = endpoint_ip(i, e);
            let chain = format!("endpoint-{i:06}{e:02}-{id}__{ip}/8080");
            let _ = writeln!(s, "add chain ip kube-proxy {chain}");
            let _ = writeln!(
                s,
                "add rule ip kube-proxy {chain} ip saddr {ip} jump mark-for-masquerade"
            );
            let _ = writeln!(
                s,
                "add rule ip kube-proxy {chain} meta l4proto tcp dnat to {ip}:8080"
            );
            eps.push(chain);
        }
        let chain = format!("service-{i:08}-{id}");
        let arms: Vec<String> = eps
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{k} : goto {c}"))
            .collect();
        let _ = writeln!(s, "add chain ip kube-proxy {chain}");
        let _ = writeln!(
            s,
            "add rule ip kube-proxy {chain} ip daddr {} tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade",
            cluster_ip(i)
        );
        let _ = writeln!(
            s,
            "add rule ip kube-proxy {chain} numgen random mod {ENDPOINTS} vmap {{ {} }}",
            arms.join(", ")
        );
        let _ = writeln!(
            s,
            "add element ip kube-proxy service-ips {{ {} . tcp . 80 : goto {chain} }}",
            cluster_ip(i)
        );
    }
}

fn kube_nft_base() -> String {
    "table ip kube-proxy {
	map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }
	chain mark-for-masquerade { meta mark set meta mark | 0x4000; }
	chain services { ip daddr . meta l4proto . th dport vmap @service-ips; }
	chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }
	chain nat-output { type nat hook output priority -100; policy accept; jump services; }
}
"
    .to_string()
}

/// kube-proxy's iptables mode translated to nftables for services `range`.
fn iptables_services(s: &mut String, range: std::ops::Range<usize>) {
    for i in range {
        let svc = format!("KUBE-SVC-{i:016X}");
        let _ = writeln!(s, "add chain ip kube-ipt {svc}");
        for e in 0..ENDPOINTS {
            let ip = endpoint_ip(i, e);
            let sep = format!("KUBE-SEP-{i:014X}{e:02X}");
            let _ = writeln!(s, "add chain ip kube-ipt {sep}");
            let _ = writeln!(
                s,
                "add rule ip kube-ipt {sep} ip saddr {ip} jump KUBE-MARK-MASQ"
            );
            let _ = writeln!(
                s,
                "add rule ip kube-ipt {sep} meta l4proto tcp dnat to {ip}:8080"
            );
            if e + 1 < ENDPOINTS {
                let _ = writeln!(
                    s,
                    "add rule ip kube-ipt {svc} numgen random mod {} 0 jump {sep}",
                    ENDPOINTS - e
                );
            } else {
                let _ = writeln!(s, "add rule ip kube-ipt {svc} jump {sep}");
            }
        }
        let _ = writeln!(
            s,
            "add rule ip kube-ipt KUBE-SERVICES ip daddr {} tcp dport 80 jump {svc}",
            cluster_ip(i)
        );
    }
}

fn iptables_base() -> String {
    "table ip kube-ipt {
	chain KUBE-MARK-MASQ { meta mark set meta mark | 0x4000; }
	chain KUBE-SERVICES { type nat hook prerouting priority dstnat; policy accept; }
}
"
    .to_string()
}

/// `nft -f` of `script` in `ns`; `None` when it did not finish within `limit`.
fn nft_file(ns: &Netns, script: &str, limit: Duration) -> Option<Duration> {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), script).expect("write script");
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg(limit.as_secs().to_string())
        .args(["ip", "netns", "exec", ns.name(), "nft", "-f"])
        .arg(file.path())
        .output()
        .expect("run nft");
    let took = start.elapsed();
    if out.status.code() == Some(124) {
        return None;
    }
    assert!(
        out.status.success(),
        "nft -f failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(took)
}

struct Anchor {
    full: Option<Duration>,
    add_one: Option<Duration>,
}

fn anchor(
    n: usize,
    base: fn() -> String,
    services: fn(&mut String, std::ops::Range<usize>),
    limit: Duration,
) -> Anchor {
    let ns = Netns::new();
    let mut script = base();
    services(&mut script, 0..n);
    let full = nft_file(&ns, &script, limit);
    drop(script);
    let add_one = full.and_then(|_| {
        let mut one = String::new();
        services(&mut one, n..n + 1);
        nft_file(&ns, &one, limit)
    });
    Anchor { full, add_one }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn fmt(d: Option<Duration>, limit: Duration) -> String {
    d.map(ms)
        .unwrap_or_else(|| format!("> {} s (timed out)", limit.as_secs()))
}

fn ratio(anchor: Option<Duration>, ours: Duration) -> String {
    match anchor {
        Some(a) => format!("{:.1}x", a.as_secs_f64() / ours.as_secs_f64()),
        None => "n/a".into(),
    }
}

fn main() {
    require(&[
        Need::Root,
        Need::Tool("nft", "nftables"),
        Need::Tool("timeout", "coreutils"),
        Need::File("/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables1"),
    ]);
    let sizes: Vec<usize> = std::env::var("SKIFF_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("SKIFF_BENCH_SIZES: numbers"))
        .collect();
    let limit = Duration::from_secs(
        std::env::var("SKIFF_BENCH_ANCHOR_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(900),
    );
    let config = NftConfig {
        max_transaction_lines: std::env::var("SKIFF_BENCH_TRANSACTION_LINES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(NftConfig::default().max_transaction_lines),
        ..NftConfig::default()
    };
    println!(
        "skiff-proxy nftables dataplane, services x {ENDPOINTS} endpoints (transactions of <= {} lines)",
        config.max_transaction_lines
    );
    // Ours first, so the RSS figure is not inflated by the anchors' generated scripts.
    let mut results = Vec::new();
    for &n in &sizes {
        let o = ours(n, &config);
        println!(
            "ours        {n:>6} services: full load {:>12}, one service added {:>10}  (median of {ADDED}, max {}; unchanged resync {}; {}; RSS {:.1} MB, {:.1} MB before the dataplane with the model built, peak {:.1} MB)",
            ms(o.full),
            ms(o.add_one),
            ms(o.add_max),
            ms(o.resync),
            o.transactions_note,
            o.rss_kb as f64 / 1024.0,
            o.model_rss_kb as f64 / 1024.0,
            o.hwm_kb as f64 / 1024.0
        );
        results.push((n, o));
    }
    if std::env::var("SKIFF_BENCH_ANCHORS").is_ok_and(|v| v == "0") {
        return;
    }
    for (n, o) in &results {
        let kube = anchor(*n, kube_nft_base, kube_nft_services, limit);
        println!(
            "kube-proxy nftables shape {n:>6}: full load {:>12} ({} ours), one service added {:>10} ({} ours)",
            fmt(kube.full, limit),
            ratio(kube.full, o.full),
            fmt(kube.add_one, limit),
            ratio(kube.add_one, o.add_one),
        );
        let ipt = anchor(*n, iptables_base, iptables_services, limit);
        println!(
            "iptables shape (nft)      {n:>6}: full load {:>12} ({} ours), one service added {:>10} ({} ours)",
            fmt(ipt.full, limit),
            ratio(ipt.full, o.full),
            fmt(ipt.add_one, limit),
            ratio(ipt.add_one, o.add_one),
        );
    }
}
