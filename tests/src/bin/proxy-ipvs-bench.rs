//! Benchmark: the IPVS dataplane of skiff-proxy programming N services x 10 endpoints (full
//! load, then one service added) beside `ipvsadm -R` of the same virtual and real servers, in
//! the same VM (Debian's kernel under qemu), each in a fresh network namespace.
//!
//! On the host it boots the guest carrying itself; in the guest it runs the measurements.
//! `SKIFF_BENCH_SIZES` (default `1000,10000`) picks the sizes.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skiff_proxy::dataplane::{Changes, Dataplane};
use skiff_proxy::ipvs::{
    desired, diff, request, IpvsConfig, IpvsDataplane, IpvsSocket, Programmed,
};
use skiff_tests::proxy_bench::{
    cluster_ip, endpoint_ip, live_mb, median, model, service, status_kb, CountingAlloc, ENDPOINTS,
};
use skiff_tests::vm::{self, Vm};
use skiff_tests::Netns;

/// One-service additions measured per size (the median is printed).
const ADDS: usize = 5;
/// Prefix of the lines the guest prints for the host to show.
const TAG: &str = "bench| ";
/// The anchor of TESTING.md: `ipvsadm -R` of 10k services x 10 real servers in this VM.
const ANCHOR_10K: &str = "20.9 s";

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

struct Ours {
    full: Duration,
    add: Duration,
    rss_kb: u64,
    hwm_kb: u64,
    start_kb: u64,
    model_mb: f64,
    dataplane_mb: f64,
}

fn ours(n: usize) -> Ours {
    let ns = Netns::new();
    let start_kb = status_kb("VmRSS:");
    let before = live_mb();
    let mut m = model(n);
    let model_mb = live_mb() - before;
    ns.run(|| {
        let mut dp = IpvsDataplane::new(IpvsConfig::default()).expect("IPVS dataplane");
        let started = Instant::now();
        dp.load().expect("load");
        let report = dp.sync(&m, &Changes::All).expect("sync");
        let full = started.elapsed();
        assert!(report.failures.is_empty(), "{:?}", report.failures.first());
        assert_eq!(report.objects, n * (1 + ENDPOINTS));
        let mut adds = Vec::new();
        for i in n..n + ADDS {
            let p = service(i);
            let changed = Changes::Ports(BTreeSet::from([p.name.clone()]));
            m.ports.insert(p.name.clone(), p);
            let t = Instant::now();
            let report = dp.sync(&m, &changed).expect("sync");
            adds.push(t.elapsed());
            assert_eq!(report.objects, (i + 1) * (1 + ENDPOINTS));
        }
        Ours {
            full,
            add: median(adds),
            rss_kb: status_kb("VmRSS:"),
            hwm_kb: status_kb("VmHWM:"),
            start_kb,
            model_mb,
            dataplane_mb: live_mb() - before - model_mb,
        }
    })
}

/// The same virtual and real servers through the codec and client alone (no VIPs, no
/// nftables): what `ipvsadm -R` does.
fn ours_ipvs_only(n: usize) -> Duration {
    let ns = Netns::new();
    let d = desired(&model(n), "rr", &[]);
    let ops = diff(&Programmed::new(), &d.services).ops;
    ns.run(|| {
        let started = Instant::now();
        let mut socket = IpvsSocket::open().expect("IPVS socket");
        for batch in ops.chunks(4096) {
            let requests: Vec<_> = batch.iter().map(request).collect();
            let outcomes = socket.execute(&requests).expect("execute");
            assert!(outcomes.iter().all(|o| o.is_ok()), "a request failed");
        }
        started.elapsed()
    })
}

fn rules(range: std::ops::Range<usize>) -> String {
    let mut s = String::new();
    for i in range {
        let vip = cluster_ip(i);
        let _ = writeln!(s, "-A -t {vip}:80 -s rr");
        for e in 0..ENDPOINTS {
            let _ = writeln!(s, "-a -t {vip}:80 -r {}:8080 -m -w 1", endpoint_ip(i, e));
        }
    }
    s
}

