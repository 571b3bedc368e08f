//! The results of an experiment: every stage and metric, every variant against control, with
//! the corrections, SRM and power around them. The only module that knows `touchstone-model`.
//!
//! Both entry points — [`analyze`] (the server's aggregates) and [`analyze_input`] (the
//! offline JSON of `touchstone analyze`) — build one `Design` and run the same code.

mod best;
mod compare;
mod covariate_input;
mod cuped_compare;
mod guardrail;
mod input;
mod plan;
mod plugin_health;
mod results;
mod segment_input;
mod segment_table;
mod segments;
mod summary;
mod table;
mod verdict;

pub use guardrail::{GuardrailKind, Harm, guardrail_harms, srm_alert, wholly_harmful};
pub use input::{InputError, analyze_input};
pub use plan::plan;
pub use plugin_health::{PLUGIN_FALLBACKS, plugin_health, plugin_health_harms};
pub use results::{
    Comparison, CovariateMissing, CupedResult, Effect, FallbackComparison, MetricResult,
    MetricVariant, PluginHealthVariant, PowerResult, Results, SampleProgress, SequentialResult,
    SrmResult, StagePower, StageResult, StageVariant, UnadjustedComparison, VariantResult, Verdict,
    VerdictInterval,
};
pub use segments::{Heterogeneity, SegmentResults, SegmentValue, analyze_segments, combine_slices};
pub use summary::{cuped_note, cuped_words};
pub use table::render_table;

use crate::correction::Correction;
use crate::power::{reachable_mde, sample_size_per_variant};
use crate::sample::{Counts, finite};
use crate::srm::srm;
use compare::{Outcome, Settings, compare, conversion_counts};
pub(crate) use cuped_compare::DeclaredCovariate;
use cuped_compare::{ArmSums, adjust};
use touchstone_model::{
    Aggregates, Analysis, CovariateSums, Direction, Experiment, MetricKind, MetricRole, Moments,
    VariantAggregates,
};

/// Statistics of an experiment from the store's aggregates: the body of
/// `GET /v1/experiments/{key}/results`. Never panics; undefined numbers are `null` with a
/// warning. Variants, stages and metrics are matched by key, so aggregates that miss one
/// (nothing counted yet) read as zeros.
pub fn analyze(experiment: &Experiment, aggregates: &Aggregates) -> Results {
    let spec = experiment.spec();
    let mut warnings = Vec::new();
    let empty = VariantAggregates::default();
    let arms = experiment
        .variants()
        .iter()
        .zip(experiment.weights())
        .map(|(variant, &weight)| {
            let counted = aggregates
                .variants
                .iter()
                .find(|v| v.key == variant.key)
                .unwrap_or(&empty);
            let reached = experiment
                .journey()
                .iter()
                .map(|stage| {
                    let reached = counted
                        .stages
                        .iter()
                        .find(|s| &s.stage == stage)
                        .map_or(0, |s| s.reached);
                    if reached > counted.units {
                        warnings.push(format!(
                            "stage {stage}, variant {}: {reached} units reached it but only {} were exposed; capped",
                            variant.key, counted.units
                        ));
                    }
                    reached.min(counted.units)
                })
                .collect();
            let counted_metric =
                |key: &str| counted.metrics.iter().find(|m| m.metric == key);
            let metrics = experiment
                .metrics()
                .iter()
                .map(|metric| counted_metric(&metric.key).map_or_else(Moments::default, |m| m.moments))
                .collect();
            let metric_covariates = experiment
                .metrics()
                .iter()
                .map(|metric| counted_metric(&metric.key).and_then(|m| m.covariate))
                .collect();
            let stage_covariates = experiment
                .journey()
                .iter()
                .map(|stage| {
                    counted
                        .stages
                        .iter()
                        .find(|s| &s.stage == stage)
                        .and_then(|s| s.covariate)
                })
                .collect();
            Arm {
                key: variant.key.clone(),
                weight,
                units: counted.units,
                reached,
                metrics,
                stage_covariates,
                metric_covariates,
            }
        })
        .collect();
    let metrics = experiment
        .metrics()
        .iter()
        .map(|metric| MetricDesign {
            key: metric.key.clone(),
            kind: Some(metric.kind),
            direction: metric.direction,
            role: metric.role,
            randomized: metric.kind.denominator_is_exposed_units(),
            covariate: metric
                .covariate
                .as_ref()
                .map(|attribute| DeclaredCovariate {
                    attribute: Some(attribute.clone()),
                }),
        })
        .collect();
    let stage_covariates = experiment
        .journey()
        .iter()
        .map(|stage| {
            experiment
                .stage_covariate(stage)
                .map(|attribute| DeclaredCovariate {
                    attribute: Some(attribute.to_string()),
                })
        })
        .collect();
    let mut results = run(
        Design {
            experiment: Some(spec.key.clone()),
            control: experiment.control_index(),
            alpha: spec.alpha,
            tuning: spec.sequential_tuning,
            mde: spec.minimum_detectable_effect,
            power: spec.power,
            correction: Correction::Holm,
            analysis: spec.analysis,
            journey: experiment.journey().to_vec(),
            stage_covariates,
            arms,
            metrics,
        },
        warnings,
    );
    for stage in &mut results.stages {
        stage.guardrail = experiment.is_guardrail_stage(&stage.stage);
    }
    results
}

