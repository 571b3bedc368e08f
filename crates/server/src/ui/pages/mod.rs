//! The dashboard's pages, each a function from the same data the JSON API serves to HTML.

pub mod decision_card;
pub mod effects;
pub mod experiment;
pub mod form;
pub mod guardrail_banner;
pub mod health;
pub mod history;
pub mod list;
pub mod login;
pub mod power;
pub mod segments;

use crate::ui::charts::Verdict;
use crate::ui::format::signed_percent;
use crate::ui::layout::escape;
use touchstone_model::Status;
use touchstone_stats::analysis::{Comparison, Verdict as StatsVerdict};

/// The status as a badge: text first, colour only as a second cue.
pub fn status_badge(status: Status) -> String {
    let (class, text) = match status {
        Status::Draft => ("status-draft", "draft"),
        Status::Running => ("status-running", "● running"),
        Status::Stopped => ("status-stopped", "■ stopped"),
        Status::Shipped => ("status-shipped", "✓ shipped"),
    };
    format!(
        r#"<span class="badge {class}" data-status="{}">{text}</span>"#,
        status_word(status)
    )
}

pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Draft => "draft",
        Status::Running => "running",
        Status::Stopped => "stopped",
        Status::Shipped => "shipped",
    }
}

/// The verdict of a comparison as the statistics rule gave it (`verdict`, already read with
/// the metric's direction); `waiting` (a fixed-horizon test before its sample) shows as
/// inconclusive. `_higher_is_better` stays for callers that read a direction themselves.
pub fn verdict(comparison: &Comparison, _higher_is_better: bool) -> Verdict {
    match comparison.verdict {
        StatsVerdict::Better => Verdict::Better,
        StatsVerdict::Worse => Verdict::Worse,
        StatsVerdict::Inconclusive | StatsVerdict::Waiting => Verdict::Inconclusive,
    }
}

/// `▲ +5.20 % better` with the verdict's class: symbol and word carry it without colour.
pub fn verdict_chip(comparison: &Comparison, higher_is_better: bool) -> String {
    let verdict = verdict(comparison, higher_is_better);
    format!(
        r#"<span class="verdict {}" data-verdict="{}">{} {} <small>{}</small></span>"#,
        verdict.css_class(),
        verdict.label(),
        verdict.symbol(),
        signed_percent(comparison.relative.estimate),
        verdict.label(),
    )
}

/// A number as a data attribute: full precision for tests and scripts; empty for `None`.
pub fn data_number(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

pub fn text(value: &str) -> String {
    escape(value)
}
