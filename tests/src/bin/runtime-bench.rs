//! Benchmark of the containerd runtime layer against `ctr`, on one private containerd in one
//! run: the whole life cycle of a busybox `/bin/true` container (ours: create, start, wait for
//! the exit event, remove; the anchor: `ctr run --rm`), the time from the start of
//! `create_container` (snapshot prepare) to `start_container` returning, and 50 concurrent
//! starts over 10 sandboxes (the anchor: 50 concurrent `ctr run -d`).
//!
//! Our life cycle is measured twice: in a pod that already runs a container, so the pod's shim
//! (one per pod) is up, as for every container a pod starts after its first; and as the only
//! container of a pod, where each task create starts a new shim, as `ctr run` always does.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skiff_runtime::service::{RuntimeService, SandboxId, ServiceError};
use skiff_tests::images::BUSYBOX_REF;
use skiff_tests::runtime::{busybox_container, next_exit, RuntimeFixture};

const WARMUPS: usize = 3;
const RUNS: usize = 30;
const CONCURRENT: usize = 50;
const SANDBOXES: usize = 10;

/// TESTING.md's medians on this machine.
const ANCHOR_CTR_RUN_MS: f64 = 85.5;
const ANCHOR_PREPARE_TO_STARTED_MS: f64 = 63.4;

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and p90 in milliseconds.
fn stats(samples: &[Duration]) -> (f64, f64) {
    (ms(percentile(samples, 0.5)), ms(percentile(samples, 0.9)))
}

