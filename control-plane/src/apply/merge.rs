//! Merging an applied configuration into the live object (upstream's typed `Merge`) and
//! removing the fields an applier dropped (upstream's `RemoveItems`).

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, PathElement};
use super::shape::{live_elements, Shape};
use super::walk::Cursor;
use crate::patch::schema::ListKind;

/// `config` merged into `live`: the config's values win; objects merge field by field; keyed
/// and set lists merge by item; atomic lists and objects are replaced. A `null` in the config
/// unsets the field. `config` must already have passed [`super::walk::to_field_set`].
pub fn merge(shape: &dyn Shape, live: &Value, config: &Value) -> Value {
    merge_node(shape, &mut Cursor::default(), Some(live), Some(config)).unwrap_or(Value::Null)
}

fn merge_node<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    live: Option<&'a Value>,
    config: Option<&'a Value>,
) -> Option<Value> {
    match (live, config) {
        (_, Some(Value::Null)) => None,
        (l, None) => l.cloned(),
        (None, Some(c)) => Some(c.clone()),
        (Some(Value::Object(l)), Some(Value::Object(c))) if !shape.atomic_object(&cur.names) => {
            Some(Value::Object(merge_objects(shape, cur, l, c)))
        }
        (Some(Value::Array(l)), Some(Value::Array(c))) => match shape.list_kind(&cur.names) {
            ListKind::Atomic => Some(Value::Array(c.clone())),
            kind => Some(Value::Array(merge_lists(shape, cur, kind, l, c))),
        },
        (_, Some(c)) => Some(c.clone()),
    }
}

fn merge_objects<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    live: &'a Map<String, Value>,
    config: &'a Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, lv) in live {
        cur.push_field(key);
        let merged = merge_node(shape, cur, Some(lv), config.get(key));
        cur.pop_field();
        if let Some(v) = merged {
            out.insert(key.clone(), v);
        }
    }
    for (key, cv) in config {
        if live.contains_key(key) {
            continue;
        }
        cur.push_field(key);
        let merged = merge_node(shape, cur, None, Some(cv));
        cur.pop_field();
        if let Some(v) = merged {
            out.insert(key.clone(), v);
        }
    }
    out
}

fn merge_item<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    atomic_items: bool,
    live: Option<&'a Value>,
    config: Option<&'a Value>,
) -> Option<Value> {
    match (live, config) {
        (Some(Value::Object(l)), Some(Value::Object(c))) if !atomic_items => {
            Some(Value::Object(merge_objects(shape, cur, l, c)))
        }
        (l, None) => l.cloned(),
        (_, Some(c)) => Some(c.clone()),
    }
}

