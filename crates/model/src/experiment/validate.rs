//! The rules a definition must follow, each problem reported with its field path.

use super::{
    ExperimentSpec, PLUGIN_VERSION_SEGMENT, REVENUE_METRIC, Status, TIME_TO_CONVERSION_METRIC,
};
use crate::metric::MetricKind;
use crate::validation::{ValidationErrors, check_key, check_name};
use std::collections::HashSet;

/// Every problem with a definition, each naming its field.
pub fn validate(spec: &ExperimentSpec) -> ValidationErrors {
    let mut errors = ValidationErrors::default();
    if let Some(problem) = check_name(&spec.key) {
        errors.push("key", "invalid", problem);
    }
    if spec.touchpoint.trim().is_empty() || spec.touchpoint.len() > 128 {
        errors.push("touchpoint", "invalid", "must be 1 to 128 characters");
    }
    if !(0.0..=1.0).contains(&spec.traffic) {
        errors.push("traffic", "out_of_range", "must be between 0 and 1");
    }
    validate_variants(spec, &mut errors);
    validate_journey(spec, &mut errors);
    validate_guardrail_stages(spec, &mut errors);
    if !(spec.conversion_window_hours.is_finite() && spec.conversion_window_hours > 0.0) {
        errors.push(
            "conversion_window_hours",
            "out_of_range",
            "must be a positive number of hours",
        );
    }
    if let Some(value_event) = &spec.value_event {
        // The same alphabet as stage and metric events: it names a built-in metric's event.
        if let Some(problem) = check_key(value_event) {
            errors.push("value_event", "invalid", problem);
        }
    }
    if let Some(currency) = &spec.currency
        && !is_currency_code(currency)
    {
        errors.push(
            "currency",
            "invalid",
            format!("`{currency}` is not a currency code: three capital letters as in ISO 4217, such as EUR or USD"),
        );
    }
    for (index, condition) in spec.targeting.iter().enumerate() {
        for (field, message) in condition.problems() {
            errors.push(format!("targeting[{index}].{field}"), "invalid", message);
        }
    }
    if let Some(salt) = &spec.salt
        && (salt.is_empty() || salt.len() > 128)
    {
        errors.push("salt", "invalid", "must be 1 to 128 characters");
    }
    validate_metrics(spec, &mut errors);
    validate_segments(spec, &mut errors);
    super::covariate_rules::validate_covariates(spec, &mut errors);
    if let Some(layer) = &spec.layer {
        layer.check(&mut errors);
    }
    validate_interactions(spec, &mut errors);
    validate_shipped(spec, &mut errors);
    super::phase::validate_phases(spec, &mut errors);
    // Below 1e-10 the normal and t quantiles lose their digits; above 0.5 a two-sided test
    // is meaningless (decision 017).
    if !(spec.alpha >= 1e-10 && spec.alpha <= 0.5) {
        errors.push(
            "alpha",
            "out_of_range",
            "must be between 1e-10 and 0.5 (inclusive)",
        );
    }
    if !(spec.sequential_tuning.is_finite() && spec.sequential_tuning >= 1.0) {
        errors.push(
            "sequential_tuning",
            "out_of_range",
            "must be at least 1 unit",
        );
    }
    if !(spec.minimum_detectable_effect.is_finite() && spec.minimum_detectable_effect > 0.0) {
        errors.push(
            "minimum_detectable_effect",
            "out_of_range",
            "must be a positive relative effect, e.g. 0.05 for 5%",
        );
    }
    if !(spec.power > 0.0 && spec.power < 1.0) {
        errors.push(
            "power",
            "out_of_range",
            "must be between 0 and 1 (exclusive)",
        );
    }
    errors
}

fn validate_variants(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    if spec.variants.len() < 2 {
        errors.push(
            "variants",
            "too_few",
            "needs at least two variants: a control and a treatment",
        );
    }
    if spec.variants.len() > 20 {
        errors.push("variants", "too_many", "at most 20 variants");
    }
    let mut seen = HashSet::new();
    for (index, variant) in spec.variants.iter().enumerate() {
        if let Some(problem) = check_key(&variant.key) {
            errors.push(format!("variants[{index}].key"), "invalid", problem);
        } else if !seen.insert(variant.key.as_str()) {
            errors.push(
                format!("variants[{index}].key"),
                "duplicate",
                format!("variant `{}` appears twice", variant.key),
            );
        }
        if !(variant.weight.is_finite() && variant.weight > 0.0) {
            errors.push(
                format!("variants[{index}].weight"),
                "out_of_range",
                "must be a positive number",
            );
        }
    }
    // Each weight finite yet their total infinite (e.g. two of 1e308) would normalize to zeros
    // and silently fall back to an equal split.
    let total: f64 = spec.variants.iter().map(|v| v.weight).sum();
    let weights_valid = spec
        .variants
        .iter()
        .all(|v| v.weight.is_finite() && v.weight > 0.0);
    if weights_valid && !total.is_finite() {
        errors.push(
            "variants",
            "out_of_range",
            "the weights must add up to a finite number",
        );
    }
    if let Some(control) = &spec.control
        && !spec.variants.iter().any(|v| &v.key == control)
    {
        errors.push(
            "control",
            "unknown",
            format!("`{control}` is not one of the variants"),
        );
    }
}

fn validate_journey(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    if spec.journey.is_empty() {
        errors.push(
            "journey",
            "required",
            "needs at least one stage event, e.g. [\"add_to_cart\", \"purchase\"]",
        );
    }
    if spec.journey.len() > 20 {
        errors.push("journey", "too_many", "at most 20 stages");
    }
    let mut seen = HashSet::new();
    for (index, stage) in spec.journey.iter().enumerate() {
        if let Some(problem) = check_key(stage) {
            errors.push(format!("journey[{index}]"), "invalid", problem);
        } else if !seen.insert(stage.as_str()) {
            errors.push(
                format!("journey[{index}]"),
                "duplicate",
                format!("stage `{stage}` appears twice"),
            );
        }
    }
}

