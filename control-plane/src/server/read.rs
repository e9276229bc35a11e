//! The read path: get and list, rendered as objects, Tables or metadata only.

use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::api::ApiError;
use crate::printers::{self, IncludeObject};
use crate::registry::KindInfo;
use crate::store::{KeyValue, ListOptions, StoreError};

use super::continuation::ContinueToken;
use super::failure::{self, Failure};
use super::negotiate::Representation;
use super::object;
use super::params::{ListParams, RvMatch};
use super::route::ResourcePath;
use super::ApiState;

/// Message of a 410 for a list at an exact resourceVersion that was compacted (upstream's).
const LIST_TOO_OLD: &str = "The resourceVersion for the provided list is too old.";

/// `PartialObjectMetadata` of an object.
pub fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Store key prefix of the objects a collection path lists.
pub fn list_prefix(path: &ResourcePath) -> String {
    match &path.namespace {
        Some(ns) if path.kind.namespaced => path.kind.namespace_prefix(ns),
        _ => path.kind.prefix(),
    }
}

/// Renders one object as asked.
pub fn render_one(
    kind: &KindInfo,
    obj: Value,
    repr: Representation,
    include: IncludeObject,
) -> Value {
    match repr {
        Representation::Object => obj,
        Representation::Metadata => partial(&obj),
        Representation::Table => {
            let meta = json!({"resourceVersion": obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null)});
            printers::table(kind, std::slice::from_ref(&obj), meta, include, Utc::now())
        }
    }
}

/// `GET` of one object.
pub async fn get(
    state: &ApiState,
    path: &ResourcePath,
    name: &str,
    repr: Representation,
    include: IncludeObject,
) -> Result<Value, Failure> {
    let key = path.kind.key(path.namespace.as_deref(), name);
    let (kv, _) = state.store.get(&key).await.map_err(failure::from_store)?;
    let kv = kv.ok_or_else(|| ApiError::NotFound {
        group: path.kind.group.to_string(),
        resource: path.kind.plural.to_string(),
        name: name.to_string(),
    })?;
    Ok(render_one(path.kind, object::from_kv(&kv)?, repr, include))
}

/// One page of matching objects.
pub struct Page {
    /// Matching objects in key order.
    pub items: Vec<Value>,
    /// The revision the list was read at.
    pub revision: i64,
    /// Token for the next page, if any.
    pub continue_token: Option<String>,
    /// Objects left beyond this page (only without selectors).
    pub remaining: Option<usize>,
}

/// What a page read ends with besides its items.
pub struct PageEnd {
    /// The revision the list was read at.
    pub revision: i64,
    /// Token for the next page, if any.
    pub continue_token: Option<String>,
    /// Objects left beyond this page (only without selectors).
    pub remaining: Option<usize>,
}

/// Receives the stored objects of a page read, in key order.
pub trait PageSink {
    /// Called with each batch read from the store before its objects are offered.
    fn batch(&mut self, _kvs: &[KeyValue]) {}

    /// Offers one stored object; answers whether it matched and was kept.
    fn offer(&mut self, kv: KeyValue) -> Result<bool, Failure>;
}

/// Collects the matching objects as decoded values.
struct Decoded<'a> {
    kind: &'a KindInfo,
    params: &'a ListParams,
    items: Vec<Value>,
}

impl PageSink for Decoded<'_> {
    fn offer(&mut self, kv: KeyValue) -> Result<bool, Failure> {
        let obj = object::from_kv(&kv)?;
        let keep = self.params.matches(self.kind, &obj);
        if keep {
            self.items.push(obj);
        }
        Ok(keep)
    }
}

/// Reads the matching objects of a collection, honouring paging and resourceVersion rules.
pub async fn read_page(
    state: &ApiState,
    path: &ResourcePath,
    params: &ListParams,
) -> Result<Page, Failure> {
    let mut sink = Decoded {
        kind: path.kind,
        params,
        items: Vec::new(),
    };
    let end = scan_page(state, path, params, &mut sink).await?;
    Ok(Page {
        items: sink.items,
        revision: end.revision,
        continue_token: end.continue_token,
        remaining: end.remaining,
    })
}

