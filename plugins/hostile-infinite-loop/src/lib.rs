//! Hostile: `eligible` never returns. Fuel (or, without fuel, the epoch deadline) stops it.

use touchstone_plugin_sdk::{Eligibility, EligibleContext, export_plugin};

fn eligible(_ctx: EligibleContext) -> Eligibility {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

export_plugin! { eligible: eligible }
