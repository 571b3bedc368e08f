//! Example plugin for `pdp.gallery`: only products with enough customer photos take part, and
//! the payload says how many photos to show on the shopper's device.

use serde::Deserialize;
use std::collections::BTreeMap;
use touchstone_plugin_sdk::{
    Eligibility, EligibleContext, PayloadContext, Payloads, Value, export_plugin, json,
};

#[derive(Deserialize)]
struct Config {
    /// Fewest customer photos a product needs to be in the test.
    min_photos: u64,
    /// Photos to show per device (`mobile`, `tablet`, `desktop`).
    photos_by_device: BTreeMap<String, u64>,
    /// Photos to show on a device not in the table.
    default_photos: u64,
}

fn photo_count(attributes: &touchstone_plugin_sdk::ContextMap) -> u64 {
    attributes
        .get("photo_count")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn eligible(ctx: EligibleContext<Config>) -> Eligibility {
    ctx.all(photo_count(&ctx.attributes) >= ctx.config.min_photos)
}

fn payload(ctx: PayloadContext<Config>) -> Payloads {
    let device = ctx
        .attributes
        .get("device")
        .and_then(Value::as_str)
        .unwrap_or("");
    let wanted = ctx
        .config
        .photos_by_device
        .get(device)
        .copied()
        .unwrap_or(ctx.config.default_photos);
    let photos = wanted.min(photo_count(&ctx.attributes));
    ctx.assignments
        .iter()
        .map(|assignment| {
            let mut payload = match &assignment.payload {
                Value::Object(map) => map.clone(),
                _ => Default::default(),
            };
            payload.insert("photos".into(), json!(photos));
            (assignment.experiment.clone(), Value::Object(payload))
        })
        .collect()
}

export_plugin! {
    eligible: eligible,
    payload: payload,
}
