//! Where served kinds' lists merge by key: the patch merge keys and strategies upstream's Go
//! types declare (`patchMergeKey`, `patchStrategy`, `listType`, `listMapKeys`).

use crate::registry::KindInfo;

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole.
    Atomic,
    /// A list of primitives merged as a set (`finalizers`).
    Set,
    /// A list of objects merged by key: `merge_key` for strategic merge patch, `keys` for
    /// server-side apply (`listMapKeys`).
    Map {
        /// The strategic merge patch key (`name`, `containerPort`).
        merge_key: &'static str,
        /// Server-side apply's key fields.
        keys: &'static [&'static str],
    },
}

/// The list kind of the field at `path` (object keys from the root, list levels skipped:
/// `["spec", "containers", "ports"]`) in an object of `kind`.
pub fn list_kind(kind: &KindInfo, path: &[&str]) -> ListKind {
    let _ = (kind, path);
    ListKind::Atomic
}

/// Whether the map at `path` has the `retainKeys` patch strategy (pod volumes, deployment
/// strategy).
pub fn retains_keys(kind: &KindInfo, path: &[&str]) -> bool {
    let _ = (kind, path);
    false
}
