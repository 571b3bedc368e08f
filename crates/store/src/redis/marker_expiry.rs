//! When processed markers go away on a single Redis. A marker (`touchstone:ev:ID`) is written
//! without a TTL: a key with one costs Redis a second dictionary (searched, cleared and written
//! per key, and grown by a key per event), which was a sixth of the events script's time
//! (decision 016). Instead the script that claims markers appends them to the queue of the hour
//! their time is up (`touchstone:evq:HOUR`, a list) and records that hour in a sorted set
//! (`touchstone:evq`); the server's sweeper ([`sweep`]) deletes a queue's markers, a chunk per
//! atomic call, once its hour and one more have passed. A marker therefore lives at least as
//! long as its TTL, and at most two hours (plus the sweeper's period) longer.
//!
//! On a Cluster markers keep their TTL (`SET … EX`, written by the caller after the counting
//! calls): a queue would sit on one node while its markers spread over all of them.

use super::connection::{Handle, store_error};
use super::keys;
use crate::StoreError;
use redis::Script;
use std::sync::LazyLock;
use touchstone_model::Timestamp;

/// The span of one queue: markers whose time is up in the same hour share it.
const HOUR_MS: i64 = 3_600_000;

/// Markers deleted by one sweeping call: bounds how long Redis is busy with one call.
const CHUNK: usize = 500;

/// Due hours read per round of [`sweep`].
const HOURS_PER_READ: usize = 16;

static SWEEP_QUEUE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/sweep_markers.lua")));

/// The queue of a marker claimed at `now` that must live `ttl_seconds`, named by the hour it
/// ends: queue h lists the markers whose time is up in [h − 1, h) hours since the epoch.
pub(super) fn hour_of_expiry(now: Timestamp, ttl_seconds: u64) -> i64 {
    let ttl_ms = i64::try_from(ttl_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    now.as_millis().saturating_add(ttl_ms).div_euclid(HOUR_MS) + 1
}

/// Now by this machine's wall clock — the clock the server's sweeper reads too (`SystemClock`).
pub(super) fn wall_clock() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_millis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}

/// The latest queue that may be swept at `now`: it ended at least an hour ago, a margin for
/// servers whose clocks disagree.
fn latest_sweepable_hour(now: Timestamp) -> i64 {
    now.as_millis().div_euclid(HOUR_MS) - 1
}

/// Deletes every marker whose hour has passed at `now`; answers how many were deleted. Safe to
/// run on several servers at once (each chunk is taken and deleted in one atomic call) and to
/// interrupt at any point (what is left is swept next time).
pub(super) async fn sweep(handle: &mut Handle, now: Timestamp) -> Result<u64, StoreError> {
    let latest = latest_sweepable_hour(now);
    let mut deleted = 0u64;
    loop {
        let due: Vec<i64> = redis::cmd("ZRANGEBYSCORE")
            .arg(keys::MARKER_HOURS)
            .arg("-inf")
            .arg(latest)
            .arg("LIMIT")
            .arg(0)
            .arg(HOURS_PER_READ)
            .query_async(handle)
            .await
            .map_err(store_error)?;
        if due.is_empty() {
            return Ok(deleted);
        }
        for hour in due {
            deleted += sweep_hour(handle, hour).await?;
        }
    }
}

/// Empties one hour's queue, a chunk per call, and removes the hour from the set.
async fn sweep_hour(handle: &mut Handle, hour: i64) -> Result<u64, StoreError> {
    let queue = keys::marker_queue(hour);
    let mut deleted = 0u64;
    loop {
        let (chunk, left): (u64, u64) = SWEEP_QUEUE
            .key(&queue)
            .key(keys::MARKER_HOURS)
            .arg(hour)
            .arg(CHUNK)
            .invoke_async(handle)
            .await
            .map_err(store_error)?;
        deleted += chunk;
        if left == 0 {
            return Ok(deleted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = HOUR_MS;

    #[test]
    fn a_marker_is_queued_in_the_first_hour_that_ends_after_its_time_is_up() {
        let now = Timestamp::from_millis(10 * HOUR + 1);
        // Up at 12h + 1 ms: in [12h, 13h), the queue that ends at 13h.
        assert_eq!(hour_of_expiry(now, 7200), 13);
        // Up exactly at 12h: the same queue, never one that ends before.
        assert_eq!(hour_of_expiry(Timestamp::from_millis(10 * HOUR), 7200), 13);
        assert_eq!(
            hour_of_expiry(Timestamp::from_millis(10 * HOUR - 1), 7200),
            12
        );
        assert_eq!(hour_of_expiry(now, u64::MAX), i64::MAX / HOUR + 1);
    }

    #[test]
    fn a_queue_is_swept_only_an_hour_after_its_own_hour_ended() {
        // Queue 13 holds markers up before 13h; it is swept from 14h on.
        let hour = hour_of_expiry(Timestamp::from_millis(10 * HOUR), 7200);
        let sweepable = |at: i64| latest_sweepable_hour(Timestamp::from_millis(at)) >= hour;
        assert!(!sweepable(14 * HOUR - 1));
        assert!(sweepable(14 * HOUR));
    }
}