/// What both entry points agree on before any statistic is computed.
pub(crate) struct Design {
    pub experiment: Option<String>,
    pub control: usize,
    pub alpha: f64,
    pub tuning: f64,
    pub mde: f64,
    pub power: f64,
    pub correction: Correction,
    pub analysis: Analysis,
    pub journey: Vec<String>,
    /// In journey order: the stages that adjust for a covariate (CUPED, decision 023).
    pub stage_covariates: Vec<Option<DeclaredCovariate>>,
    pub arms: Vec<Arm>,
    pub metrics: Vec<MetricDesign>,
}

pub(crate) struct Arm {
    pub key: String,
    pub weight: f64,
    pub units: u64,
    /// In journey order, each ≤ units.
    pub reached: Vec<u64>,
    /// In `Design::metrics` order.
    pub metrics: Vec<Moments>,
    /// In journey order; `Some` where the covariate's sums were counted (y = reached, 0/1).
    pub stage_covariates: Vec<Option<CovariateSums>>,
    /// In `Design::metrics` order.
    pub metric_covariates: Vec<Option<CovariateSums>>,
}

#[derive(Clone)]
pub(crate) struct MetricDesign {
    pub key: String,
    pub kind: Option<MetricKind>,
    pub direction: Direction,
    pub role: MetricRole,
    pub randomized: bool,
    /// Declared CUPED covariate (decision 023).
    pub covariate: Option<DeclaredCovariate>,
}

