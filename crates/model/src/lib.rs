//! Touchstone's domain model: what an experiment is, how a unit is assigned, what an
//! outcome event is and what the store aggregates. Pure: no I/O, no async, no clock —
//! time is always passed in.

pub mod aggregates;
pub mod assignment;
pub mod attributes;
pub mod event;
pub mod experiment;
pub mod holdout;
pub mod layer;
pub mod metric;
pub mod targeting;
pub mod timestamp;
pub mod validation;

pub use aggregates::{
    Aggregates, CovariateSums, MetricAggregates, Moments, PluginCalls, StageAggregates,
    VariantAggregates, exposure_hour,
};
pub use event::{EventProblem, MAX_ABS_NUMBER, OutcomeEvent, is_bounded_number};
pub use experiment::{
    Analysis, Experiment, ExperimentSpec, GuardrailAction, INTERACTION_SEGMENT_PREFIX, MAX_PHASES,
    PLUGIN_VERSION_SEGMENT, Phase, PhaseChange, RunningChange, SEGMENT_NONE, SEGMENT_OTHER,
    Shipped, Status, VariantSpec,
};
pub use holdout::{Holdout, HoldoutSpec, HoldoutStatus};
pub use layer::LayerSpec;
pub use metric::{Covariate, Direction, MetricKind, MetricRole, MetricSpec};
pub use targeting::{Condition, Operator};
pub use timestamp::Timestamp;
pub use validation::{FieldError, ValidationErrors};
