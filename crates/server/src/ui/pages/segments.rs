//! The results by segment (`?segment=ATTRIBUTE` on the experiment page): per value of the
//! attribute, its units and the decisive stage's effect per variant, with the verdict adjusted
//! across the slices.

use super::verdict_chip;
use crate::ui::format::count;
use crate::ui::layout::escape;
use std::fmt::Write;
use touchstone_model::Experiment;
use touchstone_stats::analysis::SegmentResults;

/// The segment picker and, when one is chosen, its table (`Err`: why it could not be read).
pub fn segments_section(
    experiment: &Experiment,
    chosen: Option<&str>,
    results: Option<Result<&SegmentResults, String>>,
) -> String {
    let attributes: Vec<&str> = experiment.segment_attributes().collect();
    if attributes.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        r#"<section class="card" id="segments"><h2>By segment</h2><div class="inline"><label for="segment-select">Break down by</label><select id="segment-select"><option value="">— choose —</option>"#,
    );
    for attribute in &attributes {
        let selected = if Some(*attribute) == chosen {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<option value="{a}"{selected}>{a}</option>"#,
            a = escape(attribute)
        );
    }
    out.push_str("</select></div>");
    match results {
        None => out.push_str(r#"<p class="hint">Choose an attribute to see the effect in each of its values; verdicts there are adjusted for the many slices.</p>"#),
        Some(Err(problem)) => {
            let _ = write!(out, r#"<p class="problem">{}</p>"#, escape(&problem));
        }
        Some(Ok(segments)) if segments.values.is_empty() => out.push_str(
            r#"<p class="hint">No unit carried this attribute yet: send it in <code>attributes</code> with <code>POST /v1/assign</code>.</p>"#,
        ),
        Some(Ok(segments)) => {
            out.push_str(r#"<div class="table-wrap"><table class="numbers cards" id="segment-table"><thead><tr><th scope="col">Value</th><th scope="col">Units</th><th scope="col">Decisive stage</th></tr></thead><tbody>"#);
            for slice in &segments.values {
                let units: u64 = slice.results.variants.iter().map(|v| v.units).sum();
                let effect = slice
                    .results
                    .stages
                    .last()
                    .map(|stage| {
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
                            "no comparison yet".to_owned()
                        } else {
                            format!("{}: {}", escape(&stage.stage), chips.join(" · "))
                        }
                    })
                    .unwrap_or_default();
                let _ = write!(
                    out,
                    r#"<tr data-segment-value="{v}"><th scope="row">{v}</th><td data-label="Units">{units}</td><td data-label="Effect">{effect}</td></tr>"#,
                    v = escape(&slice.value),
                    units = count(units),
                );
            }
            out.push_str("</tbody></table></div>");
        }
    }
    out.push_str("</section>");
    out
}