pub(crate) fn run(design: Design, mut warnings: Vec<String>) -> Results {
    let control = &design.arms[design.control.min(design.arms.len().saturating_sub(1))];
    let power = power_result(&design, &mut warnings);
    let waiting = design.analysis == Analysis::Fixed && !power.progress.is_some_and(|p| p >= 1.0);
    if design.analysis == Analysis::Fixed && power.n_per_variant.is_none() {
        warnings.push(
            "analysis is fixed but the planned sample is undefined (no baseline rate yet): \
             no verdict until it is"
                .to_string(),
        );
    }
    let settings = |direction| Settings {
        alpha: design.alpha,
        tuning: design.tuning,
        direction,
        analysis: design.analysis,
        waiting,
    };
    for arm in design.arms.iter().filter(|arm| arm.units == 0) {
        warnings.push(format!("variant {}: no exposed units yet", arm.key));
    }
    let mut stages: Vec<StageResult> = design
        .journey
        .iter()
        .enumerate()
        .map(|(index, stage)| StageResult {
            stage: stage.clone(),
            guardrail: false,
            variants: design
                .arms
                .iter()
                .map(|arm| {
                    let counts = Counts::new(arm.units, arm.reached[index]);
                    let previous = if index == 0 {
                        arm.units
                    } else {
                        arm.reached[index - 1]
                    };
                    let step_rate =
                        (previous > 0).then(|| arm.reached[index] as f64 / previous as f64);
                    let vs_control = (arm.key != control.key).then(|| {
                        let label = format!("stage {stage}, {} vs {}", arm.key, control.key);
                        let mut comparison = compare(
                            Outcome::Rate(Counts::new(control.units, control.reached[index])),
                            Outcome::Rate(counts),
                            settings(Direction::Increase),
                            &label,
                            &mut warnings,
                        );
                        if let Some(declared) = &design.stage_covariates[index] {
                            // y is 0/1 per exposed unit: Σy = Σy² = reached.
                            let sums = |arm: &Arm| ArmSums {
                                outcome: Moments {
                                    count: arm.units,
                                    sum: arm.reached[index] as f64,
                                    sum_squares: arm.reached[index] as f64,
                                },
                                covariate: arm.stage_covariates[index],
                            };
                            adjust(
                                &mut comparison,
                                declared,
                                sums(control),
                                sums(arm),
                                settings(Direction::Increase),
                                &label,
                                &mut warnings,
                            );
                        }
                        comparison
                    });
                    StageVariant {
                        key: arm.key.clone(),
                        units: arm.units,
                        reached: arm.reached[index],
                        rate: counts.rate(),
                        step_rate,
                        drop_off: step_rate.map(|s| 1.0 - s),
                        chance_to_be_best: None,
                        vs_control,
                    }
                })
                .collect(),
        })
        .collect();
    let mut metrics: Vec<MetricResult> = design
        .metrics
        .iter()
        .enumerate()
        .map(|(index, metric)| {
            let outcome = |moments: &Moments| match metric.kind {
                Some(MetricKind::Conversion) => {
                    conversion_counts(moments).map_or(Outcome::Values(*moments), Outcome::Rate)
                }
                _ => Outcome::Values(*moments),
            };
            MetricResult {
                metric: metric.key.clone(),
                kind: metric.kind,
                direction: metric.direction,
                role: metric.role,
                randomized: metric.randomized,
                variants: design
                    .arms
                    .iter()
                    .map(|arm| {
                        let moments = arm.metrics[index];
                        let vs_control = (arm.key != control.key).then(|| {
                            let label =
                                format!("metric {}, {} vs {}", metric.key, arm.key, control.key);
                            let mut comparison = compare(
                                outcome(&control.metrics[index]),
                                outcome(&moments),
                                settings(metric.direction),
                                &label,
                                &mut warnings,
                            );
                            if let Some(declared) = &metric.covariate {
                                let sums = |arm: &Arm| ArmSums {
                                    outcome: arm.metrics[index],
                                    covariate: arm.metric_covariates[index],
                                };
                                adjust(
                                    &mut comparison,
                                    declared,
                                    sums(control),
                                    sums(arm),
                                    settings(metric.direction),
                                    &label,
                                    &mut warnings,
                                );
                            }
                            comparison
                        });
                        MetricVariant {
                            key: arm.key.clone(),
                            units: moments.count,
                            mean: moments.mean().and_then(finite),
                            mature_units: None,
                            chance_to_be_best: None,
                            vs_control,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    best::fill(&design, &mut stages, &mut metrics, &mut warnings);
    verdict::decide_family(
        design.correction,
        stages
            .iter_mut()
            .flat_map(|s| s.variants.iter_mut())
            .filter_map(|v| v.vs_control.as_mut())
            .map(|c| (design.alpha, c))
            .collect(),
    );
    verdict::decide_family(
        design.correction,
        metrics
            .iter_mut()
            .flat_map(|m| m.variants.iter_mut())
            .filter_map(|v| v.vs_control.as_mut())
            .map(|c| (design.alpha, c))
            .collect(),
    );
    let srm = srm_result(&design, &mut warnings);
    let sample = SampleProgress {
        planned_units: power.n_per_variant,
        units: power.units_per_variant,
        progress: power.progress,
    };
    let mut results = Results {
        experiment: design.experiment.clone(),
        control: control.key.clone(),
        alpha: design.alpha,
        correction: design.correction,
        sequential_tuning: design.tuning,
        analysis: design.analysis,
        sample,
        variants: variant_results(&design),
        stages,
        metrics,
        srm,
        power,
        summary: Vec::new(),
        warnings: Vec::new(),
        segments: Vec::new(),
        plugin_health: Vec::new(),
    };
    results.summary = summary::sentences(&results);
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    results.warnings = warnings;
    results
}

fn variant_results(design: &Design) -> Vec<VariantResult> {
    let total: f64 = design.arms.iter().map(|a| a.weight).sum();
    design
        .arms
        .iter()
        .map(|arm| VariantResult {
            key: arm.key.clone(),
            weight: finite(arm.weight / total).unwrap_or(0.0),
            units: arm.units,
        })
        .collect()
}

fn srm_result(design: &Design, warnings: &mut Vec<String>) -> SrmResult {
    let units: Vec<u64> = design.arms.iter().map(|a| a.units).collect();
    let weights: Vec<f64> = design.arms.iter().map(|a| a.weight).collect();
    let df = (units.len() as u64).saturating_sub(1);
    match srm(&units, &weights) {
        Ok(test) => SrmResult {
            chi_square: finite(test.chi_square),
            df: test.df,
            p_value: finite(test.p_value),
            mismatch: test.mismatch,
        },
        Err(why) => {
            warnings.push(format!("sample ratio check is undefined: {why}"));
            SrmResult {
                chi_square: None,
                df,
                p_value: None,
                mismatch: false,
            }
        }
    }
}

fn power_result(design: &Design, warnings: &mut Vec<String>) -> PowerResult {
    let control = &design.arms[design.control.min(design.arms.len().saturating_sub(1))];
    let units_per_variant = design.arms.iter().map(|a| a.units).min().unwrap_or(0);
    let stages: Vec<StagePower> = design
        .journey
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            let baseline = Counts::new(control.units, control.reached[index]).rate();
            let planned = baseline
                .map(|p| sample_size_per_variant(p, design.mde, design.alpha, design.power));
            let n_per_variant = match planned {
                Some(Ok(n)) => Some(n),
                Some(Err(why)) => {
                    warnings.push(format!("power at stage {stage} is undefined: {why}"));
                    None
                }
                None => None,
            };
            let mde_reachable = baseline
                .and_then(|p| reachable_mde(p, units_per_variant, design.alpha, design.power).ok())
                .and_then(finite);
            StagePower {
                stage: stage.clone(),
                baseline,
                n_per_variant,
                progress: n_per_variant.and_then(|n| finite(units_per_variant as f64 / n as f64)),
                mde_reachable,
            }
        })
        .collect();
    let headline = stages.last().cloned();
    PowerResult {
        alpha: design.alpha,
        power: design.power,
        mde: design.mde,
        units_per_variant,
        stage: headline.as_ref().map(|s| s.stage.clone()),
        baseline: headline.as_ref().and_then(|s| s.baseline),
        n_per_variant: headline.as_ref().and_then(|s| s.n_per_variant),
        progress: headline.as_ref().and_then(|s| s.progress),
        mde_reachable: headline.as_ref().and_then(|s| s.mde_reachable),
        stages,
    }
}

/// Fills each metric's `mature_units` as of `as_of_ms`: the exposed units whose whole window
/// (`window_end_hours` after exposure) has passed, from the store's exposures per hour.
pub fn fill_mature_units(
    results: &mut Results,
    experiment: &Experiment,
    aggregates: &Aggregates,
    as_of_ms: i64,
) {
    for metric in &mut results.metrics {
        let Some(spec) = experiment
            .metrics()
            .iter()
            .find(|spec| spec.key == metric.metric)
        else {
            continue;
        };
        let window_ms = (spec.window_end_hours * 3_600_000.0).ceil() as i64;
        for variant in &mut metric.variants {
            variant.mature_units = aggregates
                .variants
                .iter()
                .find(|arm| arm.key == variant.key)
                .map(|arm| arm.exposed_by(as_of_ms.saturating_sub(window_ms)));
        }
    }
}