fn validate_guardrail_stages(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    let mut seen = HashSet::new();
    for (index, stage) in spec.guardrail_stages.iter().enumerate() {
        let field = format!("guardrail_stages[{index}]");
        if !spec.journey.contains(stage) {
            errors.push(
                field,
                "unknown",
                format!("`{stage}` is not a stage of the journey"),
            );
        } else if !seen.insert(stage.as_str()) {
            errors.push(field, "duplicate", format!("`{stage}` appears twice"));
        }
    }
}

fn validate_metrics(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    if spec.metrics.len() > 20 {
        errors.push("metrics", "too_many", "at most 20 metrics");
    }
    let mut seen = HashSet::new();
    for (index, metric) in spec.metrics.iter().enumerate() {
        let field = |name: &str| format!("metrics[{index}].{name}");
        if let Some(problem) = check_key(&metric.key) {
            errors.push(field("key"), "invalid", problem);
        } else if metric.key == REVENUE_METRIC || metric.key == TIME_TO_CONVERSION_METRIC {
            errors.push(
                field("key"),
                "reserved",
                format!("`{}` is a built-in metric", metric.key),
            );
        } else if !seen.insert(metric.key.as_str()) {
            errors.push(
                field("key"),
                "duplicate",
                format!("metric `{}` appears twice", metric.key),
            );
        }
        if let Some(problem) = check_key(&metric.event) {
            errors.push(field("event"), "invalid", problem);
        }
        let start = metric.window_start_hours;
        if !(start.is_finite() && start >= 0.0) {
            errors.push(
                field("window_start_hours"),
                "out_of_range",
                "must be zero or a positive number of hours",
            );
        }
        let end = metric
            .window_end_hours
            .unwrap_or(spec.conversion_window_hours);
        if !end.is_finite() || end <= start {
            errors.push(
                field("window_end_hours"),
                "out_of_range",
                "must be after window_start_hours",
            );
        }
        if let Some(min_count) = metric.min_count {
            if metric.kind != MetricKind::Conversion {
                errors.push(
                    field("min_count"),
                    "not_applicable",
                    "applies only to `conversion` metrics",
                );
            } else if min_count < 1 {
                errors.push(field("min_count"), "out_of_range", "must be at least 1");
            }
        }
    }
}

fn validate_segments(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    if spec.segments.len() > 10 {
        errors.push("segments", "too_many", "at most 10 segment attributes");
    }
    if !(1..=1000).contains(&spec.max_segment_values) {
        errors.push(
            "max_segment_values",
            "out_of_range",
            "must be between 1 and 1000",
        );
    }
    let mut seen = HashSet::new();
    for (index, attribute) in spec.segments.iter().enumerate() {
        if attribute == PLUGIN_VERSION_SEGMENT {
            errors.push(
                format!("segments[{index}]"),
                "reserved",
                "`plugin_version` is a built-in segment; it is kept whenever a plugin decides",
            );
            continue;
        }
        if attribute.trim().is_empty() || attribute.len() > 64 {
            errors.push(
                format!("segments[{index}]"),
                "invalid",
                "must be 1 to 64 characters",
            );
        } else if !seen.insert(attribute.as_str()) {
            errors.push(
                format!("segments[{index}]"),
                "duplicate",
                format!("`{attribute}` appears twice"),
            );
        }
    }
}

fn validate_interactions(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    // Each is one more slice family per counter update: bounded like declared segments.
    if spec.interacts_with.len() > 5 {
        errors.push("interacts_with", "too_many", "at most 5 experiments");
    }
    let mut seen = HashSet::new();
    for (index, key) in spec.interacts_with.iter().enumerate() {
        let field = format!("interacts_with[{index}]");
        if let Some(problem) = check_key(key) {
            errors.push(field, "invalid", problem);
        } else if key == &spec.key {
            errors.push(
                field,
                "invalid",
                "an experiment cannot interact with itself",
            );
        } else if !seen.insert(key.as_str()) {
            errors.push(field, "duplicate", format!("`{key}` appears twice"));
        }
    }
    // `exp:` names are kept for interactions: a declared segment may not take one.
    for (index, attribute) in spec.segments.iter().enumerate() {
        if attribute.starts_with(super::INTERACTION_SEGMENT_PREFIX) {
            errors.push(
                format!("segments[{index}]"),
                "reserved",
                "`exp:` attributes are kept for `interacts_with`",
            );
        }
    }
}

fn validate_shipped(spec: &ExperimentSpec, errors: &mut ValidationErrors) {
    match (&spec.shipped, spec.status == Status::Shipped) {
        (None, true) => errors.push(
            "shipped",
            "required",
            "a shipped experiment names its winner: {\"variant\": KEY, \"at\": TIME}",
        ),
        (Some(_), false) => errors.push(
            "shipped",
            "not_applicable",
            "only a shipped experiment has a shipped variant",
        ),
        (Some(shipped), true) if !spec.variants.iter().any(|v| v.key == shipped.variant) => {
            errors.push(
                "shipped.variant",
                "unknown",
                format!("`{}` is not one of the variants", shipped.variant),
            );
        }
        _ => {}
    }
}

/// An ISO-4217-like code: exactly three ASCII capital letters. The list of codes changes (and
/// includes testing and fund codes), so the shape is checked, not membership.
fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|byte| byte.is_ascii_uppercase())
}
