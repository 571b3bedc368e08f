//! When the planned sample will be in: the remaining units divided by the recent exposure rate
//! (new exposures per hour over the last seven days, or since the first exposure when the
//! phase is younger). Arithmetic on counts, not a statistic; the decision card shows it.

use std::collections::BTreeMap;
use touchstone_model::{Aggregates, Timestamp};

const HOUR_MS: i64 = 3_600_000;
/// The rate is read over the last week: recent enough to follow a change in traffic, long
/// enough to cover a weekly rhythm.
const WINDOW_HOURS: i64 = 7 * 24;

/// Every variant's new exposures per hour, summed.
pub fn exposures_by_hour(aggregates: &Aggregates) -> BTreeMap<i64, u64> {
    let mut hours = BTreeMap::new();
    for variant in &aggregates.variants {
        for (hour, units) in &variant.exposures_by_hour {
            *hours.entry(*hour).or_insert(0) += units;
        }
    }
    hours
}

/// The moment `planned` units will have been exposed at the recent rate; `None` when nothing
/// has been exposed recently (no rate to extrapolate) or when the sample is in.
pub fn planned_sample_in(
    by_hour: &BTreeMap<i64, u64>,
    units: u64,
    planned: u64,
    now: Timestamp,
) -> Option<Timestamp> {
    if units >= planned {
        return None;
    }
    let now_hour = now.as_millis().div_euclid(HOUR_MS);
    let first = *by_hour.keys().next()?;
    let start = first.max(now_hour - WINDOW_HOURS + 1);
    let hours = (now_hour - start + 1).max(1) as f64;
    let recent: u64 = by_hour.range(start..=now_hour).map(|(_, n)| n).sum();
    if recent == 0 {
        return None;
    }
    let per_hour = recent as f64 / hours;
    Some(now.plus_hours((planned - units) as f64 / per_hour))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_hour(hour: i64) -> Timestamp {
        Timestamp::from_millis(hour * HOUR_MS + 30 * 60 * 1000)
    }

    #[test]
    fn the_remaining_units_at_the_recent_rate() {
        // 100 units an hour for the last ten hours; 1,000 in, 3,000 planned: 20 hours more.
        let by_hour: BTreeMap<i64, u64> = (491..=500).map(|h| (h, 100)).collect();
        let eta = planned_sample_in(&by_hour, 1_000, 3_000, at_hour(500)).expect("a rate");
        assert_eq!(eta, at_hour(500).plus_hours(20.0));
    }

    #[test]
    fn only_the_last_week_sets_the_rate() {
        // A burst long ago does not speed up the estimate: 10 an hour for the last week.
        let mut by_hour: BTreeMap<i64, u64> = (833..=1000).map(|h| (h, 10)).collect();
        by_hour.insert(10, 100_000);
        let eta = planned_sample_in(&by_hour, 101_680, 101_780, at_hour(1000)).expect("a rate");
        assert_eq!(eta, at_hour(1000).plus_hours(10.0));
    }

    #[test]
    fn no_estimate_without_recent_exposures_or_once_the_sample_is_in() {
        let quiet: BTreeMap<i64, u64> = [(10, 500)].into_iter().collect();
        assert_eq!(planned_sample_in(&quiet, 500, 1_000, at_hour(1000)), None);
        assert_eq!(
            planned_sample_in(&BTreeMap::new(), 0, 1_000, at_hour(1000)),
            None
        );
        let busy: BTreeMap<i64, u64> = [(1000, 500)].into_iter().collect();
        assert_eq!(planned_sample_in(&busy, 1_000, 1_000, at_hour(1000)), None);
    }
}
