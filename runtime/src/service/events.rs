//! The runtime's event stream: container exits and OOM kills, plus life-cycle changes.

use std::time::SystemTime;

use tokio::sync::broadcast;

use super::{ContainerId, SandboxId};

/// Events a subscriber can fall behind by before it is told it lagged.
pub const EVENT_BUFFER: usize = 1024;

/// Something that happened to a container or sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeEvent {
    /// A container was created.
    ContainerCreated {
        /// The container.
        id: ContainerId,
        /// Its sandbox.
        sandbox_id: SandboxId,
        /// When.
        at: SystemTime,
    },
    /// A container's process started.
    ContainerStarted {
        /// The container.
        id: ContainerId,
        /// Host pid of the process.
        pid: u32,
        /// When.
        at: SystemTime,
    },
    /// A container's process exited.
    ContainerExited {
        /// The container.
        id: ContainerId,
        /// Its exit code.
        exit_code: i32,
        /// When.
        at: SystemTime,
    },
    /// The OOM killer killed a process of the container; an exit follows if it was pid 1.
    ContainerOom {
        /// The container.
        id: ContainerId,
        /// When.
        at: SystemTime,
    },
    /// A container was removed.
    ContainerRemoved {
        /// The container.
        id: ContainerId,
        /// When.
        at: SystemTime,
    },
    /// A sandbox was stopped; its namespaces are released.
    SandboxStopped {
        /// The sandbox.
        id: SandboxId,
        /// When.
        at: SystemTime,
    },
}

impl RuntimeEvent {
    /// The container the event is about, if any.
    pub fn container_id(&self) -> Option<&ContainerId> {
        match self {
            RuntimeEvent::ContainerCreated { id, .. }
            | RuntimeEvent::ContainerStarted { id, .. }
            | RuntimeEvent::ContainerExited { id, .. }
            | RuntimeEvent::ContainerOom { id, .. }
            | RuntimeEvent::ContainerRemoved { id, .. } => Some(id),
            RuntimeEvent::SandboxStopped { .. } => None,
        }
    }
}

/// Why no event could be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventStreamError {
    /// The subscriber fell behind and `missed` events were dropped; relist to catch up.
    #[error("event subscriber fell behind by {missed} events; relist to catch up")]
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
    /// The runtime shut the stream down.
    #[error("event stream closed")]
    Closed,
}

/// The sending side of the event stream, kept by a runtime implementation.
#[derive(Debug, Clone)]
pub struct EventHub {
    tx: broadcast::Sender<RuntimeEvent>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    /// A hub buffering [`EVENT_BUFFER`] events per subscriber.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(EVENT_BUFFER);
        Self { tx }
    }

    /// Sends an event to every current subscriber; without subscribers it is dropped.
    pub fn publish(&self, event: RuntimeEvent) {
        tracing::debug!(
            ?event,
            subscribers = self.tx.receiver_count(),
            "runtime event"
        );
        // An error only means nobody listens right now.
        let _ = self.tx.send(event);
    }

    /// A new subscriber that sees every event published from now on.
    pub fn subscribe(&self) -> RuntimeEvents {
        RuntimeEvents {
            rx: self.tx.subscribe(),
        }
    }
}

/// One subscriber's stream of [`RuntimeEvent`]s.
#[derive(Debug)]
pub struct RuntimeEvents {
    rx: broadcast::Receiver<RuntimeEvent>,
}

impl RuntimeEvents {
    /// Waits for the next event.
    pub async fn recv(&mut self) -> Result<RuntimeEvent, EventStreamError> {
        self.rx.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(missed) => EventStreamError::Lagged { missed },
            broadcast::error::RecvError::Closed => EventStreamError::Closed,
        })
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Result<Option<RuntimeEvent>, EventStreamError> {
        match self.rx.try_recv() {
            Ok(event) => Ok(Some(event)),
            Err(broadcast::error::TryRecvError::Empty) => Ok(None),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                Err(EventStreamError::Lagged { missed })
            }
            Err(broadcast::error::TryRecvError::Closed) => Err(EventStreamError::Closed),
        }
    }

    /// Every event queued right now, without waiting.
    pub fn drain(&mut self) -> Result<Vec<RuntimeEvent>, EventStreamError> {
        let mut events = Vec::new();
        while let Some(event) = self.try_recv()? {
            events.push(event);
        }
        Ok(events)
    }
}
