//! The `segments` block of `touchstone analyze --format table`: per attribute, each slice's
//! split, one row per stage or metric × variant × slice (slices of one effect side by side),
//! and Cochran's Q beneath.

use super::results::Comparison;
use super::segments::SegmentResults;
use super::summary::{confidence_level, p_text};
use super::table::{align, align_with, rate_percent};

pub(super) fn render_segments(out: &mut String, segments: &[SegmentResults]) {
    for segment in segments {
        render_segment(out, segment);
    }
}

fn render_segment(out: &mut String, segment: &SegmentResults) {
    out.push_str(&format!(
        "\nsegment {} ({} values)\n  {}\n",
        segment.attribute,
        segment.values.len(),
        segment.adjustment
    ));
    let Some(first) = segment.values.first() else {
        push_warnings(out, &segment.warnings);
        return;
    };
    let mut split = vec![vec![
        "value".to_string(),
        "units".to_string(),
        "sample ratio p".to_string(),
    ]];
    for slice in &segment.values {
        let units = slice
            .results
            .variants
            .iter()
            .fold(0_u64, |total, v| total.saturating_add(v.units));
        split.push(vec![
            slice.value.clone(),
            units.to_string(),
            format!(
                "{}{}",
                p_text(slice.results.srm.p_value),
                if slice.results.srm.mismatch {
                    "  MISMATCH"
                } else {
                    ""
                }
            ),
        ]);
    }
    out.push_str(&align(&split));
    let level = confidence_level(first.results.alpha);
    let mut rows = vec![
        [
            "stage/metric",
            "variant",
            "value",
            "units",
            "control",
            "variant",
            "abs diff",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            format!("{level} CI"),
            "rel diff".into(),
            "p".into(),
            "adj p".into(),
        ])
        .collect::<Vec<String>>(),
    ];
    for (index, stage) in first.results.stages.iter().enumerate() {
        for variant in stage.variants.iter().filter(|v| v.vs_control.is_some()) {
            for slice in &segment.values {
                let Some(s) = slice.results.stages.get(index) else {
                    continue;
                };
                let control = s.variants.iter().find(|v| v.key == slice.results.control);
                let Some(treated) = s.variants.iter().find(|v| v.key == variant.key) else {
                    continue;
                };
                let mut row = vec![
                    stage.stage.clone(),
                    variant.key.clone(),
                    slice.value.clone(),
                    units(control.map(|c| c.units), treated.units),
                    rate_percent(control.and_then(|c| c.rate)),
                    rate_percent(treated.rate),
                ];
                row.extend(cells(treated.vs_control.as_ref(), true));
                rows.push(row);
            }
        }
    }
    for (index, metric) in first.results.metrics.iter().enumerate() {
        for variant in metric.variants.iter().filter(|v| v.vs_control.is_some()) {
            for slice in &segment.values {
                let Some(m) = slice.results.metrics.get(index) else {
                    continue;
                };
                let control = m.variants.iter().find(|v| v.key == slice.results.control);
                let Some(treated) = m.variants.iter().find(|v| v.key == variant.key) else {
                    continue;
                };
                let mean = |x: Option<f64>| x.map_or("n/a".into(), |m| format!("{m:.4}"));
                let mut row = vec![
                    metric.metric.clone(),
                    variant.key.clone(),
                    slice.value.clone(),
                    units(control.map(|c| c.units), treated.units),
                    mean(control.and_then(|c| c.mean)),
                    mean(treated.mean),
                ];
                row.extend(cells(treated.vs_control.as_ref(), false));
                rows.push(row);
            }
        }
    }
    out.push('\n');
    out.push_str(&align_with(&rows, |column| column < 3));
    let mut q_rows = vec![
        ["stage/metric", "variant", "Q", "df", "p", "I²", "values"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<String>>(),
    ];
    for h in &segment.heterogeneity {
        q_rows.push(vec![
            h.stage
                .clone()
                .or_else(|| h.metric.clone())
                .unwrap_or_default(),
            h.variant.clone(),
            h.q.map_or("n/a".into(), |q| format!("{q:.3}")),
            h.df.map_or("n/a".into(), |df| df.to_string()),
            p_text(h.p_value),
            h.i_squared
                .map_or("n/a".into(), |i| format!("{:.1}%", i * 100.0)),
            h.values.join(", "),
        ]);
    }
    out.push_str(&format!(
        "\nheterogeneity by {} (Cochran's Q: does the effect differ between values?)\n",
        segment.attribute
    ));
    out.push_str(&align_with(&q_rows, |column| column < 2 || column == 6));
    push_warnings(out, &segment.warnings);
}

fn units(control: Option<u64>, variant: u64) -> String {
    format!(
        "{}/{variant}",
        control.map_or("n/a".into(), |c| c.to_string())
    )
}

fn cells(comparison: Option<&Comparison>, rates: bool) -> Vec<String> {
    let Some(c) = comparison else {
        return vec!["n/a".into()];
    };
    let absolute = |x: f64| {
        if rates {
            format!("{:+.2}pp", x * 100.0)
        } else {
            format!("{x:+.4}")
        }
    };
    vec![
        c.absolute.estimate.map_or("n/a".into(), absolute),
        c.absolute.ci.map_or("n/a".into(), |[lo, hi]| {
            format!("[{}, {}]", absolute(lo), absolute(hi))
        }),
        c.relative
            .estimate
            .map_or("n/a".into(), |r| format!("{:+.1}%", r * 100.0)),
        p_text(c.p_value),
        format!(
            "{}{}",
            p_text(c.adjusted_p_value),
            if c.significant { " *" } else { "" }
        ),
    ]
}

fn push_warnings(out: &mut String, warnings: &[String]) {
    if !warnings.is_empty() {
        out.push_str("\nsegment warnings\n");
        for line in warnings {
            out.push_str(&format!("  {line}\n"));
        }
    }
}