/// `ctr` against the fixture's containerd with FIFOs in `fifo_dir`.
fn ctr(fx: &RuntimeFixture, fifo_dir: &Path, args: &[&str]) -> Command {
    let c = fx.containerd();
    let mut cmd = Command::new("ctr");
    cmd.arg("--address")
        .arg(c.address())
        .arg("--namespace")
        .arg(c.namespace())
        .arg("run")
        .arg("--fifo-dir")
        .arg(fifo_dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Wall time of one `ctr run --rm <image> <id> /bin/true`.
fn ctr_run_once(fx: &RuntimeFixture, fifo_dir: &Path, id: &str) -> Duration {
    let t = Instant::now();
    let out = ctr(fx, fifo_dir, &["--rm", BUSYBOX_REF, id, "/bin/true"])
        .output()
        .expect("run ctr");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "ctr run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// One create, start, exit event, remove of `/bin/true`: total, create and start times.
async fn ours_once(
    rt: &dyn RuntimeService,
    pod: &SandboxId,
    name: &str,
) -> (Duration, Duration, Duration) {
    let mut events = rt.events().await.expect("events");
    let config = busybox_container(name, &["/bin/true"]);
    let t = Instant::now();
    let id = rt.create_container(pod, &config).await.expect("create");
    let created = t.elapsed();
    rt.start_container(&id).await.expect("start");
    let started = t.elapsed();
    assert_eq!(next_exit(&mut events, &id).await, 0);
    rt.remove_container(&id).await.expect("remove");
    (t.elapsed(), created, started - created)
}

/// 50 concurrent `ctr run -d ... sleep 600`; returns the wall time until all have started,
/// then kills and deletes them.
fn ctr_concurrent(fx: &RuntimeFixture, fifo_dir: &Path) -> Duration {
    let t = Instant::now();
    let children: Vec<_> = (0..CONCURRENT)
        .map(|i| {
            ctr(
                fx,
                fifo_dir,
                &["-d", BUSYBOX_REF, &format!("anchor-{i}"), "sleep", "600"],
            )
            .spawn()
            .expect("spawn ctr")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait for ctr");
        assert!(
            out.status.success(),
            "ctr run -d failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let wall = t.elapsed();
    let c = fx.containerd();
    for i in 0..CONCURRENT {
        let id = format!("anchor-{i}");
        c.ctr_ok(&["tasks", "kill", "--signal", "SIGKILL", &id]);
    }
    for i in 0..CONCURRENT {
        let id = format!("anchor-{i}");
        while c.ctr(&["tasks", "delete", &id]).status.code() != Some(0) {
            std::thread::sleep(Duration::from_millis(20));
        }
        c.ctr_ok(&["containers", "delete", &id]);
    }
    wall
}

/// 50 concurrent create + start of `sleep 600` over the sandboxes; returns the wall time.
async fn ours_concurrent(
    rt: &skiff_runtime::containerd::ContainerdRuntime,
    pods: &[SandboxId],
) -> Duration {
    let t = Instant::now();
    let starts = (0..CONCURRENT).map(|i| {
        let (rt, pod) = (rt.clone(), pods[i % pods.len()].clone());
        tokio::spawn(async move {
            let config = busybox_container(&format!("c{i}"), &["sleep", "600"]);
            let id = rt.create_container(&pod, &config).await?;
            rt.start_container(&id).await?;
            Ok::<_, ServiceError>(id)
        })
    });
    for r in futures::future::join_all(starts).await {
        r.expect("start task").expect("concurrent start");
    }
    t.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let fifo_dir = fx.containerd().fifo_dir();
    std::fs::create_dir_all(&fifo_dir).expect("fifo dir");
    let rt = fx.runtime().await;
    let pod = rt
        .create_sandbox(&fx.sandbox_config("bench"))
        .await
        .expect("sandbox");
    let lone = rt
        .create_sandbox(&fx.sandbox_config("bench-lone"))
        .await
        .expect("sandbox");
    // The pod's long-running container keeps its shim up.
    let main = rt
        .create_container(&pod, &busybox_container("main", &["sleep", "100000"]))
        .await
        .expect("create the pod's main container");
    rt.start_container(&main)
        .await
        .expect("start the pod's main container");

    // Interleaved, so all see the same state of the machine and of containerd.
    let (mut anchor, mut total, mut create, mut start) = (vec![], vec![], vec![], vec![]);
    let (mut lone_total, mut lone_create, mut lone_start) = (vec![], vec![], vec![]);
    for i in 0..WARMUPS + RUNS {
        let a = ctr_run_once(&fx, &fifo_dir, &format!("ctr-{i}"));
        let (t, c, s) = ours_once(&rt, &pod, &format!("true-{i}")).await;
        let (lt, lc, ls) = ours_once(&rt, &lone, &format!("true-{i}")).await;
        if i >= WARMUPS {
            anchor.push(a);
            total.push(t);
            create.push(c);
            start.push(s);
            lone_total.push(lt);
            lone_create.push(lc);
            lone_start.push(ls);
        }
    }
    let lone_prepare_to_started: Vec<Duration> = lone_create
        .iter()
        .zip(&lone_start)
        .map(|(c, s)| *c + *s)
        .collect();
    let prepare_to_started: Vec<Duration> =
        create.iter().zip(&start).map(|(c, s)| *c + *s).collect();

    let ctr_wall = ctr_concurrent(&fx, &fifo_dir);
    let mut pods = Vec::new();
    for p in 0..SANDBOXES {
        let config = fx.sandbox_config(&format!("pod-{p}"));
        pods.push(rt.create_sandbox(&config).await.expect("sandbox"));
    }
    let our_wall = ours_concurrent(&rt, &pods).await;

    let (a50, a90) = stats(&anchor);
    let (t50, t90) = stats(&total);
    let (c50, c90) = stats(&create);
    let (s50, s90) = stats(&start);
    let (p50, p90) = stats(&prepare_to_started);
    let ctr_rate = CONCURRENT as f64 / ctr_wall.as_secs_f64();
    let our_rate = CONCURRENT as f64 / our_wall.as_secs_f64();
    println!(
        "skiff-runtime benchmark (private containerd, runc, overlayfs, busybox; release build)"
    );
    println!("/bin/true life cycle, {RUNS} runs after {WARMUPS} warm-ups, interleaved    median /    p90");
    println!(
        "  ctr run --rm (anchor; TESTING.md: {ANCHOR_CTR_RUN_MS} ms)            {a50:>9.1} / {a90:>6.1} ms"
    );
    let (lt50, lt90) = stats(&lone_total);
    let (lc50, lc90) = stats(&lone_create);
    let (ls50, ls90) = stats(&lone_start);
    let (lp50, lp90) = stats(&lone_prepare_to_started);
    println!(
        "  skiff create-start-wait-delete, pod shim up      {t50:>9.1} / {t90:>6.1} ms = {:.2}x ctr run (goal <= 0.6x)",
        t50 / a50
    );
    println!(
        "  skiff create-start-wait-delete, new shim         {lt50:>9.1} / {lt90:>6.1} ms = {:.2}x ctr run",
        lt50 / a50
    );
    println!(
        "snapshot prepare -> started (create + start)       median /    p90 (TESTING.md anchor: {ANCHOR_PREPARE_TO_STARTED_MS} ms, new shim)"
    );
    println!("  pod shim up                                      {p50:>9.1} / {p90:>6.1} ms");
    println!("    create_container                               {c50:>9.1} / {c90:>6.1} ms");
    println!("    start_container                                {s50:>9.1} / {s90:>6.1} ms");
    println!("  new shim                                         {lp50:>9.1} / {lp90:>6.1} ms");
    println!("    create_container                               {lc50:>9.1} / {lc90:>6.1} ms");
    println!("    start_container                                {ls50:>9.1} / {ls90:>6.1} ms");
    println!("{CONCURRENT} concurrent starts ({SANDBOXES} sandboxes for skiff)");
    println!(
        "  ctr run -d x {CONCURRENT} (anchor)                           {ctr_rate:>9.1} containers/s ({:.2} s)",
        ctr_wall.as_secs_f64()
    );
    println!(
        "  skiff create + start                             {our_rate:>9.1} containers/s ({:.2} s) = {:.2}x ctr",
        our_wall.as_secs_f64(),
        our_rate / ctr_rate
    );

    let removals = pods.iter().chain([&pod, &lone]).map(|pod| {
        let (rt, pod) = (rt.clone(), pod.clone());
        tokio::spawn(async move { rt.remove_sandbox(&pod).await })
    });
    for r in futures::future::join_all(removals).await {
        r.expect("removal task").expect("remove sandbox");
    }
}
