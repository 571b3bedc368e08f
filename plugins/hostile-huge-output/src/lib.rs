//! Hostile: `eligible` answers with 32 KiB of JSON, twice the default output limit (cheap to
//! produce, so fuel does not stop it first).

use touchstone_plugin_sdk::{Eligibility, EligibleContext, export_plugin};

fn eligible(_ctx: EligibleContext) -> Eligibility {
    Eligibility::from([("x".repeat(32 << 10), true)])
}

export_plugin! { eligible: eligible }
