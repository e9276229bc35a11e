//! Range reads by prefix with paging, at the latest or a past revision (pure).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use super::batch::Change;
use super::{KeyValue, ListOptions, ListResult, Revision};

/// Lists `opts.prefix` from the latest state, which is at `revision`.
pub(crate) fn list_latest(
    state: &BTreeMap<String, Arc<KeyValue>>,
    opts: &ListOptions,
    revision: Revision,
) -> ListResult {
    let matching = state
        .range::<str, _>((start_bound(opts), Bound::Unbounded))
        .take_while(|(key, _)| key.starts_with(&opts.prefix))
        .map(|(_, kv)| kv);
    page(matching, opts.limit, revision)
}

/// Lists `opts.prefix` as it was at revision `at`: the latest state with every change in
/// `newer` (the changes after `at`, oldest first) rolled back.
pub(crate) fn list_at<'a>(
    state: &'a BTreeMap<String, Arc<KeyValue>>,
    newer: impl DoubleEndedIterator<Item = &'a Change>,
    opts: &ListOptions,
    at: Revision,
) -> ListResult {
    let prefix = opts.prefix.as_str();
    let mut view: BTreeMap<&str, &Arc<KeyValue>> = state
        .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
        .take_while(|(key, _)| key.starts_with(prefix))
        .map(|(key, kv)| (key.as_str(), kv))
        .collect();
    // Newest first, so the oldest change after `at` decides each key's value last.
    for change in newer.rev().filter(|c| c.key().starts_with(prefix)) {
        match change.before() {
            Some(before) => view.insert(before.key.as_str(), before),
            None => view.remove(change.key()),
        };
    }
    let matching = view
        .range::<str, _>((start_bound(opts), Bound::Unbounded))
        .map(|(_, kv)| *kv);
    page(matching, opts.limit, at)
}

fn start_bound(opts: &ListOptions) -> Bound<&str> {
    match &opts.start_after {
        Some(after) if after.as_str() >= opts.prefix.as_str() => Bound::Excluded(after.as_str()),
        _ => Bound::Included(opts.prefix.as_str()),
    }
}

fn page<'a>(
    mut matching: impl Iterator<Item = &'a Arc<KeyValue>>,
    limit: Option<usize>,
    revision: Revision,
) -> ListResult {
    let kvs: Vec<KeyValue> = match limit {
        Some(limit) => matching
            .by_ref()
            .take(limit)
            .map(|kv| KeyValue::clone(kv))
            .collect(),
        None => matching.by_ref().map(|kv| KeyValue::clone(kv)).collect(),
    };
    let remaining = matching.count();
    ListResult {
        kvs,
        revision,
        more: remaining > 0,
        remaining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(keys: &[&str]) -> BTreeMap<String, Arc<KeyValue>> {
        keys.iter()
            .enumerate()
            .map(|(i, key)| {
                let kv = KeyValue {
                    key: (*key).to_owned(),
                    value: Vec::new(),
                    create_revision: i as Revision + 1,
                    mod_revision: i as Revision + 1,
                };
                ((*key).to_owned(), Arc::new(kv))
            })
            .collect()
    }

    fn keys(result: &ListResult) -> Vec<&str> {
        result.kvs.iter().map(|kv| kv.key.as_str()).collect()
    }

    #[test]
    fn a_start_after_before_the_prefix_does_not_widen_the_range() {
        let state = state(&["/a/0", "/b/1", "/b/2", "/c/3"]);
        let opts = ListOptions {
            prefix: "/b/".into(),
            start_after: Some("/a/9".into()),
            ..ListOptions::default()
        };
        assert_eq!(keys(&list_latest(&state, &opts, 4)), ["/b/1", "/b/2"]);
    }

    #[test]
    fn limit_reports_how_many_keys_remain() {
        let state = state(&["/b/1", "/b/2", "/b/3", "/c/4"]);
        let opts = ListOptions {
            prefix: "/b/".into(),
            limit: Some(1),
            ..ListOptions::default()
        };
        let result = list_latest(&state, &opts, 4);
        assert_eq!(keys(&result), ["/b/1"]);
        assert!(result.more);
        assert_eq!(result.remaining, 2);
    }
}
