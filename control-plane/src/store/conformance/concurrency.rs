//! Conformance: many writers at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{fresh, StoreFactory};
use crate::store::{ListOptions, Store, StoreError};

/// Of many concurrent creates of one key, exactly one succeeds.
pub async fn concurrent_creates_of_one_key_have_one_winner(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.create("/race", vec![i]).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(kv) => winners.push(kv),
            Err(StoreError::AlreadyExists { .. }) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(
        store.get("/race").await.unwrap().0.as_ref(),
        winners.first()
    );
    assert_eq!(store.current_revision(), 1);
}

/// Concurrent writers each get a distinct revision, and together they fill 1..=n densely.
pub async fn concurrent_writers_get_unique_dense_revisions(factory: &impl StoreFactory) {
    const WRITERS: usize = 16;
    const EACH: usize = 20;
    let store = fresh(factory);
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store: Arc<dyn Store> = Arc::clone(&store);
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..EACH {
                    let key = format!("/many/{w:02}/{i:02}");
                    let kv = store.create(&key, b"0".to_vec()).await.unwrap();
                    let kv = store
                        .update(&key, b"1".to_vec(), kv.mod_revision)
                        .await
                        .unwrap();
                    revisions.push(kv.create_revision);
                    revisions.push(kv.mod_revision);
                }
                revisions
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    for task in tasks {
        for revision in task.await.unwrap() {
            assert!(all.insert(revision), "revision {revision} given twice");
        }
    }
    let total = (WRITERS * EACH * 2) as i64;
    assert_eq!(all, (1..=total).collect::<BTreeSet<_>>());
    assert_eq!(store.current_revision(), total);
    let listed = store
        .list(ListOptions {
            prefix: "/many/".into(),
            ..ListOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.kvs.len(), WRITERS * EACH);
    assert!(listed.kvs.iter().all(|kv| kv.value == b"1"));
}
