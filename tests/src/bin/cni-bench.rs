//! Benchmark: ADD then DEL for 50 pods with Skiff's bridge + host-local and with the reference
//! plugins, in the same run, for `ipMasq` true and false. Prints median and p95 of each and the
//! ratios. Everything happens inside network namespaces this program creates.

use skiff_tests::cni::{bridge_conf, invoke, Call, Flavor, Host};
use skiff_tests::guard::{require, Need};
use skiff_tests::Netns;
use std::time::{Duration, Instant};

const PODS: usize = 50;

struct Figures {
    add: Vec<Duration>,
    del: Vec<Duration>,
}

fn timed(host: &Host, plugin: &str, call: &Call<'_>, conf: &serde_json::Value) -> Duration {
    let (took, reply) = host.ns.run(|| {
        let start = Instant::now();
        let reply = invoke(&host.plugins, plugin, call, conf);
        (start.elapsed(), reply)
    });
    reply.ok();
    took
}

fn run(flavor: Flavor, masq: bool) -> Figures {
    let host = Host::new();
    let conf = bridge_conf(
        flavor,
        flavor,
        "benchnet",
        "cni0",
        &["10.88.0.0/16"],
        masq,
        host.data.path(),
    );
    let pods: Vec<Netns> = (0..=PODS).map(|_| Netns::new()).collect();
    let paths: Vec<_> = pods.iter().map(Netns::path).collect();
    let call = |command, i: usize| Call {
        command,
        container_id: pods[i].name(),
        netns: Some(&paths[i]),
        ifname: "eth0",
    };
    // Pod 0 warms up: the bridge (and the masquerade tables) exist before measuring.
    timed(&host, flavor.bridge(), &call("ADD", 0), &conf);
    let add = (1..=PODS)
        .map(|i| timed(&host, flavor.bridge(), &call("ADD", i), &conf))
        .collect();
    let del = (1..=PODS)
        .map(|i| timed(&host, flavor.bridge(), &call("DEL", i), &conf))
        .collect();
    Figures { add, del }
}

fn percentile(v: &[Duration], p: f64) -> f64 {
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let idx = ((ms.len() - 1) as f64 * p).round() as usize;
    ms[idx]
}

fn main() {
    require(&[
        Need::Root,
        Need::Tool("ip", "iproute2"),
        Need::File("/usr/lib/cni/bridge", "containernetworking-plugins"),
        Need::File("/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables1"),
    ]);
    println!(
        "CNI ADD then DEL of {PODS} pods, one at a time (milliseconds; ratio = reference / skiff)"
    );
    println!(
        "{:<8} {:<10} {:>10} {:>10} {:>10} {:>10}",
        "ipMasq", "plugins", "ADD p50", "ADD p95", "DEL p50", "DEL p95"
    );
    for masq in [true, false] {
        let reference = run(Flavor::Reference, masq);
        let skiff = run(Flavor::Skiff, masq);
        let row = |name: &str, f: &Figures| {
            println!(
                "{:<8} {:<10} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
                masq,
                name,
                percentile(&f.add, 0.5),
                percentile(&f.add, 0.95),
                percentile(&f.del, 0.5),
                percentile(&f.del, 0.95)
            );
        };
        row("reference", &reference);
        row("skiff", &skiff);
        let ratio = |r: &[Duration], s: &[Duration], p| percentile(r, p) / percentile(s, p);
        println!(
            "{:<8} {:<10} {:>9.1}x {:>9.1}x {:>9.1}x {:>9.1}x",
            masq,
            "ratio",
            ratio(&reference.add, &skiff.add, 0.5),
            ratio(&reference.add, &skiff.add, 0.95),
            ratio(&reference.del, &skiff.del, 0.5),
            ratio(&reference.del, &skiff.del, 0.95)
        );
    }
    println!("goals (ipMasq=true): ADD p50 ratio >= 4x, DEL p50 ratio >= 3x");
}
