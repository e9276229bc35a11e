//! Element order of merged lists, as upstream's `normalizeElementOrder`: patch entries in
//! patch (or `$setElementOrder`) order, server-only entries woven in by their live order.

use serde_json::Value;

/// The position of `item` in `list`, matching by merge key for object lists.
pub(super) fn index_of(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    match key {
        Some(k) => {
            let want = item.get(k)?;
            list.iter().position(|v| v.get(k) == Some(want))
        }
        None => list.iter().position(|v| v == item),
    }
}

/// Splits `merged` into the entries present in `list` and the rest.
pub(super) fn partition(
    merged: Vec<Value>,
    list: &[Value],
    key: Option<&str>,
) -> (Vec<Value>, Vec<Value>) {
    merged
        .into_iter()
        .partition(|v| index_of(list, v, key).is_some())
}

/// Orders `in_patch` by `patch_order` and `server_only` by `live_order`, then weaves them.
pub(super) fn normalize(
    in_patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    live_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let in_patch = sort_by(in_patch, patch_order, key);
    let server_only = sort_by(server_only, live_order, key);
    weave(server_only, in_patch, live_order, key)
}

/// Stable sort by position in `order`; entries not in `order` keep their place at the end.
fn sort_by(mut items: Vec<Value>, order: &[Value], key: Option<&str>) -> Vec<Value> {
    items.sort_by_key(|v| index_of(order, v, key).unwrap_or(usize::MAX));
    items
}

/// Inserts each `left` entry into `right` before the first `right` entry the live list puts
/// after it; relative orders of both lists are kept (upstream's `mergeSortedSlice`).
fn weave(left: Vec<Value>, right: Vec<Value>, live: &[Value], key: Option<&str>) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => match (index_of(live, l, key), index_of(live, r, key)) {
                (Some(li), Some(ri)) => li < ri,
                _ => false,
            },
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}
