//! Hostile: `eligible` keeps allocating memory until something stops it. It reserves 1 MiB at
//! a time and writes one byte of each, so the memory limit, not fuel, is what it meets.

use touchstone_plugin_sdk::{Eligibility, EligibleContext, export_plugin};

fn eligible(ctx: EligibleContext) -> Eligibility {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = Vec::with_capacity(1 << 20);
        block.push(1u8);
        hoard.push(block);
        if hoard.len() == usize::MAX {
            return ctx.all(true);
        }
    }
}

export_plugin! { eligible: eligible }
