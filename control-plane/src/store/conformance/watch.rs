//! Conformance: watches from now and from the past, prefix filtering, compaction, overflow.

use super::{fresh, next_event, StoreFactory};
use crate::store::{EventKind, StoreError, StoreOptions};

/// A watch from revision 0 delivers only writes made after it started.
pub async fn watch_from_now_sees_only_later_events(factory: &impl StoreFactory) {
    let store = fresh(factory);
    store.create("/w/old", b"1".to_vec()).await.unwrap();
    let mut watch = store.watch("/w/", 0).await.unwrap();
    let kv = store.create("/w/new", b"2".to_vec()).await.unwrap();
    let event = next_event(&mut watch).await;
    assert_eq!(event.kind, EventKind::Put);
    assert_eq!(event.kv, kv);
    assert_eq!(event.prev, None);
    assert_eq!(event.revision(), 2);
}

/// A watch from a past revision replays every later event, then follows live writes, without
/// gaps or duplicates.
pub async fn watch_from_a_past_revision_replays_then_follows(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let first = store.create("/w/a", b"1".to_vec()).await.unwrap();
    let updated = store
        .update("/w/a", b"2".to_vec(), first.mod_revision)
        .await
        .unwrap();
    store.create("/w/b", b"3".to_vec()).await.unwrap();
    let mut watch = store.watch("/w/", first.mod_revision).await.unwrap();
    store.create("/w/c", b"4".to_vec()).await.unwrap();

    let update = next_event(&mut watch).await;
    assert_eq!(update.kv, updated);
    assert_eq!(update.prev, Some(first));
    let mut revisions = vec![update.revision()];
    for _ in 0..2 {
        revisions.push(next_event(&mut watch).await.revision());
    }
    assert_eq!(revisions, [2, 3, 4]);
}

/// A watch sees only keys under its prefix (`/a/b/` does not match `/a/bc`).
pub async fn watch_filters_by_prefix(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let mut watch = store.watch("/a/b/", 0).await.unwrap();
    store.create("/a/bc", b"no".to_vec()).await.unwrap();
    store.create("/a/a", b"no".to_vec()).await.unwrap();
    store.create("/a/b/x", b"yes".to_vec()).await.unwrap();
    let event = next_event(&mut watch).await;
    assert_eq!(event.kv.key, "/a/b/x");
    // A replay filters the same way.
    let mut replay = store.watch("/a/b/", 1).await.unwrap();
    assert_eq!(next_event(&mut replay).await.kv.key, "/a/b/x");
}

/// A delete event carries the last value at the delete's revision, and the previous key-value.
pub async fn delete_events_carry_the_last_value_and_prev(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let created = store.create("/d/k", b"last".to_vec()).await.unwrap();
    let mut live = store.watch("/d/", created.mod_revision).await.unwrap();
    let (_, deleted_at) = store.delete("/d/k", None).await.unwrap();
    let mut replayed = store.watch("/d/", created.mod_revision).await.unwrap();
    for watch in [&mut live, &mut replayed] {
        let event = next_event(watch).await;
        assert_eq!(event.kind, EventKind::Delete);
        assert_eq!(event.kv.key, "/d/k");
        assert_eq!(event.kv.value, b"last");
        assert_eq!(event.kv.create_revision, created.create_revision);
        assert_eq!(event.revision(), deleted_at);
        assert_eq!(event.prev.as_ref(), Some(&created));
    }
}

/// After compaction, watches and reads from before it are `Compacted`; later ones still work.
pub async fn compaction_refuses_older_watches_and_reads(factory: &impl StoreFactory) {
    let store = fresh(factory);
    for i in 0..5 {
        store
            .create(&format!("/c/{i}"), b"v".to_vec())
            .await
            .unwrap();
    }
    store.compact(3).await.unwrap();
    assert_eq!(store.oldest_revision(), 3);
    let err = store.watch("/c/", 2).await.err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::Compacted {
                requested: 2,
                oldest: 3
            }
        ),
        "{err}"
    );
    let mut watch = store.watch("/c/", 3).await.unwrap();
    assert_eq!(next_event(&mut watch).await.revision(), 4);
    // Compacting again to an older revision changes nothing; to the future is refused.
    store.compact(1).await.unwrap();
    assert_eq!(store.oldest_revision(), 3);
    let err = store.compact(99).await.unwrap_err();
    assert!(matches!(err, StoreError::FutureRevision { .. }), "{err}");
    let err = store.watch("/c/", 99).await.err().unwrap();
    assert!(matches!(err, StoreError::FutureRevision { .. }), "{err}");
}

/// The history keeps a bounded number of events; older revisions become compacted.
pub async fn history_bound_compacts_the_oldest_revisions(factory: &impl StoreFactory) {
    let store = factory.open(StoreOptions {
        history_events: 4,
        ..StoreOptions::default()
    });
    for i in 0..10 {
        store
            .create(&format!("/h/{i}"), b"v".to_vec())
            .await
            .unwrap();
    }
    assert_eq!(store.oldest_revision(), 6);
    assert!(matches!(
        store.watch("/h/", 5).await.err(),
        Some(StoreError::Compacted { oldest: 6, .. })
    ));
    let mut watch = store.watch("/h/", 6).await.unwrap();
    for revision in 7..=10 {
        assert_eq!(next_event(&mut watch).await.revision(), revision);
    }
}

/// A watcher that does not read is cut off with `WatchOverflow` as its last item; writes and
/// other watchers carry on.
pub async fn slow_watcher_is_cut_off_with_overflow(factory: &impl StoreFactory) {
    let store = factory.open(StoreOptions {
        watch_buffer: 4,
        ..StoreOptions::default()
    });
    let mut slow = store.watch("/s/", 0).await.unwrap();
    for i in 0..20 {
        store
            .create(&format!("/s/{i:02}"), b"v".to_vec())
            .await
            .unwrap();
    }
    let mut delivered = 0;
    let mut overflowed = false;
    while let Some(item) = slow.events.recv().await {
        match item {
            Ok(_) => delivered += 1,
            Err(StoreError::WatchOverflow) => overflowed = true,
            Err(other) => panic!("unexpected watch error {other}"),
        }
        assert!(!overflowed || delivered <= 4);
    }
    assert!(overflowed, "the stream ended with WatchOverflow");
    assert_eq!(delivered, 4);
    let mut fresh_watch = store.watch("/s/", 19).await.unwrap();
    assert_eq!(next_event(&mut fresh_watch).await.revision(), 20);
}
