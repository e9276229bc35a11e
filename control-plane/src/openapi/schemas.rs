//! `components.schemas` for every served kind: k8s-openapi's schemas under upstream's names,
//! with list kinds, `x-kubernetes-group-version-kind` and the merge markers added.

use std::collections::HashMap;

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

#[cfg(test)]
use super::types::OBJECT_META;
use super::types::{self, API_RESOURCE_LIST, DELETE_OPTIONS, LIST_META, STATUS, WATCH_EVENT};
use crate::discovery::subresources;
use crate::patch::schema as merge_markers;
use crate::registry::{self, KindInfo, KINDS};

/// Prefix of every `$ref` in the documents.
pub const REF_PREFIX: &str = "#/components/schemas/";

/// All schemas the documents draw from, and which schema describes each kind.
#[derive(Debug)]
pub struct Definitions {
    /// Schemas by upstream name, sorted by name.
    pub schemas: Map<String, Value>,
    by_gvk: HashMap<(String, String, String), String>,
}

impl Definitions {
    /// The schema name describing `group`/`version`/`kind` (`io.k8s.api.core.v1.Pod`).
    pub fn name_of(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.by_gvk
            .get(&gvk_key(group, version, kind))
            .map(String::as_str)
    }

    /// The schema describing a served kind.
    pub fn kind_schema(&self, kind: &KindInfo) -> Option<&Value> {
        let name = self.name_of(kind.group, kind.version, kind.kind)?;
        self.schemas.get(name)
    }

    /// Follows `$ref` (and a single-element `allOf` wrapping one) to the schema it names.
    pub fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..8 {
            if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
                match r
                    .strip_prefix(REF_PREFIX)
                    .and_then(|name| self.schemas.get(name))
                {
                    Some(target) => schema = target,
                    None => return schema,
                }
            } else if let Some([inner]) = schema
                .get("allOf")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                schema = inner;
            } else {
                return schema;
            }
        }
        schema
    }

    /// Builds the definitions for every served kind from k8s-openapi's schemas.
    pub fn build() -> Self {
        let mut gen = SchemaSettings::openapi3()
            .with(|s| {
                s.meta_schema = None;
                s.transforms.clear();
            })
            .into_generator();
        let mut by_gvk = HashMap::new();
        let mut wanted: Vec<(&str, &str, &str)> = Vec::new();
        for kind in KINDS {
            wanted.push((kind.group, kind.version, kind.kind));
            for sub in subresources::of(kind) {
                wanted.push((sub.group, sub.version, sub.kind));
            }
        }
        for (group, version, kind) in wanted {
            if let Some(entry) = types::lookup(group, version, kind) {
                let name = (entry.add)(&mut gen);
                by_gvk.insert(gvk_key(group, version, kind), name);
            }
        }
        types::add_meta(&mut gen);
        let mut schemas = gen.take_definitions(false);
        for kind in KINDS {
            let Some(item) = by_gvk.get(&gvk_key(kind.group, kind.version, kind.kind)) else {
                continue;
            };
            let list_name = format!("{item}List");
            schemas.insert(list_name.clone(), list_schema(kind, item));
            by_gvk.insert(
                gvk_key(kind.group, kind.version, &kind.list_kind()),
                list_name,
            );
        }
        for ((group, version, kind), name) in &by_gvk {
            if let Some(Value::Object(schema)) = schemas.get_mut(name) {
                set_gvk(schema, vec![gvk(group, version, kind)]);
                drop_required_metadata(schema);
            }
        }
        annotate_meta_gvks(&mut schemas);
        rewrite_scalar_unions(&mut schemas);
        add_merge_markers(&mut schemas);
        let mut sorted: Vec<(String, Value)> = schemas.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        Definitions {
            schemas: sorted.into_iter().collect(),
            by_gvk,
        }
    }
}

fn gvk_key(group: &str, version: &str, kind: &str) -> (String, String, String) {
    (group.to_string(), version.to_string(), kind.to_string())
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

fn set_gvk(schema: &mut Map<String, Value>, gvks: Vec<Value>) {
    schema.insert("x-kubernetes-group-version-kind".into(), Value::Array(gvks));
}

/// k8s-openapi marks `metadata` required on every object; upstream does not.
fn drop_required_metadata(schema: &mut Map<String, Value>) {
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|r| r != "metadata");
        if required.is_empty() {
            schema.remove("required");
        }
    }
}

const API_VERSION_DESC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

fn list_schema(kind: &KindInfo, item: &str) -> Value {
    json!({
        "description": format!("{} is a list of {} objects.", kind.list_kind(), kind.kind),
        "type": "object",
        "properties": {
            "apiVersion": {"description": API_VERSION_DESC, "type": "string"},
            "items": {
                "description": format!("Items is the list of {} objects.", kind.kind),
                "type": "array",
                "items": {"$ref": format!("{REF_PREFIX}{item}")},
            },
            "kind": {"description": KIND_DESC, "type": "string"},
            "metadata": {
                "$ref": format!("{REF_PREFIX}{LIST_META}"),
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
            },
        },
        "required": ["items"],
    })
}