/// Upstream's list merge order: live-only items keep their places, items in both follow the
/// config's order, config-only items go where the config puts them.
fn merge_lists<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    kind: ListKind,
    live: &'a [Value],
    config: &'a [Value],
) -> Vec<Value> {
    let lpe = live_elements(kind, live);
    let rpe = live_elements(kind, config);
    let atomic_items = shape.atomic_object(&cur.names);
    let in_live = |pe: &PathElement| lpe.iter().position(|p| p == pe).map(|i| &live[i]);
    let in_config = |pe: &PathElement| rpe.iter().position(|p| p == pe).map(|i| &config[i]);
    let mut shared = rpe.iter().filter(|pe| in_live(pe).is_some());
    let mut next_shared = shared.next();
    let mut merged: Vec<&PathElement> = Vec::new();
    let mut out = Vec::with_capacity(live.len().max(config.len()));
    let (mut li, mut ri) = (0, 0);
    let mut push = |cur: &mut Cursor<'a>, pe: &PathElement, l, c| {
        cur.path.push(pe.clone());
        if let Some(v) = merge_item(shape, cur, atomic_items, l, c) {
            out.push(v);
        }
        cur.path.pop();
    };
    while li < lpe.len() || ri < rpe.len() {
        if li < lpe.len() && ri < rpe.len() {
            let pe = &lpe[li];
            if *pe == rpe[ri] {
                merged.push(pe);
                push(cur, pe, in_live(pe), in_config(pe));
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if in_config(pe).is_some() && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lpe.len() {
            let pe = &lpe[li];
            if in_config(pe).is_none() {
                push(cur, pe, Some(&live[li]), None);
                li += 1;
                continue;
            }
            if merged.contains(&pe) {
                li += 1;
                continue;
            }
        }
        if ri < rpe.len() {
            let pe = &rpe[ri];
            merged.push(pe);
            push(cur, pe, in_live(pe), in_config(pe));
            ri += 1;
            if next_shared == Some(pe) {
                next_shared = shared.next();
            }
        } else {
            // Only reachable with duplicate live items already merged: keep the rest as is.
            push(cur, &lpe[li], Some(&live[li]), None);
            li += 1;
        }
    }
    out
}

/// `obj` without the fields at the members of `set` (each with everything below it). Objects
/// and lists left empty by the removal are removed too.
pub fn remove_items(shape: &dyn Shape, obj: &Value, set: &FieldSet) -> Value {
    remove_node(shape, &mut Cursor::default(), obj, set)
        .unwrap_or_else(|| Value::Object(Map::new()))
}

fn remove_node<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    value: &'a Value,
    set: &FieldSet,
) -> Option<Value> {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                let pe = PathElement::Field(key.clone());
                if set.has_member(&pe) {
                    continue;
                }
                match set.child(&pe) {
                    Some(sub) => {
                        cur.push_field(key);
                        let kept = remove_node(shape, cur, v, sub);
                        cur.pop_field();
                        if let Some(v) = kept {
                            out.insert(key.clone(), v);
                        }
                    }
                    None => {
                        out.insert(key.clone(), v.clone());
                    }
                }
            }
            (!out.is_empty() || map.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let kind = shape.list_kind(&cur.names);
            if kind == ListKind::Atomic {
                return Some(value.clone());
            }
            let mut out = Vec::new();
            for (item, pe) in items.iter().zip(live_elements(kind, items)) {
                if set.has_member(&pe) {
                    continue;
                }
                match (set.child(&pe), item.is_object()) {
                    (Some(sub), true) => {
                        if let Some(v) = remove_node(shape, cur, item, sub) {
                            out.push(v);
                        }
                    }
                    _ => out.push(item.clone()),
                }
            }
            (!out.is_empty() || items.is_empty()).then_some(Value::Array(out))
        }
        v => Some(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::fields_v1::decode;
    use crate::apply::shape::FakeShape;
    use serde_json::json;

    #[test]
    fn keyed_items_merge_by_name_and_keep_live_only_items_in_place() {
        let live = json!({"spec": {"containers": [
            {"name": "a", "image": "1", "imagePullPolicy": "Always"},
            {"name": "side", "image": "s"},
            {"name": "b", "image": "2"}
        ]}});
        let config = json!({"spec": {"containers": [
            {"name": "b", "image": "3"},
            {"name": "a", "image": "4"},
            {"name": "c", "image": "5"}
        ]}});
        let out = merge(&FakeShape::pod_like(), &live, &config);
        let names: Vec<&str> = out["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["side", "b", "a", "c"]);
        assert_eq!(out["spec"]["containers"][2]["imagePullPolicy"], "Always");
        assert_eq!(out["spec"]["containers"][2]["image"], "4");
    }

    #[test]
    fn sets_union_atomic_values_replace_and_null_unsets() {
        let live = json!({"metadata": {"finalizers": ["x"]}, "spec": {"selector": {"a": "1", "b": "2"}, "args": ["1", "2"], "gone": 1}});
        let config = json!({"metadata": {"finalizers": ["y"]}, "spec": {"selector": {"a": "1"}, "args": ["3"], "gone": null}});
        let out = merge(&FakeShape::pod_like(), &live, &config);
        assert_eq!(
            out,
            json!({"metadata": {"finalizers": ["x", "y"]}, "spec": {"selector": {"a": "1"}, "args": ["3"]}})
        );
    }

    #[test]
    fn removal_takes_subtrees_and_empties() {
        let obj = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}], "keep": 1}});
        let set = decode(&json!({
            "f:metadata": {"f:labels": {"f:a": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {}}}
        }))
        .unwrap();
        let out = remove_items(&FakeShape::pod_like(), &obj, &set);
        assert_eq!(
            out,
            json!({"spec": {"containers": [{"name": "b"}], "keep": 1}})
        );
    }
}
