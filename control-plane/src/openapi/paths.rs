//! `paths` of a group-version document: every resource and subresource operation with
//! upstream's operation ids, actions, group-version-kinds, parameters and media types.

use serde_json::{json, Map, Value};

use super::params;
use super::schemas::{Definitions, REF_PREFIX};
use super::types::{DELETE_OPTIONS, PATCH, STATUS, WATCH_EVENT};
use crate::discovery::subresources::{self, Subresource};
use crate::registry::{KindInfo, KINDS};

/// Media types of a single-object response.
const OBJECT_MEDIA: &[&str] = &[
    "application/json",
    "application/vnd.kubernetes.protobuf",
    "application/yaml",
];
/// Media types of a list or watch response.
const STREAM_MEDIA: &[&str] = &[
    "application/json",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf",
    "application/vnd.kubernetes.protobuf;stream=watch",
    "application/yaml",
];
/// Request body types of a patch.
pub const PATCH_MEDIA: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// `CoreV1`, `AppsV1`, `DiscoveryV1`, `RbacAuthorizationV1`: the group-version part of
/// operation ids.
pub fn op_group_version(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    let group = group.strip_suffix(".k8s.io").unwrap_or(group);
    let mut out: String = group.split('.').map(capitalize).collect();
    out.push_str(&capitalize(version));
    out
}

/// `core_v1`, `apps_v1`, `rbacAuthorization_v1`: the operation tag.
pub fn tag(group: &str, version: &str) -> String {
    let gv = op_group_version(group, version);
    let group_part = &gv[..gv.len() - version.len()];
    let mut chars = group_part.chars();
    let lower: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(chars)
        .collect();
    format!("{lower}_{version}")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .into_iter()
        .chain(chars)
        .collect()
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{REF_PREFIX}{name}")})
}

fn content(media: &[&str], schema: &str) -> Value {
    let map: Map<String, Value> = media
        .iter()
        .map(|m| (m.to_string(), json!({"schema": reference(schema)})))
        .collect();
    Value::Object(map)
}

fn responses(codes: &[(&str, &str)], media: &[&str], schema: &str) -> Value {
    let map: Map<String, Value> = codes
        .iter()
        .map(|(code, description)| {
            (
                code.to_string(),
                json!({"description": description, "content": content(media, schema)}),
            )
        })
        .collect();
    Value::Object(map)
}

fn body(media: &[&str], schema: &str) -> Value {
    json!({"content": content(media, schema), "required": true})
}

/// The group-version-kind and tag every operation of one resource path carries.
struct Target<'a> {
    tag: String,
    gvk: Value,
    schema: &'a str,
}

/// One operation.
struct Op<'a> {
    action: &'a str,
    id: String,
    description: String,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Value,
}

impl Op<'_> {
    fn render(self, target: &Target) -> Value {
        let mut op = Map::new();
        op.insert("description".into(), self.description.into());
        op.insert("operationId".into(), self.id.into());
        if !self.params.is_empty() {
            op.insert("parameters".into(), self.params.into());
        }
        if let Some(body) = self.body {
            op.insert("requestBody".into(), body);
        }
        op.insert("responses".into(), self.responses);
        op.insert("tags".into(), json!([target.tag]));
        op.insert("x-kubernetes-action".into(), self.action.into());
        op.insert("x-kubernetes-group-version-kind".into(), target.gvk.clone());
        Value::Object(op)
    }
}

/// Collects path items in insertion order.
#[derive(Default)]
struct PathSet(Map<String, Value>);

impl PathSet {
    fn add(&mut self, path: String, target: &Target, ops: Vec<(&str, Op)>, params: Vec<Value>) {
        if ops.is_empty() {
            return;
        }
        let mut item = Map::new();
        for (method, op) in ops {
            item.insert(method.into(), op.render(target));
        }
        item.insert("parameters".into(), params.into());
        self.0.insert(path, Value::Object(item));
    }
}

/// Every path of `group`/`version` whose kinds have schemas in `defs`.
pub fn paths(defs: &Definitions, group: &str, version: &str) -> Map<String, Value> {
    let mut set = PathSet::default();
    let mut kinds: Vec<&'static KindInfo> = KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    kinds.sort_by_key(|k| k.plural);
    for kind in kinds {
        add_kind(&mut set, defs, kind);
    }
    set.0
}

fn scope_paths(kind: &KindInfo) -> (String, Vec<Value>) {
    let base = prefix(kind.group, kind.version);
    if kind.namespaced {
        (
            format!("{base}/namespaces/{{namespace}}/{}", kind.plural),
            vec![params::namespace()],
        )
    } else {
        (format!("{base}/{}", kind.plural), vec![])
    }
}

