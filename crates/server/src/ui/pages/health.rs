//! The experiment page's plugin-health section: per variant, the plugin calls made for it and
//! the share that fell back to the safe default, against control's with the always-valid
//! interval the guardrail checker acts on.

use crate::ui::format::{count, interval, percent, points};
use crate::ui::layout::escape;
use std::fmt::Write;
use touchstone_stats::analysis::Results;

/// Empty when no plugin was called for the experiment.
pub fn plugin_health(results: &Results) -> String {
    if results.plugin_health.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        r#"<section class="card" id="plugin-health"><h2>Plugin health <span class="badge tag-guardrail">guardrail</span></h2><p class="hint">Plugin calls made for each variant (eligibility and payload) and the share that fell back to the safe default (trap, fuel, deadline, bad output). A variant whose share is higher than control's with confidence triggers the experiment's guardrail action.</p><div class="table-wrap"><table class="numbers"><thead><tr><th scope="col">Variant</th><th scope="col">Plugin calls</th><th scope="col">Fell back</th><th scope="col">Share</th><th scope="col">vs control (always-valid interval)</th></tr></thead><tbody>"#,
    );
    for variant in &results.plugin_health {
        let versus = match &variant.vs_control {
            None if variant.key == results.control => "<small>control</small>".to_owned(),
            None => "–".to_owned(),
            Some(comparison) => {
                let harmed = comparison.sequential.ci.is_some_and(|[low, _]| low > 0.0);
                format!(
                    "{} {}{}",
                    points(Some(comparison.estimate)),
                    interval(comparison.sequential.ci, points),
                    if harmed {
                        r#" <span class="verdict verdict-worse">▼ fails more</span>"#
                    } else {
                        ""
                    }
                )
            }
        };
        let _ = write!(
            out,
            r#"<tr data-variant="{key}" data-fallback-share="{share}"><th scope="row">{key}</th><td>{calls}</td><td>{fallbacks}</td><td>{percent}</td><td>{versus}</td></tr>"#,
            key = escape(&variant.key),
            share = super::data_number(variant.fallback_share),
            calls = count(variant.calls),
            fallbacks = count(variant.fallbacks),
            percent = percent(variant.fallback_share),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}
