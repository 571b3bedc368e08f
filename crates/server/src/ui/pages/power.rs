//! The power panel: how much of the planned sample is in, the smallest effect the sample
//! can detect now, and — given an expected correlation ρ of a CUPED covariate with the outcome
//! (`?rho=0.6`) — the plan with the adjustment, n·(1 − ρ²) (decision 023).

use super::data_number;
use crate::ui::charts::bars::share_bar;
use crate::ui::format::{count, percent};
use crate::ui::layout::escape;
use std::fmt::Write;
use touchstone_stats::analysis::PowerResult;
use touchstone_stats::power::with_correlation;

/// `correlation`: the ρ asked for (already checked to be in [0, 1)); `phase`: the phase shown,
/// kept when the form asks again.
pub fn power_panel(power: &PowerResult, correlation: Option<f64>, phase: Option<u32>) -> String {
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
    out.push_str(&cuped_plan(power, correlation, phase));
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

/// The ρ form and, when ρ is given, the planned units with CUPED.
fn cuped_plan(power: &PowerResult, correlation: Option<f64>, phase: Option<u32>) -> String {
    let planned = match (correlation, power.n_per_variant) {
        (Some(rho), Some(n)) => match with_correlation(n, rho) {
            Ok(adjusted) => format!(
                r#"<p class="cuped-plan" data-correlation="{rho}" data-cuped-planned="{adjusted}">With a covariate correlated ρ = {rho} with the outcome (CUPED), the plan needs n·(1 − ρ²) = <strong>{units}</strong> units per variant instead of {unadjusted}.</p>"#,
                units = count(adjusted),
                unadjusted = count(n),
            ),
            Err(why) => format!(r#"<p class="problem">{}</p>"#, escape(&why.to_string())),
        },
        (Some(rho), None) => format!(
            r#"<p class="cuped-plan" data-correlation="{rho}">With ρ = {rho}, the plan would need n·(1 − ρ²) units per variant, once the baseline is known.</p>"#
        ),
        (None, _) => String::new(),
    };
    let phase_field = phase
        .map(|n| format!(r#"<input type="hidden" name="phase" value="{n}">"#))
        .unwrap_or_default();
    format!(
        r#"<form class="inline" id="cuped-plan-form" method="get">{phase_field}<label for="rho">Expected correlation ρ of a CUPED covariate with the outcome (0 to 0.99)</label> <input id="rho" name="rho" type="number" min="0" max="0.99" step="0.05" value="{value}"> <button type="submit" class="secondary">Plan with CUPED</button></form>{planned}"#,
        value = correlation.map(|rho| rho.to_string()).unwrap_or_default(),
    )
}
