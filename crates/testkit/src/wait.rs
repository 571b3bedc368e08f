//! Waiting for something another process (or task) does: poll a check until it holds, within a
//! bound. The bound is a limit on waiting, never an assertion about speed.

use std::time::{Duration, Instant};

/// Polls `check` every 50 ms until it holds; false if it never did within `bound`.
pub fn eventually(bound: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
