//! The processed-marker sweeper: a background task that asks the store, once a minute, to
//! delete the event markers whose time is up (`Store::expire_event_markers`). On a single Redis
//! markers carry no TTL of their own (a TTL doubled Redis's dictionary work per event, decision
//! 016); without this task they would pile up. Every server runs it; the store makes that safe.

use crate::clock::Clock;
use crate::observe;
use std::sync::Arc;
use std::time::Duration;
use touchstone_store::Store;

/// Runs for the server's life: a sweep every `every`. A failed sweep is logged and retried at
/// the next tick; markers then live a little longer, which only makes a late retry a duplicate.
pub async fn keep_sweeping(store: Arc<dyn Store>, clock: Arc<dyn Clock>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        sweep(store.as_ref(), clock.as_ref()).await;
    }
}

/// One sweep: how many markers it deleted (0 after a failure, which is logged and counted in
/// `touchstone_store_errors_total{operation="expire_event_markers"}`).
pub async fn sweep(store: &dyn Store, clock: &dyn Clock) -> u64 {
    match store.expire_event_markers(clock.now()).await {
        Ok(0) => 0,
        Ok(deleted) => {
            observe::event_markers_swept(deleted);
            deleted
        }
        Err(error) => {
            observe::store_failure("expire_event_markers", &error);
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use touchstone_model::{Experiment, ExperimentSpec, OutcomeEvent, Timestamp};
    use touchstone_testkit::redis::RedisServer;

    #[derive(Debug)]
    struct At(i64);

    impl Clock for At {
        fn now(&self) -> Timestamp {
            Timestamp::from_millis(self.0)
        }
    }

    fn experiment() -> Arc<Experiment> {
        let spec: ExperimentSpec = serde_json::from_value(serde_json::json!({
            "key": "sweeper", "touchpoint": "sweeper.tp", "journey": ["view_item"],
            "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]
        }))
        .expect("spec");
        Arc::new(Experiment::new(spec).expect("valid"))
    }

    fn view(id: &str) -> OutcomeEvent {
        serde_json::from_value(serde_json::json!({
            "id": id, "unit_id": "u1", "name": "view_item", "timestamp": 1_795_428_000_000i64
        }))
        .expect("event")
    }

    #[tokio::test]
    async fn a_sweep_deletes_the_markers_whose_time_is_up_and_only_those() {
        let server = RedisServer::start();
        let store: Arc<dyn Store> = touchstone_store::open(&server.url()).await.expect("open");
        let events = [view("e1"), view("e2")];
        store
            .record_events(&[experiment()], &events)
            .await
            .expect("recorded");
        let today = At(clock_now());
        assert_eq!(sweep(store.as_ref(), &today).await, 0);
        assert_eq!(
            server
                .cli(&["EXISTS", "touchstone:ev:e1", "touchstone:ev:e2"])
                .trim(),
            "2"
        );
        // Past the longest window (none here) + 7 days of grace, and the queue's hour.
        let in_three_weeks = At(clock_now() + 21 * 24 * 3_600_000);
        assert_eq!(sweep(store.as_ref(), &in_three_weeks).await, 2);
        assert_eq!(
            server
                .cli(&["EXISTS", "touchstone:ev:e1", "touchstone:ev:e2"])
                .trim(),
            "0"
        );
    }

    #[tokio::test]
    async fn a_sweep_against_an_unreachable_store_reports_nothing_and_returns() {
        let server = RedisServer::start();
        let url = server.url();
        drop(server);
        let store: Arc<dyn Store> = touchstone_store::open(&url).await.expect("open");
        assert_eq!(sweep(store.as_ref(), &At(clock_now())).await, 0);
    }

    fn clock_now() -> i64 {
        crate::clock::SystemClock.now().as_millis()
    }
}
