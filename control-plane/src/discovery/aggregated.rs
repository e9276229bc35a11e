//! Aggregated discovery (`apidiscovery.k8s.io` `APIGroupDiscoveryList`) for `/api` and
//! `/apis`, and the Accept-header negotiation that selects it.

use serde_json::{json, Map, Value};

use super::subresources;
use crate::registry::{self, KindInfo, KINDS};

/// Content type of aggregated discovery v2 responses.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Content type of aggregated discovery v2beta1 responses.
pub const AGGREGATED_V2BETA1_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Version of the aggregated discovery document a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregatedVersion {
    /// `apidiscovery.k8s.io/v2` (kubectl ≥ 1.30, kube-rs).
    V2,
    /// `apidiscovery.k8s.io/v2beta1` (kubectl 1.27–1.29).
    V2Beta1,
}

impl AggregatedVersion {
    /// The exact Content-Type of a response in this version.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::V2 => AGGREGATED_CONTENT_TYPE,
            Self::V2Beta1 => AGGREGATED_V2BETA1_CONTENT_TYPE,
        }
    }

    /// `apiVersion` of the document.
    pub fn api_version(self) -> &'static str {
        match self {
            Self::V2 => "apidiscovery.k8s.io/v2",
            Self::V2Beta1 => "apidiscovery.k8s.io/v2beta1",
        }
    }
}

/// Which aggregated discovery version `accept` asks for, `None` when it asks for the legacy
/// documents. Only JSON media ranges count; the highest `q` wins, ties go to the first listed.
pub fn requested_version(accept: &str) -> Option<AggregatedVersion> {
    let mut best: Option<(f32, AggregatedVersion)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        if !media.eq_ignore_ascii_case("application/json") {
            continue;
        }
        let (mut g, mut v, mut as_, mut q) = ("", "", "", 1.0f32);
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "g" => g = value,
                "v" => v = value,
                "as" => as_ = value,
                "q" => q = value.parse().unwrap_or(0.0),
                _ => {}
            }
        }
        if g != "apidiscovery.k8s.io" || as_ != "APIGroupDiscoveryList" || q <= 0.0 {
            continue;
        }
        let version = match v {
            "v2" => AggregatedVersion::V2,
            "v2beta1" => AggregatedVersion::V2Beta1,
            _ => continue,
        };
        if best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, version));
        }
    }
    best.map(|(_, version)| version)
}

fn str_list(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

fn resource(kind: &'static KindInfo) -> Value {
    let mut r = Map::new();
    r.insert("resource".into(), kind.plural.into());
    r.insert(
        "responseKind".into(),
        json!({"group": "", "version": "", "kind": kind.kind}),
    );
    let scope = if kind.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    };
    r.insert("scope".into(), scope.into());
    r.insert("singularResource".into(), kind.singular.into());
    r.insert("verbs".into(), str_list(kind.verbs));
    if !kind.short_names.is_empty() {
        r.insert("shortNames".into(), str_list(kind.short_names));
    }
    if !kind.categories.is_empty() {
        r.insert("categories".into(), str_list(kind.categories));
    }
    let subs: Vec<Value> = subresources::of(kind)
        .into_iter()
        .map(|sub| {
            let (group, version) = if sub.is_foreign(kind) {
                (sub.group, sub.version)
            } else {
                ("", "")
            };
            json!({
                "subresource": sub.name,
                "responseKind": {"group": group, "version": version, "kind": sub.kind},
                "verbs": sub.verbs,
            })
        })
        .collect();
    if !subs.is_empty() {
        r.insert("subresources".into(), subs.into());
    }
    Value::Object(r)
}

fn group_discovery(group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let mut kinds: Vec<&'static KindInfo> = KINDS
                .iter()
                .filter(|k| k.group == group && k.version == *version)
                .collect();
            kinds.sort_by_key(|k| k.plural);
            json!({
                "version": version,
                "resources": kinds.into_iter().map(resource).collect::<Vec<_>>(),
                "freshness": "Current",
            })
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// The aggregated discovery document for `/api` (`legacy`) or `/apis` in `version`.
pub fn aggregated_in(legacy: bool, version: AggregatedVersion) -> Value {
    let items: Vec<Value> = registry::groups()
        .into_iter()
        .filter(|(g, _)| g.is_empty() == legacy)
        .map(|(g, versions)| group_discovery(g, &versions))
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": version.api_version(),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_is_exactly_upstreams() {
        assert_eq!(
            AGGREGATED_CONTENT_TYPE,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
        assert_eq!(
            AggregatedVersion::V2Beta1.content_type(),
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
        );
    }

    #[test]
    fn accept_negotiation_picks_first_json_aggregated_range() {
        let client_go = "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(requested_version(client_go), Some(AggregatedVersion::V2));
        let old = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(requested_version(old), Some(AggregatedVersion::V2Beta1));
        let spaced = "application/json; g=apidiscovery.k8s.io; v=v2beta1; as=APIGroupDiscoveryList; q=0.5, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0.9";
        assert_eq!(requested_version(spaced), Some(AggregatedVersion::V2));
        assert_eq!(requested_version("application/json, */*"), None);
        assert_eq!(requested_version(""), None);
        let refused = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0";
        assert_eq!(requested_version(refused), None);
        let unknown = "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList";
        assert_eq!(requested_version(unknown), None);
    }

    #[test]
    fn legacy_document_lists_core_resources() {
        let doc = aggregated_in(true, AggregatedVersion::V2);
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
        let items = doc["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0]["metadata"].get("name").is_none());
        let v1 = &items[0]["versions"][0];
        assert_eq!(v1["version"], "v1");
        assert_eq!(v1["freshness"], "Current");
        let resources = v1["resources"].as_array().unwrap();
        let pods = resources.iter().find(|r| r["resource"] == "pods").unwrap();
        assert_eq!(
            pods["responseKind"],
            json!({"group": "", "version": "", "kind": "Pod"})
        );
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["singularResource"], "pod");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        let eviction = pods["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subresource"] == "eviction")
            .unwrap();
        assert_eq!(
            eviction["responseKind"],
            json!({"group": "policy", "version": "v1", "kind": "Eviction"})
        );
        assert_eq!(eviction["verbs"], json!(["create"]));
        let nodes = resources.iter().find(|r| r["resource"] == "nodes").unwrap();
        assert_eq!(nodes["scope"], "Cluster");
    }

    #[test]
    fn groups_document_names_each_group() {
        let doc = aggregated_in(false, AggregatedVersion::V2Beta1);
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        let items = doc["items"].as_array().unwrap();
        let names: Vec<&str> = items
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["apps", "discovery.k8s.io", "coordination.k8s.io"]);
        let deploy = &items[0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap()
            .clone();
        let scale = &deploy["subresources"][0];
        assert_eq!(scale["subresource"], "scale");
        assert_eq!(
            scale["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
    }
}
