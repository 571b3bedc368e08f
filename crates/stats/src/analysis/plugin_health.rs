//! The built-in plugin-health guardrail: per variant, the plugin calls made for it and the
//! share that fell back to the safe default, compared with control's by an always-valid
//! interval ([`crate::fallbacks::share_difference`]). A variant whose plugin path fails
//! significantly more often than control's harms: a broken plugin cannot quietly bias an
//! experiment (its failing units would all see the default).

use super::guardrail::{GuardrailKind, Harm, wholly_harmful};
use super::results::{FallbackComparison, PluginHealthVariant, SequentialResult};
use crate::fallbacks::share_difference;
use crate::sample::{Counts, finite};
use touchstone_model::{Direction, Experiment, PluginCalls};

/// The name plugin-health harms carry where a metric's key would be.
pub const PLUGIN_FALLBACKS: &str = "plugin_fallbacks";

/// Plugin health per variant, in definition order, from `calls` indexed like the variants
/// (missing entries read as none); empty when no plugin was called for any variant.
pub fn plugin_health(experiment: &Experiment, calls: &[PluginCalls]) -> Vec<PluginHealthVariant> {
    if calls.iter().all(PluginCalls::is_empty) {
        return Vec::new();
    }
    let spec = experiment.spec();
    let of = |index: usize| {
        let arm = calls.get(index).copied().unwrap_or_default();
        Counts::new(arm.calls, arm.fallbacks)
    };
    let control = of(experiment.control_index());
    experiment
        .variants()
        .iter()
        .enumerate()
        .map(|(index, variant)| {
            let counts = of(index);
            let vs_control = (index != experiment.control_index())
                .then(|| share_difference(control, counts, spec.alpha, spec.sequential_tuning))
                .and_then(Result::ok)
                .map(|difference| FallbackComparison {
                    estimate: difference.estimate,
                    sequential: SequentialResult {
                        ci: Some(difference.sequential.ci),
                        p_value: finite(difference.sequential.p_value),
                    },
                });
            PluginHealthVariant {
                key: variant.key.clone(),
                calls: counts.units,
                fallbacks: counts.reached,
                fallback_share: counts.rate(),
                vs_control,
            }
        })
        .collect()
}

/// Every variant whose fallback share is higher than control's with confidence, once both
/// arms have at least `min_calls` plugin calls.
pub fn plugin_health_harms(
    health: &[PluginHealthVariant],
    control: &str,
    min_calls: u64,
) -> Vec<Harm> {
    let Some(control_calls) = health.iter().find(|v| v.key == control).map(|v| v.calls) else {
        return Vec::new();
    };
    if control_calls < min_calls {
        return Vec::new();
    }
    health
        .iter()
        .filter(|variant| variant.key != control && variant.calls >= min_calls)
        .filter_map(|variant| {
            let comparison = variant.vs_control.as_ref()?;
            let interval = comparison.sequential.ci?;
            // Fewer fallbacks are better.
            wholly_harmful(interval, Direction::Decrease).then(|| Harm {
                variant: variant.key.clone(),
                metric: PLUGIN_FALLBACKS.to_owned(),
                kind: GuardrailKind::PluginHealth,
                estimate: comparison.estimate,
                interval,
                decided_by: touchstone_model::Analysis::Sequential,
            })
        })
        .collect()
}
