//! Legacy discovery documents: `/apis` (APIGroupList), `/apis/<g>` (APIGroup) and
//! `/api/v1`, `/apis/<g>/<v>` (APIResourceList).

use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::subresources;
use crate::registry::{self, KindInfo, KINDS};

/// `groupVersion` string of a group and version (`v1` for core).
pub fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Upstream's storage version hash: base64 of the first 8 bytes of SHA-256 of
/// `<group>/<version>/<kind>`.
pub fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    let digest = Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

fn version_entry(group: &str, version: &str) -> Value {
    json!({"groupVersion": group_version(group, version), "version": version})
}

/// One group's entry in `/apis`: name, versions and preferred version (the first served).
pub fn group_entry(group: &str, versions: &[&str]) -> Value {
    json!({
        "name": group,
        "versions": versions.iter().map(|v| version_entry(group, v)).collect::<Vec<_>>(),
        "preferredVersion": version_entry(group, versions[0]),
    })
}

/// `/apis`: every served named group (core is under `/api`).
pub fn api_group_list() -> Value {
    let groups: Vec<Value> = registry::groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, versions)| group_entry(g, &versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, `None` for core or an unserved group.
pub fn api_group(group: &str) -> Option<Value> {
    let (_, versions) = registry::groups()
        .into_iter()
        .find(|(g, _)| !g.is_empty() && *g == group)?;
    let mut out = Map::new();
    out.insert("kind".into(), "APIGroup".into());
    out.insert("apiVersion".into(), "v1".into());
    if let Value::Object(entry) = group_entry(group, &versions) {
        out.extend(entry);
    }
    Some(Value::Object(out))
}

fn str_list(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

/// The APIResource of a kind itself.
pub fn resource_entry(kind: &KindInfo) -> Value {
    let mut r = Map::new();
    r.insert("name".into(), kind.plural.into());
    r.insert("singularName".into(), kind.singular.into());
    r.insert("namespaced".into(), kind.namespaced.into());
    r.insert("kind".into(), kind.kind.into());
    r.insert("verbs".into(), str_list(kind.verbs));
    if !kind.short_names.is_empty() {
        r.insert("shortNames".into(), str_list(kind.short_names));
    }
    if !kind.categories.is_empty() {
        r.insert("categories".into(), str_list(kind.categories));
    }
    r.insert(
        "storageVersionHash".into(),
        storage_version_hash(kind.group, kind.version, kind.kind).into(),
    );
    Value::Object(r)
}

/// The APIResources of a kind's subresources (`pods/status`, …).
pub fn subresource_entries(kind: &'static KindInfo) -> Vec<Value> {
    subresources::of(kind)
        .into_iter()
        .map(|sub| {
            let mut r = Map::new();
            r.insert(
                "name".into(),
                format!("{}/{}", kind.plural, sub.name).into(),
            );
            r.insert("singularName".into(), "".into());
            r.insert("namespaced".into(), kind.namespaced.into());
            if sub.is_foreign(kind) {
                r.insert("group".into(), sub.group.into());
                r.insert("version".into(), sub.version.into());
            }
            r.insert("kind".into(), sub.kind.into());
            r.insert("verbs".into(), str_list(sub.verbs));
            Value::Object(r)
        })
        .collect()
}

/// `/api/v1` or `/apis/<group>/<version>`, `None` if not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<&'static KindInfo> = KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let mut resources: Vec<Value> = Vec::new();
    for kind in kinds {
        resources.push(resource_entry(kind));
        resources.extend(subresource_entries(kind));
    }
    resources.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let mut out = Map::new();
    out.insert("kind".into(), "APIResourceList".into());
    if !group.is_empty() {
        out.insert("apiVersion".into(), "v1".into());
    }
    out.insert("groupVersion".into(), group_version(group, version).into());
    out.insert("resources".into(), resources.into());
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn storage_version_hash_matches_upstream_for_pods() {
        assert_eq!(storage_version_hash("", "v1", "Pod"), "xPOwRZ+Yhw8=");
    }

    #[test]
    fn core_resource_list_has_pods_with_subresources() {
        let list = resource_list("", "v1").unwrap();
        assert_eq!(list["kind"], "APIResourceList");
        assert_eq!(list["groupVersion"], "v1");
        assert!(list.get("apiVersion").is_none());
        let pods = find(&list, "pods");
        assert_eq!(pods["singularName"], "pod");
        assert_eq!(pods["namespaced"], true);
        assert_eq!(pods["kind"], "Pod");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert_eq!(pods["verbs"].as_array().unwrap().len(), 8);
        let status = find(&list, "pods/status");
        assert_eq!(status["verbs"], json!(["get", "patch", "update"]));
        assert_eq!(status["singularName"], "");
        assert!(status.get("group").is_none());
        assert_eq!(find(&list, "pods/binding")["verbs"], json!(["create"]));
        let eviction = find(&list, "pods/eviction");
        assert_eq!(
            (&eviction["group"], &eviction["version"], &eviction["kind"]),
            (&json!("policy"), &json!("v1"), &json!("Eviction"))
        );
        assert_eq!(
            find(&list, "namespaces/finalize")["verbs"],
            json!(["update"])
        );
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn apps_resource_list_has_scale_as_autoscaling() {
        let list = resource_list("apps", "v1").unwrap();
        assert_eq!(list["apiVersion"], "v1");
        assert_eq!(list["groupVersion"], "apps/v1");
        let scale = find(&list, "deployments/scale");
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
        assert!(resource_list("apps", "v2").is_none());
        assert!(resource_list("batch", "v1").is_none());
    }

    #[test]
    fn group_list_has_preferred_versions_and_no_core() {
        let list = api_group_list();
        let groups = list["groups"].as_array().unwrap();
        assert!(groups.iter().all(|g| g["name"] != ""));
        let apps = groups.iter().find(|g| g["name"] == "apps").unwrap();
        assert_eq!(
            apps["preferredVersion"],
            json!({"groupVersion": "apps/v1", "version": "v1"})
        );
        let group = api_group("coordination.k8s.io").unwrap();
        assert_eq!(group["kind"], "APIGroup");
        assert_eq!(
            group["versions"][0]["groupVersion"],
            "coordination.k8s.io/v1"
        );
        assert!(api_group("").is_none());
        assert!(api_group("batch").is_none());
    }
}
