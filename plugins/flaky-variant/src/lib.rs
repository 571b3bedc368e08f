//! Hostile-ish test plugin for the plugin-health guardrail: every unit is eligible, and the
//! `payload` hook traps (a panic is the wasm `unreachable` trap under `panic = "abort"`)
//! whenever one of the assigned variants is the binding's `fail_variant` — a plugin broken for
//! one variant only. Without `fail_variant` it never fails and leaves payloads as they are.

use serde::Deserialize;
use touchstone_plugin_sdk::{
    Eligibility, EligibleContext, PayloadContext, Payloads, export_plugin,
};

#[derive(Deserialize, Default)]
struct Config {
    #[serde(default)]
    fail_variant: Option<String>,
}

fn eligible(ctx: EligibleContext<Config>) -> Eligibility {
    ctx.all(true)
}

fn payload(ctx: PayloadContext<Config>) -> Payloads {
    let broken = ctx.config.fail_variant.as_deref();
    if ctx
        .assignments
        .iter()
        .any(|assignment| Some(assignment.variant.as_str()) == broken)
    {
        panic!("this plugin is broken for variant {broken:?}");
    }
    Payloads::new()
}

export_plugin! { eligible: eligible, payload: payload }