fn with(mut first: Vec<Value>, rest: Vec<Value>) -> Vec<Value> {
    first.extend(rest);
    first
}

fn add_kind(set: &mut PathSet, defs: &Definitions, kind: &'static KindInfo) {
    let (Some(schema), Some(list_schema)) = (
        defs.name_of(kind.group, kind.version, kind.kind),
        defs.name_of(kind.group, kind.version, &kind.list_kind()),
    ) else {
        return;
    };
    let gv = op_group_version(kind.group, kind.version);
    let scope = if kind.namespaced { "Namespaced" } else { "" };
    let k = kind.kind;
    let has = |verb: &str| kind.verbs.contains(&verb);
    let target = Target {
        tag: tag(kind.group, kind.version),
        gvk: json!({"group": kind.group, "kind": k, "version": kind.version}),
        schema,
    };
    let (collection, scope_params) = scope_paths(kind);
    let item = format!("{collection}/{{name}}");
    let base = prefix(kind.group, kind.version);

    let mut ops = Vec::new();
    if has("list") {
        ops.push((
            "get",
            Op {
                action: "list",
                id: format!("list{gv}{scope}{k}"),
                description: format!("list or watch objects of kind {k}"),
                params: params::list(),
                body: None,
                responses: responses(&[("200", "OK")], STREAM_MEDIA, list_schema),
            },
        ));
    }
    if has("create") {
        ops.push((
            "post",
            Op {
                action: "post",
                id: format!("create{gv}{scope}{k}"),
                description: format!("create a {k}"),
                params: params::write(),
                body: Some(body(&["*/*"], schema)),
                responses: responses(
                    &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                    OBJECT_MEDIA,
                    schema,
                ),
            },
        ));
    }
    if has("deletecollection") {
        ops.push((
            "delete",
            Op {
                action: "deletecollection",
                id: format!("delete{gv}Collection{scope}{k}"),
                description: format!("delete collection of {k}"),
                params: params::delete_collection(),
                body: Some(body(&["*/*"], DELETE_OPTIONS)),
                responses: responses(&[("200", "OK")], OBJECT_MEDIA, STATUS),
            },
        ));
    }
    set.add(
        collection.clone(),
        &target,
        ops,
        with(scope_params.clone(), vec![params::pretty()]),
    );

    let mut ops = Vec::new();
    if has("get") {
        ops.push((
            "get",
            Op {
                action: "get",
                id: format!("read{gv}{scope}{k}"),
                description: format!("read the specified {k}"),
                params: vec![],
                body: None,
                responses: responses(&[("200", "OK")], OBJECT_MEDIA, schema),
            },
        ));
    }
    if has("update") {
        ops.push((
            "put",
            Op {
                action: "put",
                id: format!("replace{gv}{scope}{k}"),
                description: format!("replace the specified {k}"),
                params: params::write(),
                body: Some(body(&["*/*"], schema)),
                responses: responses(&[("200", "OK"), ("201", "Created")], OBJECT_MEDIA, schema),
            },
        ));
    }
    if has("delete") {
        ops.push((
            "delete",
            Op {
                action: "delete",
                id: format!("delete{gv}{scope}{k}"),
                description: format!("delete a {k}"),
                params: params::delete(),
                body: Some(body(&["*/*"], DELETE_OPTIONS)),
                responses: responses(&[("200", "OK"), ("202", "Accepted")], OBJECT_MEDIA, STATUS),
            },
        ));
    }
    if has("patch") {
        ops.push((
            "patch",
            Op {
                action: "patch",
                id: format!("patch{gv}{scope}{k}"),
                description: format!("partially update the specified {k}"),
                params: params::patch(),
                body: Some(body(PATCH_MEDIA, PATCH)),
                responses: responses(&[("200", "OK"), ("201", "Created")], OBJECT_MEDIA, schema),
            },
        ));
    }
    let item_params = with(
        with(vec![params::name(k)], scope_params.clone()),
        vec![params::pretty()],
    );
    set.add(item.clone(), &target, ops, item_params.clone());

    for sub in subresources::of(kind) {
        add_subresource(set, defs, kind, &sub, &item, &item_params);
    }

    if has("list") && kind.namespaced {
        let op = Op {
            action: "list",
            id: format!("list{gv}{k}ForAllNamespaces"),
            description: format!("list or watch objects of kind {k}"),
            params: vec![],
            body: None,
            responses: responses(&[("200", "OK")], STREAM_MEDIA, list_schema),
        };
        set.add(
            format!("{base}/{}", kind.plural),
            &target,
            vec![("get", op)],
            with(params::list(), vec![params::pretty()]),
        );
    }
    if has("watch") {
        let watch_base = format!("{base}/watch{}", &collection[base.len()..]);
        let list_params = with(params::list(), vec![params::pretty()]);
        let op = Op {
            action: "watchlist",
            id: format!("watch{gv}{scope}{k}List"),
            description: format!("watch individual changes to a list of {k}. deprecated: use the 'watch' parameter with a list operation instead."),
            params: vec![],
            body: None,
            responses: responses(&[("200", "OK")], STREAM_MEDIA, WATCH_EVENT),
        };
        set.add(
            watch_base.clone(),
            &target,
            vec![("get", op)],
            with(scope_params.clone(), list_params.clone()),
        );
        let op = Op {
            action: "watch",
            id: format!("watch{gv}{scope}{k}"),
            description: format!("watch changes to an object of kind {k}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."),
            params: vec![],
            body: None,
            responses: responses(&[("200", "OK")], STREAM_MEDIA, WATCH_EVENT),
        };
        set.add(
            format!("{watch_base}/{{name}}"),
            &target,
            vec![("get", op)],
            with(
                with(vec![params::name(k)], scope_params.clone()),
                list_params.clone(),
            ),
        );
        if kind.namespaced {
            let op = Op {
                action: "watchlist",
                id: format!("watch{gv}{k}ListForAllNamespaces"),
                description: format!("watch individual changes to a list of {k}. deprecated: use the 'watch' parameter with a list operation instead."),
                params: vec![],
                body: None,
                responses: responses(&[("200", "OK")], STREAM_MEDIA, WATCH_EVENT),
            };
            set.add(
                format!("{base}/watch/{}", kind.plural),
                &target,
                vec![("get", op)],
                list_params,
            );
        }
    }
}

