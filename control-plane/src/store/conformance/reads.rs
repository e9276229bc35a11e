//! Conformance: range reads by prefix, paging and reads at past revisions.

use super::{fresh, StoreFactory};
use crate::store::{ListOptions, ListResult, Store, StoreError, StoreOptions};

fn keys(result: &ListResult) -> Vec<&str> {
    result.kvs.iter().map(|kv| kv.key.as_str()).collect()
}

fn prefix(prefix: &str) -> ListOptions {
    ListOptions {
        prefix: prefix.into(),
        ..ListOptions::default()
    }
}

async fn create_all(store: &dyn Store, keys: &[&str]) {
    for key in keys {
        store.create(key, key.as_bytes().to_vec()).await.unwrap();
    }
}

/// A list returns exactly the keys under the prefix, in key order.
pub async fn list_returns_prefix_matches_in_key_order(factory: &impl StoreFactory) {
    let store = fresh(factory);
    create_all(
        &*store,
        &["/a/b/2", "/a/bc", "/a/b/1", "/a/a", "/a/b/10", "/b"],
    )
    .await;
    let result = store.list(prefix("/a/b/")).await.unwrap();
    assert_eq!(keys(&result), ["/a/b/1", "/a/b/10", "/a/b/2"]);
    assert_eq!(result.revision, 6);
    assert!(!result.more);
    assert_eq!(result.remaining, 0);
    assert_eq!(result.kvs[0].value, b"/a/b/1");
    let all = store.list(prefix("")).await.unwrap();
    assert_eq!(all.kvs.len(), 6);
    assert!(store.list(prefix("/z/")).await.unwrap().kvs.is_empty());
}

/// `limit` cuts a page and reports what remains; `start_after` continues after a key.
pub async fn list_pages_with_start_after_and_limit(factory: &impl StoreFactory) {
    let store = fresh(factory);
    create_all(&*store, &["/p/1", "/p/2", "/p/3", "/p/4", "/p/5", "/q/1"]).await;
    let mut seen = Vec::new();
    let mut start_after = None;
    loop {
        let page = store
            .list(ListOptions {
                prefix: "/p/".into(),
                start_after: start_after.clone(),
                limit: Some(2),
                revision: None,
            })
            .await
            .unwrap();
        assert!(page.kvs.len() <= 2);
        let before = seen.len();
        seen.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        assert_eq!(page.remaining, 5 - seen.len(), "after {before} keys");
        assert_eq!(page.more, page.remaining > 0);
        if !page.more {
            break;
        }
        start_after = seen.last().cloned();
    }
    assert_eq!(seen, ["/p/1", "/p/2", "/p/3", "/p/4", "/p/5"]);
}

/// A list at a past revision shows the state as it was: later creates, updates and deletes
/// are rolled back, also across pages.
pub async fn list_at_a_past_revision_rolls_back_later_writes(factory: &impl StoreFactory) {
    let store = fresh(factory);
    create_all(&*store, &["/p/1", "/p/2", "/p/3"]).await;
    let at = store.current_revision();
    store.update("/p/1", b"changed".to_vec(), 1).await.unwrap();
    store.delete("/p/2", None).await.unwrap();
    store.create("/p/0", b"new".to_vec()).await.unwrap();
    store.create("/p/4", b"new".to_vec()).await.unwrap();

    let past = |start_after: Option<&str>, limit| ListOptions {
        prefix: "/p/".into(),
        start_after: start_after.map(str::to_owned),
        limit,
        revision: Some(at),
    };
    let whole = store.list(past(None, None)).await.unwrap();
    assert_eq!(keys(&whole), ["/p/1", "/p/2", "/p/3"]);
    assert_eq!(whole.revision, at);
    assert_eq!(whole.kvs[0].value, b"/p/1");
    assert_eq!(whole.kvs[0].mod_revision, 1);

    let first = store.list(past(None, Some(2))).await.unwrap();
    assert_eq!(keys(&first), ["/p/1", "/p/2"]);
    assert_eq!((first.more, first.remaining), (true, 1));
    let second = store.list(past(Some("/p/2"), Some(2))).await.unwrap();
    assert_eq!(keys(&second), ["/p/3"]);
    assert!(!second.more);

    let latest = store.list(prefix("/p/")).await.unwrap();
    assert_eq!(keys(&latest), ["/p/0", "/p/1", "/p/3", "/p/4"]);
}

/// A read before the kept history is `Compacted`; one after the current revision is
/// `FutureRevision`.
pub async fn list_at_a_compacted_or_future_revision_fails(factory: &impl StoreFactory) {
    let store = factory.open(StoreOptions {
        history_events: 3,
        ..StoreOptions::default()
    });
    create_all(&*store, &["/p/1", "/p/2", "/p/3", "/p/4", "/p/5"]).await;
    assert_eq!(store.oldest_revision(), 2);
    let at = |revision| ListOptions {
        revision: Some(revision),
        ..prefix("/p/")
    };
    let err = store.list(at(1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Compacted {
                requested: 1,
                oldest: 2
            }
        ),
        "{err}"
    );
    assert_eq!(keys(&store.list(at(2)).await.unwrap()), ["/p/1", "/p/2"]);
    let err = store.list(at(6)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::FutureRevision {
                requested: 6,
                current: 5
            }
        ),
        "{err}"
    );
}
