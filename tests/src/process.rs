//! Waiting for a server a test started: ready, or dead with its log shown.

use std::process::Child;
use std::time::{Duration, Instant};

/// A server process a test runs: its child, whether it answers, and its log.
pub trait Served {
    /// What it is called in messages (`containerd`).
    const NAME: &'static str;
    /// The running process, if started.
    fn child(&mut self) -> Option<&mut Child>;
    /// Whether it answers requests yet.
    fn answers(&mut self) -> bool;
    /// Its log so far.
    fn log(&self) -> String;
}

/// Polls until `server` answers, panicking with its log if it exits first or stays silent for
/// `timeout`.
pub fn wait_ready<S: Served>(server: &mut S, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = server.child().and_then(|c| c.try_wait().ok().flatten()) {
            panic!(
                "{} exited with {status} before it was ready; log:\n{}",
                S::NAME,
                server.log()
            );
        }
        if server.answers() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} not ready after {} s; log:\n{}",
            S::NAME,
            timeout.as_secs(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
