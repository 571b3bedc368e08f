//! The forest plot of one stage or metric: per variant, the relative effect against control
//! with its confidence interval (thick) and its always-valid interval (thin, with end caps),
//! coloured and shaped by the verdict after the correction for multiple testing.

use super::{Scale, Verdict, open_svg, px, ticks};
use crate::ui::format::{signed_percent, tick_percent};
use crate::ui::layout::escape;
use std::fmt::Write;

/// One variant's row.
#[derive(Debug, Clone)]
pub struct ForestRow<'a> {
    pub variant: &'a str,
    /// Relative effect (variant / control − 1).
    pub estimate: Option<f64>,
    /// Its confidence interval (delta method).
    pub ci: Option<[f64; 2]>,
    /// The always-valid interval on the same relative scale.
    pub always_valid: Option<[f64; 2]>,
    pub verdict: Verdict,
}

const WIDTH: f64 = 480.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 466.0;
const ROW: f64 = 34.0;
const TOP: f64 = 8.0;
const AXIS: f64 = 28.0;

/// The half-width of the axis: every estimate and confidence interval fits; an always-valid
/// interval (much wider early on) may run off the edge, where its missing cap says so.
fn half_width(rows: &[ForestRow]) -> f64 {
    let widest = rows
        .iter()
        .flat_map(|row| {
            let ci = row
                .ci
                .map(|[a, b]| [a.abs(), b.abs()])
                .unwrap_or([0.0, 0.0]);
            [row.estimate.map(f64::abs).unwrap_or(0.0), ci[0], ci[1]]
        })
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max);
    let always_valid = rows
        .iter()
        .filter_map(|row| row.always_valid)
        .flat_map(|[a, b]| [a.abs(), b.abs()])
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max);
    // Room for the always-valid interval up to twice the confidence interval; at least ±1 %.
    (widest.max(always_valid.min(2.0 * widest)) * 1.1).max(0.01)
}

/// One half-width for several plots, so plots shown together share a scale: a ±5 % effect
/// is as long on every stage.
pub fn shared_half_width<'a>(plots: impl IntoIterator<Item = &'a [ForestRow<'a>]>) -> f64 {
    plots.into_iter().map(half_width).fold(0.01, f64::max)
}

pub fn forest(id: &str, title: &str, rows: &[ForestRow]) -> String {
    forest_on(id, title, rows, half_width(rows))
}

