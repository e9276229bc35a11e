//! Reporting service ports the dataplane could not program as Kubernetes Events on their
//! Service (reason `FailedToProgram`), best effort.

use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::dataplane::PortFailure;

/// The Event reason for a service port that could not be programmed.
pub const FAILED_TO_PROGRAM: &str = "FailedToProgram";

/// Where port failures are reported.
pub trait EventSink: Send + Sync {
    /// Reports one failure; must not block (publishing happens in the background).
    fn failed_to_program(&self, failure: &PortFailure);
}

/// Publishes `events.k8s.io/v1` Events through kube-rs; errors are logged, never returned.
pub struct KubeEvents {
    recorder: Arc<Recorder>,
}

impl KubeEvents {
    /// Events reported as controller `skiff-proxy`, instance `node`.
    pub fn new(client: kube::Client, node: &str) -> Self {
        let reporter = Reporter {
            controller: "skiff-proxy".into(),
            instance: (!node.is_empty()).then(|| node.to_string()),
        };
        Self {
            recorder: Arc::new(Recorder::new(client, reporter)),
        }
    }
}

impl EventSink for KubeEvents {
    /// Must run inside a tokio runtime.
    fn failed_to_program(&self, failure: &PortFailure) {
        let reference = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Service".into()),
            namespace: Some(failure.name.namespace.clone()),
            name: Some(failure.name.name.clone()),
            ..Default::default()
        };
        let event = Event {
            type_: EventType::Warning,
            reason: FAILED_TO_PROGRAM.into(),
            note: Some(truncate(
                &format!("cannot program {}: {}", failure.name, failure.reason),
                1024,
            )),
            action: "Program".into(),
            secondary: None,
        };
        let recorder = self.recorder.clone();
        let service = format!("{}/{}", failure.name.namespace, failure.name.name);
        tokio::spawn(async move {
            if let Err(error) = recorder.publish(&event, &reference).await {
                tracing::warn!(%service, %error, "cannot publish FailedToProgram event");
            }
        });
    }
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Keeps failures in memory; for tests.
#[derive(Debug, Clone, Default)]
pub struct RecordingEvents(Arc<Mutex<Vec<PortFailure>>>);

impl RecordingEvents {
    /// Every failure reported so far.
    pub fn reported(&self) -> Vec<PortFailure> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl EventSink for RecordingEvents {
    fn failed_to_program(&self, failure: &PortFailure) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(failure.clone());
    }
}
