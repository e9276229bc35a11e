//! Crash safety of the embedded store: every acknowledged write survives `kill -9`.
//!
//! The test runs its own binary again in a child mode that writes keys from many concurrent
//! tasks and prints each key only after its write was acknowledged; the parent kills the child
//! with SIGKILL mid-stream, reopens the store file and checks every acknowledged key.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use skiff_control_plane::store::{EmbeddedStore, ListOptions, Store, StoreOptions};

/// Set in the child: the directory holding the store file.
const CHILD_DIR: &str = "SKIFF_STORE_CRASH_DIR";
const TEST_NAME: &str = "acknowledged_writes_survive_kill_9";
const WRITERS: usize = 32;
/// Bounds the child's work should the parent vanish without killing it.
const WRITES_PER_WRITER: usize = 5_000;
const ACKS_BEFORE_KILL: usize = 300;

/// One acknowledged write as the child reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    revision: i64,
    value: String,
}

fn store_path(dir: &Path) -> PathBuf {
    dir.join("store.redb")
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        write_until_killed(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acks = BTreeMap::new();
    while acks.len() < ACKS_BEFORE_KILL {
        match lines.next() {
            Some(line) => record(&mut acks, &line.unwrap()),
            None => panic!(
                "the writer ended after {} acknowledged writes: {:?}",
                acks.len(),
                child.wait()
            ),
        }
    }
    child.kill().unwrap();
    // Acknowledgements already in the pipe count too.
    for line in lines {
        record(&mut acks, &line.unwrap());
    }
    let status = child.wait().unwrap();
    let sigkill = nix::sys::signal::Signal::SIGKILL as i32;
    assert_eq!(status.signal(), Some(sigkill), "{status:?}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(check_acknowledged(dir.path(), &acks));
}

/// Parses `ack <key> <revision> <value> .` lines; anything else (test harness output) is skipped.
fn record(acks: &mut BTreeMap<String, Ack>, line: &str) {
    let fields: Vec<&str> = line.split(' ').collect();
    if let ["ack", key, revision, value, "."] = fields[..] {
        let ack = Ack {
            revision: revision.parse().unwrap(),
            value: value.to_owned(),
        };
        assert!(
            acks.insert(key.to_owned(), ack).is_none(),
            "{key} acknowledged twice"
        );
    }
}

async fn check_acknowledged(dir: &Path, acks: &BTreeMap<String, Ack>) {
    let store = EmbeddedStore::open(&store_path(dir), StoreOptions::default()).unwrap();
    let revisions: BTreeSet<i64> = acks.values().map(|ack| ack.revision).collect();
    assert_eq!(
        revisions.len(),
        acks.len(),
        "acknowledged revisions are unique"
    );
    let current = store.current_revision();
    assert!(current >= *revisions.last().unwrap());
    for (key, ack) in acks {
        let (kv, _) = store.get(key).await.unwrap();
        let kv = kv.unwrap_or_else(|| panic!("acknowledged key {key} is missing"));
        assert_eq!(kv.value, ack.value.as_bytes(), "{key}");
        assert_eq!(kv.mod_revision, ack.revision, "{key}");
        assert_eq!(kv.create_revision, ack.revision, "{key}");
    }
    // Everything that did reach the file is consistent: one key per revision, none beyond it.
    let all = store.list(ListOptions::default()).await.unwrap();
    let stored: BTreeSet<i64> = all.kvs.iter().map(|kv| kv.mod_revision).collect();
    assert_eq!(stored.len(), all.kvs.len());
    assert_eq!(all.kvs.len() as i64, current, "every write was a create");
    assert_eq!(stored.last().copied(), Some(current));
    // The store keeps working after the crash.
    let next = store.create("/crash/after", b"x".to_vec()).await.unwrap();
    assert_eq!(next.mod_revision, current + 1);
}

/// Child mode: writes distinct keys from many tasks, printing each one once it is acknowledged.
fn write_until_killed(dir: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = std::sync::Arc::new(
            EmbeddedStore::open(&store_path(dir), StoreOptions::default()).unwrap(),
        );
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = std::sync::Arc::clone(&store);
                tokio::spawn(async move {
                    for i in 0..WRITES_PER_WRITER {
                        let key = format!("/crash/{writer:02}/{i:06}");
                        let value = format!("value-{writer}-{i}");
                        let kv = store
                            .create(&key, value.clone().into_bytes())
                            .await
                            .unwrap();
                        let mut out = std::io::stdout().lock();
                        let acked = writeln!(out, "ack {key} {} {value} .", kv.mod_revision)
                            .and_then(|()| out.flush());
                        if acked.is_err() {
                            // The parent is gone; nobody is counting.
                            std::process::exit(1);
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
    });
}
