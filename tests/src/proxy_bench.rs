//! The service model both proxy benchmarks program: N services of one TCP port with 10
//! endpoints each, on addresses derived from the service's index; and the process figures they
//! print.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use skiff_proxy::model::{
    Endpoint, Endpoints, Protocol, ServiceModel, ServicePort, ServicePortName,
};

/// Endpoints per service.
pub const ENDPOINTS: usize = 10;

/// The cluster IP of service `i`.
pub fn cluster_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 43, (i / 256) as u8, (i % 256) as u8)
}

/// The address of endpoint `e` of service `i`.
pub fn endpoint_ip(i: usize, e: usize) -> Ipv4Addr {
    let k = i * ENDPOINTS + e;
    Ipv4Addr::new(
        10,
        100 + (k / 65536) as u8,
        (k / 256 % 256) as u8,
        (k % 256) as u8,
    )
}

/// Service `i`: `bench/svc-<i>:http`, port 80 to 8080 on [`ENDPOINTS`] ready endpoints.
pub fn service(i: usize) -> ServicePort {
    let name = ServicePortName {
        namespace: "bench".into(),
        name: format!("svc-{i}"),
        port: "http".into(),
        protocol: Protocol::Tcp,
    };
    let eps: Endpoints = (0..ENDPOINTS)
        .map(|e| Endpoint::ready(IpAddr::V4(endpoint_ip(i, e)), 8080))
        .collect();
    ServicePort::cluster_ip(name, vec![IpAddr::V4(cluster_ip(i))], 80, eps)
}

/// Services `0..n`.
pub fn model(n: usize) -> ServiceModel {
    let mut m = ServiceModel::default();
    for i in 0..n {
        let p = service(i);
        m.ports.insert(p.name.clone(), p);
    }
    m
}

/// A field of `/proc/self/status` in kB (`VmRSS:`, `VmHWM:`); 0 when unreadable.
pub fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The median of `v` (which must not be empty).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A global allocator that counts the bytes the program holds on its Rust heap (allocations
/// made in C, such as libnftables', are not counted). A benchmark installs it with
/// `#[global_allocator]`.
pub struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// MB live on the Rust heap (counted by [`CountingAlloc`] when installed).
pub fn live_mb() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64 / 1_048_576.0
}
