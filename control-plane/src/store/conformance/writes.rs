//! Conformance: create, get, update and delete with their revision checks.

use super::{fresh, StoreFactory};
use crate::store::StoreError;

/// Create stores a new key and refuses one that exists.
pub async fn create_if_absent_refuses_an_existing_key(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let kv = store.create("/k", b"one".to_vec()).await.unwrap();
    assert_eq!(kv.key, "/k");
    assert_eq!(kv.value, b"one");
    assert_eq!(kv.create_revision, kv.mod_revision);
    let err = store.create("/k", b"two".to_vec()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyExists { ref key } if key == "/k"),
        "{err}"
    );
    assert_eq!(store.get("/k").await.unwrap().0.unwrap().value, b"one");
}

/// Get answers the stored key-value (or nothing) with the current revision.
pub async fn get_returns_the_key_and_the_current_revision(factory: &impl StoreFactory) {
    let store = fresh(factory);
    assert_eq!(store.get("/missing").await.unwrap(), (None, 0));
    let kv = store.create("/a", b"1".to_vec()).await.unwrap();
    store.create("/b", b"2".to_vec()).await.unwrap();
    let (got, revision) = store.get("/a").await.unwrap();
    assert_eq!(got, Some(kv));
    assert_eq!(revision, 2);
    assert_eq!(store.current_revision(), 2);
}

/// Update replaces the value when the mod revision matches.
pub async fn update_succeeds_at_the_expected_revision(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let created = store.create("/k", b"one".to_vec()).await.unwrap();
    let updated = store
        .update("/k", b"two".to_vec(), created.mod_revision)
        .await
        .unwrap();
    assert_eq!(updated.value, b"two");
    assert_eq!(updated.create_revision, created.create_revision);
    assert_eq!(updated.mod_revision, created.mod_revision + 1);
    assert_eq!(store.get("/k").await.unwrap().0, Some(updated));
}

/// Update at a revision that is no longer current fails with `Conflict` and changes nothing.
pub async fn update_at_a_stale_revision_conflicts(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let created = store.create("/k", b"one".to_vec()).await.unwrap();
    let updated = store
        .update("/k", b"two".to_vec(), created.mod_revision)
        .await
        .unwrap();
    let err = store
        .update("/k", b"three".to_vec(), created.mod_revision)
        .await
        .unwrap_err();
    match err {
        StoreError::Conflict {
            key,
            expected,
            current,
        } => {
            assert_eq!(key, "/k");
            assert_eq!(expected, created.mod_revision);
            assert_eq!(current, updated.mod_revision);
        }
        other => panic!("expected Conflict, got {other}"),
    }
    assert_eq!(store.get("/k").await.unwrap().0.unwrap().value, b"two");
    assert_eq!(store.current_revision(), updated.mod_revision);
}

/// Update of a key that does not exist fails with `NotFound`.
pub async fn update_of_a_missing_key_is_not_found(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let err = store.update("/k", b"x".to_vec(), 1).await.unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { ref key } if key == "/k"),
        "{err}"
    );
    assert_eq!(store.current_revision(), 0);
}

/// Delete without an expected revision removes the key and answers its last value.
pub async fn delete_without_expected_revision_removes_the_key(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let created = store.create("/k", b"v".to_vec()).await.unwrap();
    let (deleted, revision) = store.delete("/k", None).await.unwrap();
    assert_eq!(deleted, created);
    assert_eq!(revision, created.mod_revision + 1);
    assert_eq!(store.current_revision(), revision);
    assert_eq!(store.get("/k").await.unwrap(), (None, revision));
    let err = store.delete("/k", None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    // The key can be created again, with a new create revision.
    let again = store.create("/k", b"w".to_vec()).await.unwrap();
    assert_eq!(again.create_revision, revision + 1);
}

/// Delete with an expected revision deletes only at that revision.
pub async fn delete_with_expected_revision_checks_it(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let created = store.create("/k", b"v".to_vec()).await.unwrap();
    let updated = store
        .update("/k", b"w".to_vec(), created.mod_revision)
        .await
        .unwrap();
    let err = store
        .delete("/k", Some(created.mod_revision))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { current, .. } if current == updated.mod_revision));
    assert!(store.get("/k").await.unwrap().0.is_some());
    let (deleted, _) = store
        .delete("/k", Some(updated.mod_revision))
        .await
        .unwrap();
    assert_eq!(deleted, updated);
    assert!(store.get("/k").await.unwrap().0.is_none());
}

/// Every write takes the next global revision; updates keep the create revision.
pub async fn revisions_are_global_and_create_revision_is_kept(factory: &impl StoreFactory) {
    let store = fresh(factory);
    let a = store.create("/a", b"1".to_vec()).await.unwrap();
    let b = store.create("/b", b"1".to_vec()).await.unwrap();
    let a2 = store
        .update("/a", b"2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    let (_, deleted_at) = store.delete("/b", None).await.unwrap();
    let c = store.create("/c", b"1".to_vec()).await.unwrap();
    assert_eq!(
        [
            a.mod_revision,
            b.mod_revision,
            a2.mod_revision,
            deleted_at,
            c.mod_revision
        ],
        [1, 2, 3, 4, 5]
    );
    assert_eq!(a2.create_revision, 1);
    // Failed writes do not consume revisions.
    assert!(store.create("/a", b"x".to_vec()).await.is_err());
    assert_eq!(store.current_revision(), 5);
    assert_eq!(
        store
            .create("/d", b"1".to_vec())
            .await
            .unwrap()
            .mod_revision,
        6
    );
}
