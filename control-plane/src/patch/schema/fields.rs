//! Constructors for the field table: one per combination of Go markers upstream uses.

use super::{Field, FieldMerge};

const NONE: FieldMerge = FieldMerge {
    patch_merge_key: None,
    patch_strategy: None,
    list_type: None,
    list_map_keys: &[],
    map_type: None,
};

/// A nested object (or list of objects) without merge markers.
pub(super) const fn obj(name: &'static str, ty: &'static str) -> Field {
    Field {
        name,
        ty: Some(ty),
        merge: NONE,
    }
}

/// `+listType=atomic`; `ty` is the element type when it is an object.
pub(super) const fn atomic(name: &'static str, ty: Option<&'static str>) -> Field {
    Field {
        name,
        ty,
        merge: FieldMerge {
            list_type: Some("atomic"),
            ..NONE
        },
    }
}

/// `+patchStrategy=merge +listType=set`: a primitive list merged as a set.
pub(super) const fn merge_set(name: &'static str) -> Field {
    Field {
        name,
        ty: None,
        merge: FieldMerge {
            patch_strategy: Some("merge"),
            list_type: Some("set"),
            ..NONE
        },
    }
}

/// `+listType=set` without a patch strategy (strategic merge patch replaces it).
pub(super) const fn ssa_set(name: &'static str) -> Field {
    Field {
        name,
        ty: None,
        merge: FieldMerge {
            list_type: Some("set"),
            ..NONE
        },
    }
}

/// `+patchMergeKey=<key> +patchStrategy=merge +listType=map +listMapKey=<keys>`.
pub(super) const fn keyed(
    name: &'static str,
    ty: &'static str,
    key: &'static str,
    keys: &'static [&'static str],
) -> Field {
    Field {
        name,
        ty: Some(ty),
        merge: FieldMerge {
            patch_merge_key: Some(key),
            patch_strategy: Some("merge"),
            list_type: Some("map"),
            list_map_keys: keys,
            map_type: None,
        },
    }
}

/// Like [`keyed`] with `+patchStrategy=merge,retainKeys` (pod volumes, resource claims).
pub(super) const fn keyed_retain(
    name: &'static str,
    ty: &'static str,
    key: &'static str,
    keys: &'static [&'static str],
) -> Field {
    let mut f = keyed(name, ty, key, keys);
    f.merge.patch_strategy = Some("merge,retainKeys");
    f
}

/// `+patchMergeKey=<key> +patchStrategy=merge` with `listType` `atomic` (or none, which
/// server-side apply also treats as atomic).
pub(super) const fn keyed_smp_only(
    name: &'static str,
    ty: &'static str,
    key: &'static str,
) -> Field {
    Field {
        name,
        ty: Some(ty),
        merge: FieldMerge {
            patch_merge_key: Some(key),
            patch_strategy: Some("merge"),
            list_type: Some("atomic"),
            ..NONE
        },
    }
}

/// `+listType=map +listMapKey=<keys>` without a patch strategy.
pub(super) const fn ssa_map(
    name: &'static str,
    ty: &'static str,
    keys: &'static [&'static str],
) -> Field {
    Field {
        name,
        ty: Some(ty),
        merge: FieldMerge {
            list_type: Some("map"),
            list_map_keys: keys,
            ..NONE
        },
    }
}

/// `+patchStrategy=retainKeys` on an object (deployment strategy).
pub(super) const fn retain(name: &'static str, ty: &'static str) -> Field {
    Field {
        name,
        ty: Some(ty),
        merge: FieldMerge {
            patch_strategy: Some("retainKeys"),
            ..NONE
        },
    }
}

/// `+mapType=atomic` on a `map[string]string` field (service selector).
pub(super) const fn atomic_map(name: &'static str) -> Field {
    Field {
        name,
        ty: None,
        merge: FieldMerge {
            map_type: Some("atomic"),
            ..NONE
        },
    }
}
