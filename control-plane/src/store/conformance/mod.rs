//! The conformance suite every store backend runs: etcd's semantics as the API server uses them.
//!
//! Each case is an async function taking a [`StoreFactory`] that opens a fresh, empty store.
//! A backend runs them all with [`store_conformance_tests!`](crate::store_conformance_tests),
//! which expands to one `#[tokio::test]` per case.

mod concurrency;
mod reads;
mod watch;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use super::{Event, Store, StoreOptions, WatchStream};

pub use concurrency::*;
pub use reads::*;
pub use watch::*;
pub use writes::*;

/// Opens a fresh, empty store with the given options.
pub trait StoreFactory {
    /// A new empty store.
    fn open(&self, opts: StoreOptions) -> Arc<dyn Store>;
}

impl<F: Fn(StoreOptions) -> Arc<dyn Store>> StoreFactory for F {
    fn open(&self, opts: StoreOptions) -> Arc<dyn Store> {
        self(opts)
    }
}

/// Expands to one `#[tokio::test]` per conformance case; `$factory` is a function returning a
/// [`StoreFactory`].
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:path) => {
        $crate::store_conformance_tests!(@cases $factory;
            create_if_absent_refuses_an_existing_key,
            get_returns_the_key_and_the_current_revision,
            update_succeeds_at_the_expected_revision,
            update_at_a_stale_revision_conflicts,
            update_of_a_missing_key_is_not_found,
            delete_without_expected_revision_removes_the_key,
            delete_with_expected_revision_checks_it,
            revisions_are_global_and_create_revision_is_kept,
            list_returns_prefix_matches_in_key_order,
            list_pages_with_start_after_and_limit,
            list_at_a_past_revision_rolls_back_later_writes,
            list_at_a_compacted_or_future_revision_fails,
            watch_from_now_sees_only_later_events,
            watch_from_a_past_revision_replays_then_follows,
            watch_filters_by_prefix,
            delete_events_carry_the_last_value_and_prev,
            compaction_refuses_older_watches_and_reads,
            history_bound_compacts_the_oldest_revisions,
            slow_watcher_is_cut_off_with_overflow,
            concurrent_creates_of_one_key_have_one_winner,
            concurrent_writers_get_unique_dense_revisions
        );
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let factory = $factory();
                $crate::store::conformance::$case(&factory).await;
            }
        )*
    };
}

/// How long a case waits for an event before failing instead of hanging.
const EVENT_DEADLINE: Duration = Duration::from_secs(30);

/// The next event of `watch`, failing the case if the stream ends or errs.
pub(crate) async fn next_event(watch: &mut WatchStream) -> Event {
    match tokio::time::timeout(EVENT_DEADLINE, watch.events.recv()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(error))) => panic!("watch failed: {error}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no event within {EVENT_DEADLINE:?}"),
    }
}

/// A store with default options.
pub(crate) fn fresh(factory: &impl StoreFactory) -> Arc<dyn Store> {
    factory.open(StoreOptions::default())
}
