//! Statistics over sufficient statistics (count, sum, sum of squares): Welch, always-valid
//! sequential, Bayesian, SRM, multiple testing and power. Pure: no I/O, no clock, no randomness.
//!
//! # Conventions (independent checkers rely on these)
//!
//! - **Rates are means of 0/1 values per exposed unit.** A stage's value for a unit is 1 if it
//!   reached the stage inside its window, else 0; every exposed unit is in the denominator, so
//!   randomization protects the comparison. Step rates (from the previous stage) are
//!   description only. A conversion metric's moments therefore have sum = sum of squares =
//!   converters.
//! - **Variances are sample variances (n − 1 denominator)**; for 0/1 data n/(n−1)·p(1−p).
//!   `scipy.stats.ttest_ind(b, a, equal_var=False)` on the raw arrays gives the same numbers.
//! - **Difference test: Welch's t-test** ([`welch::welch`]): Student t with Welch–Satterthwaite
//!   df, two-sided, on variant − control; the absolute CI uses the same statistic, so it
//!   excludes 0 exactly when p < α. **Relative effect** B/A − 1 with Fieller's interval
//!   ([`welch::relative_effect`], [`ratio`]): it inverts the same Welch statistic with the same
//!   t quantile, so it too excludes 0 exactly when p < α (`null` with a warning when control's
//!   mean is ≤ 0 or not distinguishable from 0); the delta-method standard error is kept for
//!   pooling slices.
//! - **Sequential: asymptotic confidence sequences** (Waudby-Smith et al. 2023; GrowthBook /
//!   Eppo form, [`sequential::confidence_sequence`]): N units of the two arms, s² = N·se²,
//!   ρ² = (−2 ln α + ln(−2 ln α + 1))/M with tuning M (default 10 000),
//!   half-width = s·sqrt(2(Nρ²+1)/(N²ρ²)·ln(sqrt(Nρ²+1)/α)),
//!   p = min(1, sqrt(Nρ²+1)·exp(−ρ²N(est/se)²/(2(Nρ²+1)))).
//! - **Bayesian**: rates have Beta(1 + reached, 1 + units − reached) posteriors; chance to beat
//!   control, expected loss E[max(control − variant, 0)] and, with three or more arms, each
//!   arm's chance to be best are integrated on the logit scale in time independent of the
//!   counts, to 1e-6 absolute (decision 017, [`bayes`]); continuous metrics use the normal
//!   approximation of their means. All respect the metric's direction (for "decrease is
//!   good", beating control means being lower).
//! - **SRM**: Pearson chi-square goodness of fit of exposed units against the configured
//!   weights; a mismatch is p < 0.001 ([`srm::SRM_THRESHOLD`]).
//! - **Multiple testing**: Holm by default across all stage × non-control-variant comparisons of
//!   an experiment, Benjamini–Hochberg on request ([`correction`]); metrics form their own
//!   family. Raw and adjusted p-values are both reported; `significant` = the experiment's
//!   `analysis` rule's adjusted p-value < α (the always-valid test by default, Welch's under
//!   `fixed` once the planned sample is in), shown beside that rule's interval at the level the
//!   correction used (decision 017).
//! - **Power**: n per variant by the unpooled-alternative formula of [`power`]; the results
//!   show it for the control's rate at each stage (headline: the last stage) and the relative
//!   MDE reachable with the smallest arm's units.
//! - **Guard rails**: an undefined quantity (no units, zero variance, control mean 0, …) is
//!   `None` — `null` in JSON — with a `warnings` entry saying why ([`Undefined`]); never NaN or
//!   infinity, never a panic.
//! - **Segments** ([`analysis::analyze_segments`]): each slice (device = mobile, …) is analysed
//!   like a whole experiment (SRM per slice included); slices are exploratory, so their p-values
//!   are re-adjusted with Benjamini–Hochberg across slice values × stages and metrics × variants
//!   of the attribute. Whether the effect differs between slices is Cochran's Q on the slices'
//!   absolute effects with the Welch standard errors of their CIs ([`heterogeneity`]).
//! - **Guardrails** ([`guardrail_harms`]): a guardrail metric or a journey stage marked in
//!   `guardrail_stages` harms when its always-valid interval lies wholly on the harmful side
//!   of zero. **Plugin health** ([`plugin_health`], [`fallbacks::share_difference`]): each
//!   variant's share of plugin calls that fell back against control's, Agresti–Caffo adjusted
//!   inside the same confidence sequence.
//!
//! Only [`analysis`] knows `touchstone-model`; every other module takes plain numbers or the
//! small structs [`Counts`] and [`Sample`].

pub mod analysis;
pub mod bayes;
pub mod correction;
pub mod cuped;
pub mod fallbacks;
pub mod heterogeneity;
pub mod power;
pub mod ratio;
pub mod sample;
pub mod sequential;
pub mod srm;
pub mod welch;

pub use analysis::{
    GuardrailKind, Harm, InputError, PLUGIN_FALLBACKS, Results, SegmentResults, analyze,
    analyze_input, analyze_segments, guardrail_harms, plan, plugin_health, plugin_health_harms,
    render_table, srm_alert, wholly_harmful,
};
pub use correction::Correction;
pub use sample::{Counts, Sample, Undefined};
