//! CUPED covariates (decision 022): which outcomes may declare one, what a covariate attribute
//! may be called, and why a running experiment may not change them within a phase.

use super::{
    Experiment, ExperimentSpec, INTERACTION_SEGMENT_PREFIX, PLUGIN_VERSION_SEGMENT, REVENUE_METRIC,
    RunningChange, TIME_TO_CONVERSION_METRIC,
};
use crate::validation::ValidationErrors;
use std::collections::BTreeSet;

/// Distinct covariate attributes one experiment may keep: each is one field per exposed unit
/// and three counters per variant and slice, bounded like segment attributes.
pub const MAX_COVARIATE_ATTRIBUTES: usize = 10;

/// The longest covariate attribute name, as for segment attributes.
const MAX_ATTRIBUTE_LEN: usize = 64;

/// Why `attribute` cannot name a covariate, if it cannot.
fn attribute_problem(attribute: &str) -> Option<String> {
    if attribute.trim().is_empty() || attribute.len() > MAX_ATTRIBUTE_LEN {
        return Some(format!("must be 1 to {MAX_ATTRIBUTE_LEN} characters"));
    }
    if attribute == PLUGIN_VERSION_SEGMENT {
        return Some("`plugin_version` is a built-in segment, not a number of the unit".into());
    }
    if attribute.starts_with(INTERACTION_SEGMENT_PREFIX) {
        return Some("`exp:` attributes are kept for `interacts_with`".into());
    }
    None
}

/// Why `covariates` may not hold `key` (not a declared metric's: that is told apart before),
/// if it may not: only a journey stage or the built-in `revenue_per_unit` is over every
/// exposed unit.
fn key_problem(spec: &ExperimentSpec, key: &str) -> Option<(&'static str, String)> {
    if spec.journey.iter().any(|stage| stage == key) {
        return None;
    }
    if key == TIME_TO_CONVERSION_METRIC {
        return Some((
            "not_applicable",
            "`time_to_conversion` is over converting units only, not every exposed unit: it takes no covariate".into(),
        ));
    }
    if key == REVENUE_METRIC {
        return spec.value_event.is_none().then(|| {
            (
                "unknown",
                "`revenue_per_unit` exists only with a `value_event`".into(),
            )
        });
    }
    Some((
        "unknown",
        format!("`{key}` is neither a journey stage nor `revenue_per_unit`"),
    ))
}

/// Every covariate problem of a definition, each naming its field:
/// `metrics[i].covariate.attribute`, `metrics[i].covariate`, `covariates.KEY[.attribute]`.
pub(super) fn validate_covariates(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    let mut attributes = BTreeSet::new();
    for (index, metric) in spec.metrics.iter().enumerate() {
        let Some(covariate) = &metric.covariate else {
            continue;
        };
        if !metric.kind.denominator_is_exposed_units() {
            errors.push(
                format!("metrics[{index}].covariate"),
                "not_applicable",
                "a covariate adjusts only a metric over every exposed unit (conversion, sum, count): CUPED needs the covariate of every unit the metric averages over",
            );
        }
        if let Some(problem) = attribute_problem(&covariate.attribute) {
            errors.push(
                format!("metrics[{index}].covariate.attribute"),
                "invalid",
                problem,
            );
        }
        attributes.insert(covariate.attribute.as_str());
    }
    for (key, covariate) in &spec.covariates {
        let field = format!("covariates.{key}");
        if let Some(index) = spec.metrics.iter().position(|m| m.key == *key) {
            errors.push(
                field,
                "misplaced",
                format!("`{key}` is a declared metric: give it `metrics[{index}].covariate`"),
            );
            continue;
        }
        if let Some((code, message)) = key_problem(spec, key) {
            errors.push(field, code, message);
            continue;
        }
        if let Some(problem) = attribute_problem(&covariate.attribute) {
            errors.push(format!("{field}.attribute"), "invalid", problem);
        }
        attributes.insert(covariate.attribute.as_str());
    }
    if attributes.len() > MAX_COVARIATE_ATTRIBUTES {
        errors.push(
            "covariates",
            "too_many",
            format!("at most {MAX_COVARIATE_ATTRIBUTES} distinct covariate attributes"),
        );
    }
}

impl Experiment {
    /// Why `next` may not replace running `self` for its covariates: the Σxy of an outcome is
    /// summed event by event with the x of its covariate, so an outcome kept in both
    /// definitions keeps its covariate within a phase (a change would mix two covariates, or
    /// miss the products of the events already counted). A new outcome may declare any
    /// covariate: its sums start together, and units exposed before an attribute was declared
    /// count as missing (x = 0) in the store. The change is for a new phase: stop, save, and
    /// start again with `new_phase`, whose sums all start from zero.
    pub(super) fn covariate_conflict(&self, next: &Experiment) -> Option<RunningChange> {
        let refuse = |field: String, what: String| {
            Some(RunningChange {
                field,
                new_phase: true,
                message: format!(
                    "the covariate of {what} cannot change within a phase: its sum of products would mix exposed units adjusted and not; stop the experiment, save the change and start it with `new_phase: true`, so the next phase's sums start from zero"
                ),
            })
        };
        for metric in next.metrics() {
            let Some(before) = self.metrics().iter().find(|m| m.key == metric.key) else {
                continue;
            };
            if before.covariate != metric.covariate {
                let field = match next.spec.metrics.iter().position(|m| m.key == metric.key) {
                    Some(index) => format!("metrics[{index}].covariate"),
                    None => format!("covariates.{}", metric.key),
                };
                return refuse(field, format!("metric `{}`", metric.key));
            }
        }
        for stage in next.journey() {
            if self.journey().contains(stage)
                && self.stage_covariate(stage) != next.stage_covariate(stage)
            {
                return refuse(format!("covariates.{stage}"), format!("stage `{stage}`"));
            }
        }
        None
    }
}
