//! The clock the services read: passed in with the application state, so no service reads the
//! system time itself (the domain below takes time as a parameter) and a test can hold time
//! still.

use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};
use touchstone_model::Timestamp;

/// What time it is now.
pub trait Clock: Debug + Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock, in whole milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(millis)
    }
}