fn ipvsadm_restore(ns: &Netns, input: &str) -> Duration {
    let started = Instant::now();
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), "ipvsadm", "-R"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("ipvsadm");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes())
        .expect("write rules");
    let status = child.wait().expect("ipvsadm");
    assert!(status.success(), "ipvsadm -R failed");
    started.elapsed()
}

fn anchor(n: usize) -> (Duration, Duration) {
    let ns = Netns::new();
    let full = ipvsadm_restore(&ns, &rules(0..n));
    let adds = (n..n + ADDS)
        .map(|i| ipvsadm_restore(&ns, &rules(i..i + 1)))
        .collect();
    (full, median(adds))
}

/// Whether to run `ipvsadm -R` too (`SKIFF_BENCH_ANCHORS=0` skips it).
fn anchors() -> bool {
    std::env::var("SKIFF_BENCH_ANCHORS").map_or(true, |v| v != "0")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn in_guest(sizes: &[usize]) {
    println!("{TAG}IPVS dataplane vs ipvsadm -R, services x {ENDPOINTS} real servers, same VM, fresh netns each");
    println!(
        "{TAG}{:>6}  {:>11}  {:>11}  {:>11}  {:>11}  {:>11}",
        "svcs", "ours full", "ours IPVS", "ipvsadm -R", "ratio full", "ratio IPVS"
    );
    let mut notes = Vec::new();
    for &n in sizes {
        let o = ours(n);
        let ipvs_only = ours_ipvs_only(n);
        let (a_full, a_add) = if anchors() {
            anchor(n)
        } else {
            (Duration::ZERO, Duration::ZERO)
        };
        println!(
            "{TAG}{n:>6}  {:>11}  {:>11}  {:>11}  {:>10.1}x  {:>10.1}x",
            ms(o.full),
            ms(ipvs_only),
            ms(a_full),
            a_full.as_secs_f64() / o.full.as_secs_f64(),
            a_full.as_secs_f64() / ipvs_only.as_secs_f64(),
        );
        notes.push(format!(
            "{n} services: +1 service ours {} (median of {ADDS}), ipvsadm -R of it {}; RSS {} MiB (peak {} MiB; {} MiB before the model was built); Rust heap: model {:.1} MB, dataplane {:.1} MB",
            ms(o.add),
            ms(a_add),
            o.rss_kb / 1024,
            o.hwm_kb / 1024,
            o.start_kb / 1024,
            o.model_mb,
            o.dataplane_mb,
        ));
    }
    for note in notes {
        println!("{TAG}{note}");
    }
    println!("{TAG}anchor (TESTING.md): ipvsadm -R of 10k x 10 took {ANCHOR_10K}; goals: full load >= 10x faster, +1 service <= 2 ms, RSS <= 30 MiB");
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SKIFF_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("SKIFF_BENCH_SIZES: comma-separated numbers")
        })
        .collect();
    if vm::in_guest() {
        in_guest(&sizes);
        return;
    }
    vm::require();
    let exe = std::env::current_exe().expect("path of this executable");
    let size_list = sizes
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let run = Vm::new()
        .modules(&[
            "dummy",
            "nf_conntrack",
            "nf_nat",
            "ip_vs",
            "ip_vs_rr",
            "nf_tables",
            "nft_chain_nat",
            "nft_masq",
        ])
        .programs(&[exe.clone(), "ip".into(), "ipvsadm".into(), "nft".into()])
        .env("SKIFF_BENCH_SIZES", &size_list)
        .env(
            "SKIFF_BENCH_ANCHORS",
            &std::env::var("SKIFF_BENCH_ANCHORS").unwrap_or_else(|_| "1".into()),
        )
        .memory_mib(2048)
        .timeout(Duration::from_secs(1800))
        .run(&[&exe.to_string_lossy()])
        .unwrap_or_else(|e| panic!("VM run failed: {e}"));
    let lines: Vec<&str> = run
        .console
        .lines()
        .filter_map(|l| l.split_once(TAG).map(|(_, rest)| rest))
        .collect();
    for line in &lines {
        println!("{line}");
    }
    if run.status != 0 || lines.is_empty() {
        eprintln!("{}", run.console);
        std::process::exit(1);
    }
}