/// [`forest`] on an axis of ±`half` (see [`shared_half_width`]).
pub fn forest_on(id: &str, title: &str, rows: &[ForestRow], half: f64) -> String {
    let height = TOP + ROW * rows.len() as f64 + AXIS;
    let scale = Scale {
        domain: (-half, half),
        range: (LEFT, RIGHT),
    };
    let description = rows
        .iter()
        .map(|row| {
            format!(
                "{}: {} ({}), confidence interval {} to {}",
                row.variant,
                signed_percent(row.estimate),
                row.verdict.label(),
                signed_percent(row.ci.map(|ci| ci[0])),
                signed_percent(row.ci.map(|ci| ci[1])),
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = String::new();
    open_svg(&mut out, id, WIDTH, height, title, &description);
    let bottom = TOP + ROW * rows.len() as f64;
    // The zero line is labelled in words instead of a number.
    for tick in ticks(-half, half, 4)
        .into_iter()
        .filter(|tick| *tick != 0.0)
    {
        let x = px(scale.at(tick));
        let _ = write!(
            out,
            r##"<line x1="{x}" y1="{TOP}" x2="{x}" y2="{b}" stroke="#e3e3e3"/><text x="{x}" y="{ty}" class="tick" text-anchor="middle">{label}</text>"##,
            b = px(bottom),
            ty = px(bottom + 16.0),
            label = tick_percent(tick),
        );
    }
    let zero = px(scale.at(0.0));
    let _ = write!(
        out,
        r##"<line x1="{zero}" y1="{TOP}" x2="{zero}" y2="{b}" stroke="#333" stroke-width="1.5"/><text x="{zero}" y="{ty}" class="tick" text-anchor="middle">no effect</text>"##,
        b = px(bottom),
        ty = px(bottom + 16.0),
    );
    for (index, row) in rows.iter().enumerate() {
        draw_row(&mut out, &scale, TOP + ROW * index as f64 + ROW / 2.0, row);
    }
    out.push_str("</svg>");
    out
}

fn draw_row(out: &mut String, scale: &Scale, y: f64, row: &ForestRow) {
    let colour = row.verdict.colour();
    let _ = write!(
        out,
        r#"<g class="forest-row" data-variant="{variant}" data-verdict="{verdict}"><text x="0" y="{ty}" class="label">{variant}</text>"#,
        variant = escape(row.variant),
        verdict = row.verdict.label(),
        ty = px(y + 4.0),
    );
    if let Some([low, high]) = row
        .always_valid
        .filter(|[a, b]| a.is_finite() && b.is_finite())
    {
        let (x1, x2) = (scale.clamped(low), scale.clamped(high));
        let _ = write!(
            out,
            r#"<line class="always-valid" x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="4 2"/>"#,
            px(x1),
            px(x2),
            y = px(y),
        );
        // Caps only where the interval ends inside the axis.
        for (value, x) in [(low, x1), (high, x2)] {
            if (scale.at(value) - x).abs() < 0.05 {
                let _ = write!(
                    out,
                    r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{colour}" stroke-width="1.5"/>"#,
                    px(y - 6.0),
                    px(y + 6.0),
                    x = px(x),
                );
            }
        }
    }
    if let Some([low, high]) = row.ci.filter(|[a, b]| a.is_finite() && b.is_finite()) {
        let _ = write!(
            out,
            r#"<line class="ci" x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="5" stroke-linecap="butt"/>"#,
            px(scale.clamped(low)),
            px(scale.clamped(high)),
            y = px(y),
        );
    }
    if let Some(estimate) = row.estimate.filter(|e| e.is_finite()) {
        let x = scale.clamped(estimate);
        let marker = match row.verdict {
            Verdict::Better => format!(
                "M{} {}L{} {}L{} {}Z",
                px(x),
                px(y - 8.0),
                px(x + 7.0),
                px(y + 5.0),
                px(x - 7.0),
                px(y + 5.0)
            ),
            Verdict::Worse => format!(
                "M{} {}L{} {}L{} {}Z",
                px(x),
                px(y + 8.0),
                px(x + 7.0),
                px(y - 5.0),
                px(x - 7.0),
                px(y - 5.0)
            ),
            Verdict::Inconclusive => {
                format!("M{} {}a6 6 0 1 0 12 0a6 6 0 1 0 -12 0Z", px(x - 6.0), px(y))
            }
        };
        let _ = write!(
            out,
            r##"<path class="estimate" d="{marker}" fill="{colour}" stroke="#fff" stroke-width="1.5"/>"##
        );
    }
    out.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        estimate: f64,
        ci: [f64; 2],
        always_valid: [f64; 2],
        verdict: Verdict,
    ) -> ForestRow<'static> {
        ForestRow {
            variant: "treatment",
            estimate: Some(estimate),
            ci: Some(ci),
            always_valid: Some(always_valid),
            verdict,
        }
    }

    #[test]
    fn the_axis_is_symmetric_and_holds_every_confidence_interval() {
        let rows = [row(0.1, [0.02, 0.18], [-0.05, 0.25], Verdict::Better)];
        // widest |CI| 0.18; the always-valid 0.25 fits under 2 × 0.18 → 0.25 × 1.1.
        assert!((half_width(&rows) - 0.275).abs() < 1e-12);
        let wild = [row(0.1, [0.02, 0.18], [-3.0, 3.0], Verdict::Better)];
        assert!((half_width(&wild) - 0.36 * 1.1).abs() < 1e-12);
    }

    #[test]
    fn marks_sit_where_the_numbers_are_and_show_the_verdict() {
        // half width 0.2 × 1.1 = 0.22 → scale −0.22..0.22 onto 110..466; 0 at 288.
        let rows = [row(0.1, [0.0, 0.2], [-0.1, 0.2], Verdict::Better)];
        let svg = forest("p", "purchase", &rows);
        let at = |value: f64| px(110.0 + (value + 0.22) / 0.44 * 356.0);
        assert!(svg.contains(&format!(
            r#"class="ci" x1="{}" y1="25" x2="{}""#,
            at(0.0),
            at(0.2)
        )));
        assert!(svg.contains(&format!(r#"class="always-valid" x1="{}""#, at(-0.1))));
        assert!(
            svg.contains(&format!("M{} 17L", at(0.1))),
            "an upward triangle at +10 %"
        );
        assert!(svg.contains(r#"data-verdict="better""#));
        assert!(svg.contains("#0072b2"));
        assert!(svg.contains("treatment: +10.0\u{202f}% (better)"));
    }

    #[test]
    fn an_always_valid_interval_past_the_axis_loses_its_cap() {
        let rows = [row(0.0, [-0.1, 0.1], [-5.0, 5.0], Verdict::Inconclusive)];
        let svg = forest("p", "purchase", &rows);
        // No cap lines other than none: the interval is clamped to both edges.
        assert!(svg.contains(r#"class="always-valid" x1="110" y1="25" x2="466""#));
        assert!(!svg.contains(r#"<line x1="110" y1="19""#));
        assert!(svg.contains(r#"data-verdict="inconclusive""#));
    }
}