fn add_subresource(
    set: &mut PathSet,
    defs: &Definitions,
    kind: &'static KindInfo,
    sub: &Subresource,
    item: &str,
    item_params: &[Value],
) {
    let Some(schema) = defs.name_of(sub.group, sub.version, sub.kind) else {
        return;
    };
    let gv = op_group_version(kind.group, kind.version);
    let scope = if kind.namespaced { "Namespaced" } else { "" };
    let k = kind.kind;
    let suffix = capitalize(sub.name);
    let target = Target {
        tag: tag(kind.group, kind.version),
        gvk: json!({"group": sub.group, "kind": sub.kind, "version": sub.version}),
        schema,
    };
    let has = |verb: &str| sub.verbs.contains(&verb);
    let name = sub.name;
    let mut ops = Vec::new();
    if has("get") {
        ops.push((
            "get",
            Op {
                action: "get",
                id: format!("read{gv}{scope}{k}{suffix}"),
                description: format!("read {name} of the specified {k}"),
                params: vec![],
                body: None,
                responses: responses(&[("200", "OK")], OBJECT_MEDIA, target.schema),
            },
        ));
    }
    if has("create") {
        ops.push((
            "post",
            Op {
                action: "post",
                id: format!("create{gv}{scope}{k}{suffix}"),
                description: format!("create {name} of a {k}"),
                params: params::write(),
                body: Some(body(&["*/*"], target.schema)),
                responses: responses(
                    &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                    OBJECT_MEDIA,
                    target.schema,
                ),
            },
        ));
    }
    if has("update") {
        ops.push((
            "put",
            Op {
                action: "put",
                id: format!("replace{gv}{scope}{k}{suffix}"),
                description: format!("replace {name} of the specified {k}"),
                params: params::write(),
                body: Some(body(&["*/*"], target.schema)),
                responses: responses(
                    &[("200", "OK"), ("201", "Created")],
                    OBJECT_MEDIA,
                    target.schema,
                ),
            },
        ));
    }
    if has("patch") {
        ops.push((
            "patch",
            Op {
                action: "patch",
                id: format!("patch{gv}{scope}{k}{suffix}"),
                description: format!("partially update {name} of the specified {k}"),
                params: params::patch(),
                body: Some(body(PATCH_MEDIA, PATCH)),
                responses: responses(
                    &[("200", "OK"), ("201", "Created")],
                    OBJECT_MEDIA,
                    target.schema,
                ),
            },
        ));
    }
    let mut path_params = item_params.to_vec();
    path_params[0] = params::name(sub.kind);
    set.add(format!("{item}/{name}"), &target, ops, path_params);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_id_parts_follow_upstream() {
        assert_eq!(op_group_version("", "v1"), "CoreV1");
        assert_eq!(op_group_version("apps", "v1"), "AppsV1");
        assert_eq!(op_group_version("discovery.k8s.io", "v1"), "DiscoveryV1");
        assert_eq!(
            op_group_version("rbac.authorization.k8s.io", "v1beta1"),
            "RbacAuthorizationV1beta1"
        );
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(tag("coordination.k8s.io", "v1"), "coordination_v1");
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
    }
}
