//! Daily snapshots: at the turn of each calendar day (in the configured time zone) the
//! aggregates of every running experiment are saved under the day that ended, so results can
//! be read as they stood at the end of each day.

use crate::state::AppState;
use jiff::tz::TimeZone;
use std::time::Duration;
use touchstone_model::Timestamp;
use touchstone_store::Snapshot;

/// Calendar days in one time zone.
#[derive(Debug, Clone)]
pub struct Days {
    zone: TimeZone,
}

impl Days {
    /// `name` is an IANA time zone (`UTC`, `Europe/Berlin`).
    pub fn new(name: &str) -> Result<Days, jiff::Error> {
        Ok(Days {
            zone: TimeZone::get(name)?,
        })
    }

    /// The day `at` falls on, as `YYYY-MM-DD`.
    pub fn day_of(&self, at: Timestamp) -> String {
        match jiff::Timestamp::from_millisecond(at.as_millis()) {
            Ok(instant) => instant.to_zoned(self.zone.clone()).date().to_string(),
            // Outside jiff's range (years beyond ±9999): never a real clock reading.
            Err(_) => "0000-01-01".to_owned(),
        }
    }

    /// The first instant after `day` (`YYYY-MM-DD`): the next day's midnight, or its first
    /// instant when a DST change skips midnight. `None` for a malformed day.
    pub fn end_of(&self, day: &str) -> Option<Timestamp> {
        let date: jiff::civil::Date = day.parse().ok()?;
        let next = date.tomorrow().ok()?.to_zoned(self.zone.clone()).ok()?;
        Some(Timestamp::from_millis(next.timestamp().as_millisecond()))
    }
}

/// Saves `day`'s snapshot of one experiment from its current aggregates (replacing any).
pub async fn take(
    state: &AppState,
    experiment: &touchstone_model::Experiment,
    day: String,
) -> Result<Snapshot, touchstone_store::StoreError> {
    let aggregates = state.store.load_aggregates(experiment).await?;
    let snapshot = Snapshot { day, aggregates };
    state.store.save_snapshot(experiment, &snapshot).await?;
    Ok(snapshot)
}

/// Runs for the server's life: every `check` it looks at the clock, and when the day has
/// turned since the last look it snapshots every running experiment under the day that ended.
/// A failed snapshot is retried at the next check (with slightly later aggregates) rather than
/// skipped. Several servers sharing a store write the same day: the last write wins, and all
/// of them describe the same moment to within one check interval.
pub async fn keep_taking(state: AppState, days: Days, check: Duration) {
    let mut open_day = days.day_of(state.clock.now());
    let mut ticker = tokio::time::interval(check);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let today = days.day_of(state.clock.now());
        if today == open_day {
            continue;
        }
        if snapshot_running(&state, &open_day).await {
            open_day = today;
        }
    }
}

/// Snapshots every running experiment under `day`; false when any failed.
async fn snapshot_running(state: &AppState, day: &str) -> bool {
    let catalog = state.catalog.load();
    let mut complete = true;
    for experiment in catalog.running() {
        match take(state, experiment, day.to_owned()).await {
            Ok(_) => tracing::info!(experiment = experiment.key(), day, "daily snapshot saved"),
            Err(error) => {
                complete = false;
                tracing::warn!(experiment = experiment.key(), day, %error, "daily snapshot failed; retrying at the next check");
            }
        }
    }
    complete
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23T23:30:00Z: still the 23rd in UTC, already the 24th in Berlin (UTC+1 in
    // November) and only 15:30 on the 23rd in Los Angeles.
    const LATE_EVENING_UTC: i64 = 1_795_476_600_000;

    #[test]
    fn a_moment_falls_on_the_day_of_the_configured_zone() {
        let at = Timestamp::from_millis(LATE_EVENING_UTC);
        assert_eq!(Days::new("UTC").expect("zone").day_of(at), "2026-11-23");
        assert_eq!(
            Days::new("Europe/Berlin").expect("zone").day_of(at),
            "2026-11-24"
        );
        assert_eq!(
            Days::new("America/Los_Angeles").expect("zone").day_of(at),
            "2026-11-23"
        );
    }

    #[test]
    fn a_day_ends_at_the_next_local_midnight() {
        // 2026-11-24T00:00:00Z = 1_795_478_400_000; Berlin's midnight is an hour earlier.
        let utc = Days::new("UTC").expect("zone");
        assert_eq!(
            utc.end_of("2026-11-23"),
            Some(Timestamp::from_millis(1_795_478_400_000))
        );
        let berlin = Days::new("Europe/Berlin").expect("zone");
        assert_eq!(
            berlin.end_of("2026-11-23"),
            Some(Timestamp::from_millis(1_795_478_400_000 - 3_600_000))
        );
        assert_eq!(
            berlin.day_of(Timestamp::from_millis(1_795_478_400_000 - 3_600_000)),
            "2026-11-24"
        );
        assert_eq!(utc.end_of("23.11.2026"), None);
    }

    #[test]
    fn an_unknown_zone_is_refused() {
        assert!(Days::new("Mars/Olympus_Mons").is_err());
    }
}