/// Offers the stored objects of a collection to `sink` until a page is full, honouring paging
/// and resourceVersion rules.
pub async fn scan_page(
    state: &ApiState,
    path: &ResourcePath,
    params: &ListParams,
    sink: &mut impl PageSink,
) -> Result<PageEnd, Failure> {
    let prefix = list_prefix(path);
    let store = &state.store;
    let (mut revision, mut start_after) = match &params.continue_token {
        Some(t) => (
            (t.revision != -1).then_some(t.revision),
            Some(t.start_after(&prefix)),
        ),
        None => match (params.resource_version, params.rv_match) {
            (None | Some(0), _) => (None, None),
            (Some(rv), RvMatch::Exact) => (Some(rv), None),
            (Some(rv), _) => {
                let current = store.current_revision();
                if rv > current {
                    return Err(Failure::TooLargeResourceVersion {
                        requested: rv,
                        current,
                    });
                }
                (None, None)
            }
        },
    };
    let compacted = |start_after: &Option<String>| match (&params.continue_token, start_after) {
        (Some(_), Some(key)) => Failure::ExpiredContinue {
            token: ContinueToken::encode(&prefix, key, -1),
        },
        _ => Failure::Api(ApiError::Expired(LIST_TOO_OLD.into())),
    };
    let mut kept = 0;
    loop {
        let want = params.limit.map(|l| l - kept);
        let res = match store
            .list(ListOptions {
                prefix: prefix.clone(),
                start_after: start_after.clone(),
                limit: want,
                revision,
            })
            .await
        {
            Ok(r) => r,
            Err(StoreError::Compacted { .. }) => return Err(compacted(&start_after)),
            Err(e) => return Err(failure::from_store(e)),
        };
        revision = Some(res.revision);
        let read_any = !res.kvs.is_empty();
        if let Some(last) = res.kvs.last() {
            start_after = Some(last.key.clone());
        }
        sink.batch(&res.kvs);
        // Consumed one by one so each stored copy is freed once offered.
        for kv in res.kvs {
            if sink.offer(kv)? {
                kept += 1;
            }
        }
        let full = params.limit.is_some_and(|l| kept >= l);
        if !res.more || full || !read_any {
            let more = res.more && read_any;
            return Ok(PageEnd {
                revision: res.revision,
                continue_token: more.then(|| {
                    ContinueToken::encode(
                        &prefix,
                        start_after.as_deref().unwrap_or(""),
                        res.revision,
                    )
                }),
                remaining: (more && params.selects_everything()).then_some(res.remaining),
            });
        }
    }
}

/// `GET` of a collection.
pub async fn list(
    state: &ApiState,
    path: &ResourcePath,
    params: &ListParams,
    repr: Representation,
) -> Result<Value, Failure> {
    let page = read_page(state, path, params).await?;
    let meta = list_metadata(PageEnd {
        revision: page.revision,
        continue_token: page.continue_token,
        remaining: page.remaining,
    });
    Ok(match repr {
        Representation::Object => json!({
            "kind": path.kind.list_kind(),
            "apiVersion": path.kind.api_version(),
            "metadata": meta,
            "items": page.items,
        }),
        Representation::Metadata => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "items": page.items.iter().map(partial).collect::<Vec<_>>(),
        }),
        Representation::Table => {
            printers::table(path.kind, &page.items, meta, params.include, Utc::now())
        }
    })
}

/// The `metadata` of a list answer.
pub fn list_metadata(end: PageEnd) -> Value {
    let mut meta = Map::new();
    meta.insert(
        "resourceVersion".into(),
        Value::String(end.revision.to_string()),
    );
    if let Some(t) = end.continue_token {
        meta.insert("continue".into(), Value::String(t));
    }
    if let Some(n) = end.remaining {
        meta.insert("remainingItemCount".into(), json!(n));
    }
    Value::Object(meta)
}
