//! The power panel: how much of the planned sample is in, and the smallest effect the sample
//! can detect now.

use super::data_number;
use crate::ui::charts::bars::share_bar;
use crate::ui::format::{count, percent};
use crate::ui::layout::escape;
use std::fmt::Write;
use touchstone_stats::analysis::PowerResult;

pub fn power_panel(power: &PowerResult) -> String {
    let mut out = String::from(r#"<section class="card" id="power"><h2>Power</h2>"#);
    let stage = power.stage.as_deref().unwrap_or("the last stage");
    let planned = match power.n_per_variant {
        Some(n) => format!("{} units per variant", count(n)),
        None => "not yet known (no baseline rate)".into(),
    };
    let _ = write!(
        out,
        r#"<p>Planned to detect a <strong>{mde}</strong> relative change on <strong>{stage}</strong> (baseline {baseline}) with {power_pct} power at a {alpha} false-positive rate: {planned}.</p>
<div class="progress" data-progress="{progress_raw}"><span class="progress-label">Sample in: {have} of {planned_short} per variant</span>{bar} <strong>{progress}</strong></div>
<p>Smallest relative change detectable with the units in now: <strong data-mde-reachable="{reachable_raw}">{reachable}</strong>.{advice}</p>"#,
        mde = percent(Some(power.mde)),
        stage = escape(stage),
        baseline = percent(power.baseline),
        power_pct = percent(Some(power.power)),
        alpha = percent(Some(power.alpha)),
        have = count(power.units_per_variant),
        planned_short = power.n_per_variant.map(count).unwrap_or_else(|| "–".into()),
        progress_raw = data_number(power.progress),
        bar = share_bar("share of the planned sample", power.progress, "#0072b2"),
        progress = percent(power.progress),
        reachable_raw = data_number(power.mde_reachable),
        reachable = percent(power.mde_reachable),
        advice = match power.progress {
            Some(progress) if progress >= 1.0 => " The planned sample is in.",
            Some(_) => " Effects smaller than this can still hide in the noise.",
            None => "",
        },
    );
    if !power.stages.is_empty() {
        out.push_str(r#"<div class="table-wrap"><table class="numbers"><thead><tr><th scope="col">Stage</th><th scope="col">Baseline</th><th scope="col">Planned units per variant</th><th scope="col">Sample in</th><th scope="col">Detectable now</th></tr></thead><tbody>"#);
        for stage in &power.stages {
            let _ = write!(
                out,
                r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(&stage.stage),
                percent(stage.baseline),
                stage.n_per_variant.map(count).unwrap_or_else(|| "–".into()),
                percent(stage.progress),
                percent(stage.mde_reachable),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}
