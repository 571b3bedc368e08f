//! The experiments list: status, touchpoint, days running, units, SRM, the decision in short and
//! the headline result. Below ~600 px each row is a card (CSS), so nothing hides off-screen.

use super::decision_card::short_card;
use super::guardrail_banner::GuardrailStop;
use super::{status_badge, verdict_chip};
use crate::ui::format::count;
use crate::ui::layout::{Session, escape, page};
use std::fmt::Write;
use touchstone_model::Experiment;
use touchstone_stats::analysis::Results;

/// One experiment and its results (`None` when they could not be computed now).
pub struct Row {
    pub experiment: Experiment,
    pub results: Option<Results>,
    /// The guardrail's stop that left it stopped, if one did.
    pub guardrail_stop: Option<GuardrailStop>,
}

pub fn list_page(rows: &[Row], session: Session) -> String {
    let mut body = String::from(
        r#"<div class="title-row"><h1>Experiments</h1><a class="button primary" href="/ui/experiments/new">+ New experiment</a></div>"#,
    );
    if rows.is_empty() {
        body.push_str(r#"<section class="card empty"><p>No experiments yet. <a href="/ui/experiments/new">Create one with the form</a>, or define one with <code>PUT /v1/experiments/{key}</code> (see the <a href="/docs">API</a>); it appears here.</p></section>"#);
        return page("Experiments", &body, session);
    }
    body.push_str(r#"<div class="table-wrap"><table class="numbers cards" id="experiments"><thead><tr><th scope="col">Experiment</th><th scope="col">Status</th><th scope="col">Touchpoint</th><th scope="col">Days running</th><th scope="col">Units</th><th scope="col">Split</th><th scope="col">Decision</th><th scope="col">Headline result</th></tr></thead><tbody>"#);
    for row in rows {
        let key = escape(row.experiment.key());
        let _ = write!(
            body,
            r#"<tr data-experiment="{key}"><th scope="row"><a href="/ui/experiments/{key}">{key}</a></th><td data-label="Status">{badge}</td><td data-label="Touchpoint"><code>{touchpoint}</code></td><td class="days" data-label="Days running" data-days-for="{key}">–</td>"#,
            badge = status_badge(row.experiment.status()),
            touchpoint = escape(row.experiment.touchpoint()),
        );
        match &row.results {
            None => {
                body.push_str(r#"<td colspan="4" class="hint">results unavailable right now</td>"#)
            }
            Some(results) => {
                let units: u64 = results.variants.iter().map(|v| v.units).sum();
                let split = if units == 0 {
                    "–"
                } else if results.srm.mismatch {
                    r#"<span class="badge srm-flag" title="Sample ratio mismatch: the split is off the configured weights">⚠ SRM</span>"#
                } else {
                    r#"<span class="ok">as configured</span>"#
                };
                let document = serde_json::to_value(results).unwrap_or_default();
                let _ = write!(
                    body,
                    r#"<td data-label="Units" data-units="{units}">{}</td><td data-label="Split">{split}</td><td data-label="Decision">{}</td><td data-label="Headline">{}</td>"#,
                    count(units),
                    short_card(&row.experiment, &document, row.guardrail_stop.as_ref()),
                    headline(results),
                );
            }
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></div>");
    page("Experiments", &body, session)
}

/// The last journey stage (the decisive conversion), each variant against control.
fn headline(results: &Results) -> String {
    let Some(stage) = results.stages.last() else {
        return r#"<span class="hint">no data yet</span>"#.into();
    };
    let chips: Vec<String> = stage
        .variants
        .iter()
        .filter_map(|cell| {
            let comparison = cell.vs_control.as_ref()?;
            comparison.relative.estimate?;
            Some(format!(
                "{} {}",
                escape(&cell.key),
                verdict_chip(comparison, true)
            ))
        })
        .collect();
    if chips.is_empty() {
        return r#"<span class="hint">no data yet</span>"#.into();
    }
    format!(
        "<span class=\"stage-name\">{}:</span> {}",
        escape(&stage.stage),
        chips.join(" · ")
    )
}
