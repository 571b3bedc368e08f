//! Hostile: `eligible` recurses without bound, in a way the compiler cannot turn into a loop.

use touchstone_plugin_sdk::{Eligibility, EligibleContext, export_plugin};

fn walk(n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    walk(n - 1).rotate_left(3) ^ n
}

fn eligible(ctx: EligibleContext) -> Eligibility {
    let depth = std::hint::black_box(u32::MAX);
    ctx.all(walk(depth) == 7)
}

export_plugin! { eligible: eligible }
