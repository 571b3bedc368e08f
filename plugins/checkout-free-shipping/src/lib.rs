//! Example plugin for `checkout.shipping`: a shopper is eligible when their country ships
//! free and their cart is worth something but is below the free-shipping threshold of their
//! currency; the payload tells them, in their currency, how much is missing.

use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use touchstone_plugin_sdk::{
    Attributes, Eligibility, EligibleView, PayloadView, Payloads, Value, export_plugin, json,
};

/// `Clone`: the SDK deserializes it once per request and hands `payload` a copy.
#[derive(Clone, Deserialize)]
struct Config {
    /// Countries (ISO 3166 alpha-2) where free shipping is offered.
    countries: Vec<String>,
    /// Free-shipping threshold per currency (ISO 4217), in major units.
    thresholds: BTreeMap<String, f64>,
}

/// What the assignment request carries: `country`, `currency`, `cart_value`.
struct Cart<'a> {
    country: Cow<'a, str>,
    currency: Cow<'a, str>,
    value: f64,
}

fn cart<'a>(attributes: &Attributes<'a>) -> Option<Cart<'a>> {
    Some(Cart {
        country: attributes.get("country")?.as_str()?,
        currency: attributes.get("currency")?.as_str()?,
        value: attributes.get("cart_value")?.as_f64()?,
    })
}

fn missing(config: &Config, cart: &Cart<'_>) -> Option<f64> {
    if !config.countries.iter().any(|c| *c == cart.country) || cart.value <= 0.0 {
        return None;
    }
    let threshold = config.thresholds.get(cart.currency.as_ref())?;
    (cart.value < *threshold).then(|| threshold - cart.value)
}

fn eligible(ctx: EligibleView<Config>) -> Eligibility {
    let fits = cart(&ctx.attributes).and_then(|cart| missing(&ctx.config, &cart));
    ctx.all(fits.is_some())
}

fn payload(ctx: PayloadView<Config>) -> Payloads {
    let Some(cart) = cart(&ctx.attributes) else {
        return Payloads::new();
    };
    let Some(amount) = missing(&ctx.config, &cart) else {
        return Payloads::new();
    };
    let text = format_money(amount, &cart.currency);
    ctx.assignments
        .iter()
        .map(|assignment| {
            let mut payload = match assignment.payload.as_object() {
                Some(object) => object.to_map(),
                None => Default::default(),
            };
            payload.insert(
                "missing_amount".into(),
                json!((amount * 100.0).round() / 100.0),
            );
            payload.insert("currency".into(), json!(cart.currency.as_ref()));
            payload.insert(
                "message".into(),
                json!(format!("Add {text} more for free shipping")),
            );
            (assignment.experiment.to_string(), Value::Object(payload))
        })
        .collect()
}

fn format_money(amount: f64, currency: &str) -> String {
    let amount = format!("{amount:.2}");
    match currency {
        "EUR" => format!("{amount} €"),
        "USD" => format!("${amount}"),
        "GBP" => format!("£{amount}"),
        other => format!("{amount} {other}"),
    }
}

export_plugin! {
    eligible: eligible,
    payload: payload,
}
