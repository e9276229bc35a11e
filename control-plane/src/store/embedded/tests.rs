use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tempfile::TempDir;

use super::{measure_raw_write_rate, EmbeddedStore};
use crate::store::conformance::{next_event, StoreFactory};
use crate::store::{ListOptions, Store, StoreError, StoreOptions};

/// Opens each store in its own file of one temp dir, which lives as long as the factory.
struct TempFiles {
    dir: TempDir,
    opened: AtomicUsize,
}

impl StoreFactory for TempFiles {
    fn open(&self, opts: StoreOptions) -> Arc<dyn Store> {
        let n = self.opened.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.path().join(format!("store-{n}.redb"));
        Arc::new(EmbeddedStore::open(&path, opts).unwrap())
    }
}

fn temp_files() -> TempFiles {
    TempFiles {
        dir: tempfile::tempdir().unwrap(),
        opened: AtomicUsize::new(0),
    }
}

crate::store_conformance_tests!(temp_files);

#[tokio::test]
async fn data_and_revision_survive_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/store.redb");
    let (kept, deleted_at) = {
        let store = EmbeddedStore::open(&path, StoreOptions::default()).unwrap();
        let a = store.create("/r/a", b"1".to_vec()).await.unwrap();
        let kept = store
            .update("/r/a", b"2".to_vec(), a.mod_revision)
            .await
            .unwrap();
        store.create("/r/b", b"3".to_vec()).await.unwrap();
        let (_, deleted_at) = store.delete("/r/b", None).await.unwrap();
        (kept, deleted_at)
    };
    let store = EmbeddedStore::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(store.current_revision(), deleted_at);
    let listed = store
        .list(ListOptions {
            prefix: "/r/".into(),
            ..ListOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.kvs, std::slice::from_ref(&kept));
    assert_eq!(listed.revision, deleted_at);
    // The next write continues the revision sequence.
    let c = store.create("/r/c", b"4".to_vec()).await.unwrap();
    assert_eq!(c.mod_revision, deleted_at + 1);
    // History starts empty at the stored revision.
    assert_eq!(store.oldest_revision(), deleted_at);
    let err = store.watch("/r/", deleted_at - 1).await.err().unwrap();
    assert!(matches!(err, StoreError::Compacted { .. }), "{err}");
    let mut watch = store.watch("/r/", deleted_at).await.unwrap();
    assert_eq!(next_event(&mut watch).await.kv, c);
}

#[tokio::test]
async fn a_second_open_of_the_same_file_is_refused_while_the_first_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let _first = EmbeddedStore::open(&path, StoreOptions::default()).unwrap();
    let err = EmbeddedStore::open(&path, StoreOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Backend(_)), "{err}");
}

#[test]
fn raw_write_rate_is_measured_on_a_scratch_file_that_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let rate = measure_raw_write_rate(dir.path(), 5).unwrap();
    assert!(rate > 0.0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
