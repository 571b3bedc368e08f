//! What a running experiment may not change through a new definition: what would move units
//! already exposed in the current phase. Weights, traffic and salt change through a new phase.

use super::Experiment;

impl Experiment {
    /// Why `next` may not replace `self` while `self` is running: changing the variant keys or
    /// their order, the layer, the weights (compared normalized, so `[1, 1]` equals
    /// `[0.5, 0.5]`), the traffic or the salt would move units already exposed in this phase.
    /// The last three are what a new phase is for ([`RunningChange::new_phase`]). Anything else
    /// (payloads, journey, metrics, targeting, status) may change, except a covariate of an
    /// outcome kept (`covariate_conflict`). `None` when `self` is not
    /// running.
    pub fn reshuffle_conflict(&self, next: &Experiment) -> Option<RunningChange> {
        if !self.is_running() {
            return None;
        }
        let refuse = |field: String, new_phase: bool, message: &str| {
            Some(RunningChange {
                field,
                new_phase,
                message: message.to_owned(),
            })
        };
        let keys = |e: &Experiment| {
            e.variants()
                .iter()
                .map(|v| v.key.clone())
                .collect::<Vec<_>>()
        };
        if keys(self) != keys(next) {
            return refuse(
                "variants".into(),
                false,
                "the variants of a running experiment cannot change: it would reshuffle exposed units",
            );
        }
        if self.weights != next.weights {
            // Name the first weight written differently (a ratio change moves at least one).
            let index = (0..self.weights.len())
                .find(|&i| self.spec.variants[i].weight != next.spec.variants[i].weight)
                .unwrap_or(0);
            return refuse(
                format!("variants[{index}].weight"),
                true,
                "the weights of a running experiment cannot change within a phase: it would reshuffle exposed units",
            );
        }
        if self.spec.traffic != next.spec.traffic {
            return refuse(
                "traffic".into(),
                true,
                "the traffic of a running experiment cannot change within a phase: it would move exposed units in or out of their variant",
            );
        }
        if self.salt() != next.salt() {
            return refuse(
                "salt".into(),
                true,
                "the salt of a running experiment cannot change within a phase: it would reshuffle exposed units",
            );
        }
        if self.spec.layer != next.spec.layer {
            return refuse(
                "layer".into(),
                false,
                "the layer of a running experiment cannot change: it would move exposed units in or out (stop it and start a new experiment)",
            );
        }
        self.covariate_conflict(next)
    }
}

/// A change a running experiment may not take through a new definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningChange {
    /// The field of the definition at fault, e.g. `variants[1].weight`.
    pub field: String,
    pub message: String,
    /// Whether starting a new phase makes the change (weights, traffic, salt).
    pub new_phase: bool,
}
