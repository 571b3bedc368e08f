//! Example event plugin: rejects bot traffic, maps the shop's own event names to journey
//! stages and converts revenue into one currency with the rates in its config.

use serde::Deserialize;
use std::collections::BTreeMap;
use touchstone_plugin_sdk::{EventContext, EventDecision, Value, export_plugin, log};

#[derive(Deserialize)]
struct Config {
    /// Case-insensitive substrings of a user agent that mark a bot.
    bot_markers: Vec<String>,
    /// Shop event name → journey stage name; names not listed pass unchanged.
    stages: BTreeMap<String, String>,
    /// The currency results are counted in.
    currency: String,
    /// Value of one unit of a currency in `currency`.
    rates: BTreeMap<String, f64>,
}

fn event(ctx: EventContext<Config>) -> Vec<EventDecision> {
    let config = &ctx.config;
    let markers: Vec<String> = config
        .bot_markers
        .iter()
        .map(|m| m.to_lowercase())
        .collect();
    ctx.events
        .into_iter()
        .map(|mut event| {
            let agent = event
                .attributes
                .get("user_agent")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            if markers.iter().any(|marker| agent.contains(marker.as_str())) {
                return EventDecision::Reject {
                    reason: "bot traffic".into(),
                };
            }
            let mut changed = false;
            if let Some(stage) = config.stages.get(&event.name) {
                event.name = stage.clone();
                changed = true;
            }
            let currency = event
                .attributes
                .get("currency")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let (Some(value), Some(currency)) = (event.value, currency)
                && currency != config.currency
            {
                let Some(rate) = config.rates.get(&currency) else {
                    log::warn(&format!("event {}: no rate for {currency}", event.id));
                    return EventDecision::Reject {
                        reason: format!("no rate for currency {currency}"),
                    };
                };
                event.value = Some((value * rate * 100.0).round() / 100.0);
                event
                    .attributes
                    .insert("currency".into(), config.currency.clone().into());
                changed = true;
            }
            if changed {
                EventDecision::Rewrite { event }
            } else {
                EventDecision::Accept
            }
        })
        .collect()
}

export_plugin! {
    event: event,
}
