//! Failed authentications per client address: a token bucket (kept as its "theoretical arrival
//! time", GCRA) that each failure drains. While an address's bucket is empty, every attempt
//! from it to authenticate is refused unheard, right or wrong — otherwise a guesser would still
//! learn from the one that succeeds. Successes cost nothing, so a busy shop behind one address
//! is never slowed by its own good keys.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Addresses remembered before the map is swept of those whose bucket is full again.
const SWEEP_AT: usize = 10_000;

pub struct FailureThrottle {
    /// Time one failure takes to be forgiven.
    interval: Duration,
    /// How far ahead of now an address's arrival time may run: `burst` failures' worth.
    tolerance: Duration,
    /// Address → when its bucket is full again ("theoretical arrival time").
    buckets: Mutex<HashMap<IpAddr, Instant>>,
}

impl FailureThrottle {
    /// `per_minute` failures are forgiven per minute, after a first `burst`. `per_minute` 0
    /// turns the throttle off.
    pub fn new(per_minute: u32, burst: u32) -> Option<FailureThrottle> {
        (per_minute > 0).then(|| {
            let interval = Duration::from_secs(60) / per_minute;
            FailureThrottle {
                interval,
                tolerance: interval * burst.saturating_sub(1),
                buckets: Mutex::new(HashMap::new()),
            }
        })
    }

    /// How long `address` must wait before it may try again, if it must; at least one
    /// second, so `Retry-After` never says 0.
    pub fn blocked_for(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let full_at = *buckets.get(&address)?;
        let allowed_from = full_at.checked_sub(self.tolerance)?;
        (allowed_from > now).then(|| (allowed_from - now).max(Duration::from_secs(1)))
    }

    /// Counts one failed attempt from `address`.
    pub fn failed(&self, address: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, full_at| *full_at > now);
        }
        let full_at = buckets.entry(address).or_insert(now);
        *full_at = (*full_at).max(now) + self.interval;
    }
}

/// Whole seconds to announce in `Retry-After`: rounded up, never 0.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_burst_and_forgiven_over_time() {
        let throttle = FailureThrottle::new(60, 3).expect("on");
        let (address, other): (IpAddr, IpAddr) = (
            "192.0.2.1".parse().expect("ip"),
            "192.0.2.2".parse().expect("ip"),
        );
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.blocked_for(address, now), None);
            throttle.failed(address, now);
        }
        let wait = throttle.blocked_for(address, now).expect("blocked");
        assert!(wait >= Duration::from_secs(1), "{wait:?}");
        assert_eq!(throttle.blocked_for(other, now), None, "per address");
        // One failure is forgiven per second: a second later the address may try once more.
        assert_eq!(
            throttle.blocked_for(address, now + Duration::from_secs(1)),
            None
        );
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(2_500)), 3);
        assert!(FailureThrottle::new(0, 10).is_none());
    }
}
