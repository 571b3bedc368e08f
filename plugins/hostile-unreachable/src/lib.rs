//! Hostile: `eligible` panics; with `panic = "abort"` that is the wasm `unreachable` trap.

use touchstone_plugin_sdk::{Eligibility, EligibleContext, export_plugin};

fn eligible(ctx: EligibleContext) -> Eligibility {
    if ctx.experiments.len() < usize::MAX {
        panic!("hostile plugin gives up");
    }
    ctx.all(true)
}

export_plugin! { eligible: eligible }