/// `DeleteOptions` and `WatchEvent` are registered in every served group-version.
fn annotate_meta_gvks(schemas: &mut Map<String, Value>) {
    let mut versions: Vec<(&str, &str)> = vec![("", "v1")];
    for (group, vs) in registry::groups() {
        for v in vs {
            if !versions.contains(&(group, v)) {
                versions.push((group, v));
            }
        }
    }
    for name in [DELETE_OPTIONS, WATCH_EVENT] {
        let kind = name.rsplit('.').next().unwrap_or(name);
        if let Some(Value::Object(schema)) = schemas.get_mut(name) {
            set_gvk(
                schema,
                versions.iter().map(|(g, v)| gvk(g, v, kind)).collect(),
            );
        }
    }
    for (name, kind) in [(STATUS, "Status"), (API_RESOURCE_LIST, "APIResourceList")] {
        if let Some(Value::Object(schema)) = schemas.get_mut(name) {
            set_gvk(schema, vec![gvk("", "v1", kind)]);
        }
    }
}

/// Upstream's OpenAPI v3 spells `IntOrString` and `Quantity` as `oneOf` unions.
fn rewrite_scalar_unions(schemas: &mut Map<String, Value>) {
    let unions = [
        (
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
            Some("int-or-string"),
            ["integer", "string"],
        ),
        (
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
            None,
            ["string", "number"],
        ),
    ];
    for (name, format, alternatives) in unions {
        let Some(Value::Object(schema)) = schemas.get_mut(name) else {
            continue;
        };
        schema.remove("x-kubernetes-int-or-string");
        if let Some(format) = format {
            schema.insert("format".into(), format.into());
        }
        let one_of = alternatives.iter().map(|t| json!({"type": t})).collect();
        schema.insert("oneOf".into(), Value::Array(one_of));
    }
}

/// Adds the `x-kubernetes-patch-*`, `x-kubernetes-list-*` and `x-kubernetes-map-type`
/// markers the patch module declares for each type's fields.
fn add_merge_markers(schemas: &mut Map<String, Value>) {
    for (name, schema) in schemas.iter_mut() {
        let Value::Object(schema) = schema else {
            continue;
        };
        if merge_markers::is_atomic_struct(name) {
            schema.insert("x-kubernetes-map-type".into(), "atomic".into());
        }
        let Some(Value::Object(props)) = schema.get_mut("properties") else {
            continue;
        };
        for (field, prop) in props.iter_mut() {
            let (Some(markers), Value::Object(prop)) =
                (merge_markers::field_extensions(name, field), prop)
            else {
                continue;
            };
            prop.extend(markers.extensions());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> &'static Definitions {
        super::super::definitions()
    }

    #[test]
    fn kinds_use_upstream_names_and_refs() {
        let d = defs();
        assert_eq!(d.name_of("", "v1", "Pod"), Some("io.k8s.api.core.v1.Pod"));
        assert_eq!(
            d.name_of("apps", "v1", "DeploymentList"),
            Some("io.k8s.api.apps.v1.DeploymentList")
        );
        let pod = &d.schemas["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod["properties"]["metadata"]["$ref"],
            format!("{REF_PREFIX}{OBJECT_META}")
        );
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "Pod", "version": "v1"}])
        );
        assert!(pod.get("required").is_none());
        assert!(d.schemas.contains_key(OBJECT_META));
        assert!(d.schemas.contains_key("io.k8s.api.policy.v1.Eviction"));
        assert!(d.schemas.contains_key("io.k8s.api.autoscaling.v1.Scale"));
        let names: Vec<&String> = d.schemas.keys().collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn every_ref_resolves() {
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|c| refs(c, out));
                }
                Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
                _ => {}
            }
        }
        let d = defs();
        let mut all = Vec::new();
        refs(&Value::Object(d.schemas.clone()), &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r.strip_prefix(REF_PREFIX).expect("components ref");
            assert!(d.schemas.contains_key(name), "{r} dangles");
        }
    }

    #[test]
    fn list_kinds_are_synthesised_with_gvk() {
        let list = &defs().schemas["io.k8s.api.coordination.v1.LeaseList"];
        assert_eq!(list["required"], json!(["items"]));
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            format!("{REF_PREFIX}io.k8s.api.coordination.v1.Lease")
        );
        assert_eq!(
            list["x-kubernetes-group-version-kind"][0]["kind"],
            "LeaseList"
        );
    }

    #[test]
    fn int_or_string_is_a_one_of_union() {
        let s = &defs().schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
        assert_eq!(s["format"], "int-or-string");
        assert_eq!(s["oneOf"], json!([{"type": "integer"}, {"type": "string"}]));
        assert!(s.get("x-kubernetes-int-or-string").is_none());
    }

    #[test]
    fn pod_containers_carry_merge_markers() {
        let spec = &defs().schemas["io.k8s.api.core.v1.PodSpec"];
        let containers = &spec["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        assert_eq!(
            spec["properties"]["volumes"]["x-kubernetes-patch-strategy"],
            "merge,retainKeys"
        );
    }
}
