//! JSON bodies of lists. Plain lists (`PodList`, …) are written straight from stored bytes:
//! each matching object is copied with its `resourceVersion` spliced in, so a large list never
//! holds every object decoded nor a second copy of its items. Label selectors read only
//! `metadata.labels`; field selectors and unusual stored bytes decode the object.

use serde_json::{json, Value};

use crate::registry::KindInfo;
use crate::store::KeyValue;

use super::failure::Failure;
use super::negotiate::Representation;
use super::object::{self, StoredObject};
use super::params::ListParams;
use super::read::{self, PageSink};
use super::route::ResourcePath;
use super::ApiState;

/// Bytes reserved per object beyond its stored size (`,"resourceVersion":"…"` and a comma).
const PER_ITEM_SLACK: usize = 48;

/// The JSON body of a `GET` of a collection in representation `repr`.
pub async fn list(
    state: &ApiState,
    path: &ResourcePath,
    params: &ListParams,
    repr: Representation,
) -> Result<Vec<u8>, Failure> {
    if repr != Representation::Object {
        let value = read::list(state, path, params, repr).await?;
        return Ok(serde_json::to_vec(&value).expect("a JSON value always serializes"));
    }
    let mut sink = Items {
        kind: path.kind,
        params,
        out: Vec::new(),
        count: 0,
    };
    let end = read::scan_page(state, path, params, &mut sink).await?;
    let mut head = Vec::new();
    head.extend_from_slice(b"{\"kind\":");
    write_value(&mut head, &Value::String(path.kind.list_kind()));
    head.extend_from_slice(b",\"apiVersion\":");
    write_value(&mut head, &Value::String(path.kind.api_version()));
    head.extend_from_slice(b",\"metadata\":");
    write_value(&mut head, &read::list_metadata(end));
    head.extend_from_slice(b",\"items\":[");
    Ok(enclose(sink.out, &head, b"]}"))
}

/// `head`, then `items`, then `tail`, reusing the buffer of `items` (one move, no copy of it).
fn enclose(mut items: Vec<u8>, head: &[u8], tail: &[u8]) -> Vec<u8> {
    let len = items.len();
    items.reserve_exact(head.len() + tail.len());
    items.resize(len + head.len(), 0);
    items.copy_within(0..len, head.len());
    items[..head.len()].copy_from_slice(head);
    items.extend_from_slice(tail);
    items
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    serde_json::to_writer(out, value).expect("a JSON value always serializes");
}

/// Writes matching objects, comma-separated, into one buffer.
struct Items<'a> {
    kind: &'a KindInfo,
    params: &'a ListParams,
    out: Vec<u8>,
    count: usize,
}

impl Items<'_> {
    fn separate(&mut self) {
        if self.count > 0 {
            self.out.push(b',');
        }
        self.count += 1;
    }

    /// Whether the stored object matches, deciding from its bytes; `None` when it must be decoded.
    fn matches_in_place(&self, obj: &StoredObject) -> Option<bool> {
        if !self.params.fields.is_empty() {
            return None;
        }
        if self.params.labels.is_empty() {
            return Some(true);
        }
        let labels = obj.labels().ok()?;
        Some(
            self.params
                .labels
                .matches(&json!({"metadata": {"labels": labels}})),
        )
    }

    fn offer_decoded(&mut self, kv: &KeyValue) -> Result<bool, Failure> {
        let obj = object::from_kv(kv)?;
        let keep = self.params.matches(self.kind, &obj);
        if keep {
            self.separate();
            write_value(&mut self.out, &obj);
        }
        Ok(keep)
    }
}

impl PageSink for Items<'_> {
    fn batch(&mut self, kvs: &[KeyValue]) {
        if self.params.selects_everything() {
            let size: usize = kvs.iter().map(|kv| kv.value.len() + PER_ITEM_SLACK).sum();
            self.out.reserve(size + 1024);
        }
    }

    fn offer(&mut self, kv: KeyValue) -> Result<bool, Failure> {
        let Some(obj) = StoredObject::locate(&kv.value) else {
            return self.offer_decoded(&kv);
        };
        match self.matches_in_place(&obj) {
            Some(true) => {
                self.separate();
                obj.write_json(&mut self.out, kv.mod_revision);
                Ok(true)
            }
            Some(false) => Ok(false),
            None => self.offer_decoded(&kv),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::route::{self, Route};
    use crate::server::test_support::TestServer;

    /// The list body as built from decoded objects.
    async fn by_value(s: &TestServer, path: &ResourcePath, params: &ListParams) -> Vec<u8> {
        let value = read::list(&s.state, path, params, Representation::Object)
            .await
            .map_err(|_| "list failed")
            .unwrap();
        serde_json::to_vec(&value).unwrap()
    }

    #[tokio::test]
    async fn plain_list_bodies_equal_the_decoded_lists() {
        let s = TestServer::new().await;
        for (ns, name, app) in [
            ("default", "a", "web"),
            ("default", "b", "db"),
            ("other", "c", "web"),
        ] {
            s.put_pod(ns, name, app).await;
        }
        let kind = crate::registry::by_resource("", "v1", "pods").unwrap();
        for (uri, query) in [
            ("/api/v1/pods", ""),
            ("/api/v1/pods", "labelSelector=app=web"),
            ("/api/v1/pods", "labelSelector=app!=web,!missing"),
            ("/api/v1/pods", "fieldSelector=metadata.namespace=other"),
            ("/api/v1/namespaces/default/pods", "limit=1"),
            (
                "/api/v1/namespaces/default/pods",
                "limit=1&labelSelector=app",
            ),
            ("/api/v1/namespaces/empty/pods", ""),
        ] {
            let Ok(Route::Resource(path)) = route::parse(uri) else {
                panic!("{uri} is a resource path");
            };
            let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let params = crate::server::params::parse(kind, &query, false).unwrap();
            let fast = list(&s.state, &path, &params, Representation::Object)
                .await
                .map_err(|_| "list failed")
                .unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(by_value(&s, &path, &params).await).unwrap(),
                "{uri}?{query:?}"
            );
        }
    }

    #[test]
    fn enclose_puts_head_and_tail_around_items() {
        let items = b"{\"a\":1},{\"b\":2}".to_vec();
        let out = enclose(items, b"{\"items\":[", b"]}");
        assert_eq!(out, b"{\"items\":[{\"a\":1},{\"b\":2}]}");
        assert_eq!(enclose(Vec::new(), b"[", b"]"), b"[]");
    }
}
