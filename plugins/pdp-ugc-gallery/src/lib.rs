//! Example plugin for `pdp.gallery`: only products with enough customer photos take part, and
//! the payload says how many photos to show on the shopper's device.
//!
//! It takes the SDK's views ([`EligibleView`], [`PayloadView`]): the context read in place,
//! attributes looked up without building a map — most of a call's fuel otherwise.

use serde::Deserialize;
use std::collections::BTreeMap;
use touchstone_plugin_sdk::{
    Attributes, Eligibility, EligibleView, PayloadView, Payloads, Value, export_plugin, json,
};

/// `Clone`: the SDK deserializes it once per request and hands `payload` a copy.
#[derive(Clone, Deserialize)]
struct Config {
    /// Fewest customer photos a product needs to be in the test.
    min_photos: u64,
    /// Photos to show per device (`mobile`, `tablet`, `desktop`).
    photos_by_device: BTreeMap<String, u64>,
    /// Photos to show on a device not in the table.
    default_photos: u64,
}

fn photo_count(attributes: &Attributes<'_>) -> u64 {
    attributes
        .get("photo_count")
        .and_then(|count| count.as_u64())
        .unwrap_or(0)
}

fn eligible(ctx: EligibleView<Config>) -> Eligibility {
    ctx.all(photo_count(&ctx.attributes) >= ctx.config.min_photos)
}

fn payload(ctx: PayloadView<Config>) -> Payloads {
    let device = ctx
        .attributes
        .get("device")
        .and_then(|device| device.as_str());
    let wanted = device
        .and_then(|device| ctx.config.photos_by_device.get(device.as_ref()))
        .copied()
        .unwrap_or(ctx.config.default_photos);
    let photos = wanted.min(photo_count(&ctx.attributes));
    ctx.assignments
        .iter()
        .map(|assignment| {
            let mut payload = match assignment.payload.as_object() {
                Some(object) => object.to_map(),
                None => Default::default(),
            };
            payload.insert("photos".into(), json!(photos));
            (assignment.experiment.to_string(), Value::Object(payload))
        })
        .collect()
}

export_plugin! {
    eligible: eligible,
    payload: payload,
}
