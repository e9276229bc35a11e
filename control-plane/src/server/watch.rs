//! Watch streams: initial events, store events mapped through the watcher's selectors,
//! bookmarks, timeouts, and an expired resourceVersion answered in-stream with a 410 `Status`.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use http::{header, HeaderValue, Response};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::{interval_at, sleep_until, Instant};

use crate::api::ApiError;
use crate::printers;
use crate::store::{Revision, StoreError, WatchStream};

use super::body::{self, Body};
use super::failure::{self, Failure};
use super::negotiate::Representation;
use super::params::{ListParams, RvMatch};
use super::read::{self, list_prefix};
use super::route::ResourcePath;
use super::watch_events::{self, WatchEventType};
use super::ApiState;

/// Renders objects of one watch as asked (Tables carry column definitions only once).
struct Renderer {
    path: ResourcePath,
    repr: Representation,
    params: ListParams,
    columns_sent: bool,
}

impl Renderer {
    fn render(&mut self, obj: Value) -> Value {
        match self.repr {
            Representation::Table => {
                let rv = obj
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                let mut table = printers::table(
                    self.path.kind,
                    std::slice::from_ref(&obj),
                    json!({"resourceVersion": rv}),
                    self.params.include,
                    Utc::now(),
                );
                if self.columns_sent {
                    table["columnDefinitions"] = json!([]);
                }
                self.columns_sent = true;
                table
            }
            repr => read::render_one(self.path.kind, obj, repr, self.params.include),
        }
    }

    fn bookmark(&self, revision: Revision, initial_events_end: bool) -> Value {
        watch_events::bookmark(
            self.path.kind.kind,
            &self.path.kind.api_version(),
            revision,
            initial_events_end,
        )
    }
}

/// How the stream begins.
struct Start {
    initial: Vec<Value>,
    end_bookmark: bool,
    revision: Revision,
    stream: Result<WatchStream, Value>,
}

/// Starts a watch; errors found before streaming are answered as ordinary `Status` responses.
pub async fn start(
    state: Arc<ApiState>,
    path: ResourcePath,
    params: ListParams,
    repr: Representation,
) -> Result<Response<Body>, Failure> {
    let start = prepare(&state, &path, &params).await?;
    let (tx, body) = body::channel(64);
    let timeout = params.timeout.unwrap_or(state.settings.watch_timeout);
    let renderer = Renderer {
        path,
        repr,
        params,
        columns_sent: false,
    };
    tokio::spawn(pump(state, renderer, start, tx, timeout));
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(body::JSON));
    Ok(resp)
}

async fn prepare(
    state: &ApiState,
    path: &ResourcePath,
    params: &ListParams,
) -> Result<Start, Failure> {
    let store = &state.store;
    let prefix = list_prefix(path);
    let send_initial = params
        .send_initial_events
        .unwrap_or(matches!(params.resource_version, None | Some(0)));
    let (initial, revision) = if send_initial {
        if let Some(rv) = params.resource_version {
            let current = store.current_revision();
            if rv > current {
                return Err(Failure::TooLargeResourceVersion {
                    requested: rv,
                    current,
                });
            }
        }
        let mut all = params.clone();
        all.limit = None;
        all.continue_token = None;
        all.resource_version = None;
        all.rv_match = RvMatch::Unset;
        let page = read::read_page(state, path, &all).await?;
        (page.items, page.revision)
    } else {
        let rev = match params.resource_version {
            Some(rv) if rv > 0 => rv,
            _ => store.current_revision(),
        };
        (Vec::new(), rev)
    };
    let stream = match store.watch(&prefix, revision).await {
        Ok(s) => Ok(s),
        Err(StoreError::Compacted { requested, oldest }) => Err(ApiError::Expired(format!(
            "too old resource version: {requested} ({})",
            oldest - 1
        ))
        .to_status()),
        Err(e) => return Err(failure::from_store(e)),
    };
    Ok(Start {
        initial,
        end_bookmark: params.send_initial_events == Some(true),
        revision,
        stream,
    })
}

async fn send(tx: &mpsc::Sender<Bytes>, kind: WatchEventType, obj: &Value) -> bool {
    tx.send(Bytes::from(watch_events::encode(kind, obj)))
        .await
        .is_ok()
}

async fn pump(
    state: Arc<ApiState>,
    mut renderer: Renderer,
    start: Start,
    tx: mpsc::Sender<Bytes>,
    timeout: std::time::Duration,
) {
    let deadline = Instant::now() + timeout;
    for obj in start.initial {
        let obj = renderer.render(obj);
        if !send(&tx, WatchEventType::Added, &obj).await {
            return;
        }
    }
    let mut last = start.revision;
    if start.end_bookmark
        && !send(
            &tx,
            WatchEventType::Bookmark,
            &renderer.bookmark(last, true),
        )
        .await
    {
        return;
    }
    let mut stream = match start.stream {
        Ok(s) => s,
        Err(status) => {
            send(&tx, WatchEventType::Error, &status).await;
            return;
        }
    };
    let every = state
        .settings
        .bookmark_interval
        .max(std::time::Duration::from_millis(10));
    let mut ticks = interval_at(Instant::now() + every, every);
    let bookmarks = renderer.params.allow_bookmarks;
    let kind = renderer.path.kind;
    loop {
        tokio::select! {
            _ = tx.closed() => return,
            _ = sleep_until(deadline) => {
                if bookmarks {
                    send(&tx, WatchEventType::Bookmark, &renderer.bookmark(last, false)).await;
                }
                return;
            }
            _ = ticks.tick(), if bookmarks => {
                if !send(&tx, WatchEventType::Bookmark, &renderer.bookmark(last, false)).await {
                    return;
                }
            }
            event = stream.events.recv() => match event {
                None => return,
                Some(Ok(event)) => {
                    last = event.revision();
                    let mapped = watch_events::map_event(&event, |o| renderer.params.matches(kind, o));
                    match mapped {
                        Ok(Some((t, obj))) => {
                            let obj = renderer.render(obj);
                            if !send(&tx, t, &obj).await {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, revision = last, "watch event does not decode");
                        }
                    }
                }
                Some(Err(StoreError::Compacted { requested, oldest })) => {
                    let status = ApiError::Expired(format!("too old resource version: {requested} ({})", oldest - 1)).to_status();
                    send(&tx, WatchEventType::Error, &status).await;
                    return;
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, resource = kind.plural, "watch ends");
                    return;
                }
            }
        }
    }
}
