//! The runtime's side of the event stream: holds a container's exit and OOM events while its
//! start is being recorded, so subscribers always see `ContainerStarted` before them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::service::{EventHub, RuntimeEvent, RuntimeEvents};

/// Publishes runtime events in an order a subscriber can trust.
#[derive(Debug, Clone, Default)]
pub(crate) struct Publisher {
    hub: EventHub,
    starting: Arc<Mutex<HashMap<String, Vec<RuntimeEvent>>>>,
}

impl Publisher {
    /// Publishes `event` now, or holds it while its container's start is in flight.
    pub(crate) fn publish(&self, event: RuntimeEvent) {
        if let Some(id) = event.container_id() {
            let mut starting = self.starting.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(held) = starting.get_mut(id.as_str()) {
                held.push(event);
                return;
            }
        }
        self.hub.publish(event);
    }

    /// A new subscriber that sees every event published from now on.
    pub(crate) fn subscribe(&self) -> RuntimeEvents {
        self.hub.subscribe()
    }

    /// Holds the container's events until the returned guard publishes its start (or drops).
    pub(crate) fn starting(&self, container_id: &str) -> StartGuard<'_> {
        self.starting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(container_id.to_string())
            .or_default();
        StartGuard {
            publisher: self,
            container_id: container_id.to_string(),
            done: false,
        }
    }

    /// Publishes `first` (if any), then the held events of the container, and stops holding.
    fn release(&self, container_id: &str, first: Option<RuntimeEvent>) {
        let mut starting = self.starting.lock().unwrap_or_else(PoisonError::into_inner);
        let held = starting.remove(container_id).unwrap_or_default();
        // Publishing under the lock keeps a concurrent exit from overtaking the held ones.
        for event in first.into_iter().chain(held) {
            self.hub.publish(event);
        }
    }
}

/// A container start in flight; releases the held events when finished or dropped.
#[derive(Debug)]
pub(crate) struct StartGuard<'a> {
    publisher: &'a Publisher,
    container_id: String,
    done: bool,
}

impl StartGuard<'_> {
    /// Publishes the start, then whatever was held meanwhile.
    pub(crate) fn started(mut self, event: RuntimeEvent) {
        self.done = true;
        self.publisher.release(&self.container_id, Some(event));
    }
}

impl Drop for StartGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.publisher.release(&self.container_id, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::service::ContainerId;

    fn exited(id: &str) -> RuntimeEvent {
        RuntimeEvent::ContainerExited {
            id: ContainerId::new(id),
            exit_code: 3,
            at: SystemTime::UNIX_EPOCH,
        }
    }

    fn started(id: &str) -> RuntimeEvent {
        RuntimeEvent::ContainerStarted {
            id: ContainerId::new(id),
            pid: 7,
            at: SystemTime::UNIX_EPOCH,
        }
    }

    fn drain(events: &mut RuntimeEvents) -> Vec<RuntimeEvent> {
        std::iter::from_fn(|| events.try_recv().unwrap()).collect()
    }

    #[test]
    fn an_exit_during_the_start_is_published_after_the_start() {
        let publisher = Publisher::default();
        let mut events = publisher.subscribe();
        let guard = publisher.starting("a");
        publisher.publish(exited("a"));
        publisher.publish(exited("b"));
        assert_eq!(drain(&mut events), vec![exited("b")]);
        guard.started(started("a"));
        assert_eq!(drain(&mut events), vec![started("a"), exited("a")]);
        publisher.publish(exited("a"));
        assert_eq!(drain(&mut events), vec![exited("a")]);
    }

    #[test]
    fn a_failed_start_releases_the_held_events() {
        let publisher = Publisher::default();
        let mut events = publisher.subscribe();
        let guard = publisher.starting("a");
        publisher.publish(exited("a"));
        drop(guard);
        assert_eq!(drain(&mut events), vec![exited("a")]);
    }
}
