//! touchstone-stats integration tests: one binary, a module per area.

mod agreement;
mod analysis;
mod beta_reference;
mod calibration;
mod chance_to_be_best;
mod cuped_aggregates;
mod cuped_calibration;
mod cuped_reference;
mod cuped_results;
mod cuped_simulation;
mod guardrail_simulation;
mod guardrails;
mod properties;
mod reference;
mod reference_cases;
mod refusals;
mod segment_reference;
mod segment_simulation;
mod segments;
mod simulation;
mod verdict_outputs;
