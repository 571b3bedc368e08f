//! Layers: mutually exclusive experiments. An experiment may own a range of a named layer; a
//! unit takes part only when its layer hash falls in that range. The hash is GrowthBook's
//! namespace hash (`hash_v1("__" + layer, unit_id)`, see `assignment::in_layer`), so a shop
//! moving from GrowthBook keeps its namespaces, and different layers are independent.

use crate::assignment;
use crate::validation::ValidationErrors;
use serde::{Deserialize, Serialize};

/// `"layer": {"name": "checkout", "range": [0.0, 0.5]}`: the half-open range `[start, end)`
/// of the layer's hash space the experiment owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    pub name: String,
    pub range: [f64; 2],
}

impl LayerSpec {
    pub fn start(&self) -> f64 {
        self.range[0]
    }

    pub fn end(&self) -> f64 {
        self.range[1]
    }

    /// Whether the unit's layer hash falls in `[start, end)` (GrowthBook's `inNamespace`).
    pub fn contains(&self, unit_id: &str) -> bool {
        assignment::in_layer(&self.name, unit_id, self.start(), self.end())
    }

    /// The part of the hash space both ranges own, if they are in the same layer and share
    /// any. Half-open ranges: `[0, 0.5)` and `[0.5, 1)` touch but do not overlap.
    pub fn overlap(&self, other: &LayerSpec) -> Option<[f64; 2]> {
        if self.name != other.name {
            return None;
        }
        let start = self.start().max(other.start());
        let end = self.end().min(other.end());
        (start < end).then_some([start, end])
    }

    /// Problems with the layer, reported under `layer.…`.
    pub(crate) fn check(&self, errors: &mut ValidationErrors) {
        // Any text, as GrowthBook's namespace names: the name only feeds the hash and the
        // layer map, never a URL or a store key, so a shop keeps its namespaces as they are.
        let length = self.name.chars().count();
        if !(1..=64).contains(&length) || self.name.chars().any(char::is_control) {
            errors.push(
                "layer.name",
                "invalid",
                "must be 1 to 64 characters, none of them control characters",
            );
        }
        let [start, end] = self.range;
        let in_unit = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !(in_unit(start) && in_unit(end)) {
            errors.push(
                "layer.range",
                "out_of_range",
                "both ends must lie in [0, 1]",
            );
        } else if start >= end {
            errors.push(
                "layer.range",
                "out_of_range",
                "the start must be below the end: the range is [start, end)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &str, start: f64, end: f64) -> LayerSpec {
        LayerSpec {
            name: name.into(),
            range: [start, end],
        }
    }

    #[test]
    fn ranges_that_touch_do_not_overlap() {
        assert_eq!(
            layer("checkout", 0.0, 0.5).overlap(&layer("checkout", 0.5, 1.0)),
            None
        );
    }

    #[test]
    fn the_overlap_is_the_shared_part() {
        assert_eq!(
            layer("checkout", 0.0, 0.6).overlap(&layer("checkout", 0.4, 1.0)),
            Some([0.4, 0.6])
        );
        assert_eq!(
            layer("checkout", 0.2, 0.3).overlap(&layer("checkout", 0.0, 1.0)),
            Some([0.2, 0.3])
        );
    }

    #[test]
    fn different_layers_never_overlap() {
        assert_eq!(
            layer("checkout", 0.0, 1.0).overlap(&layer("pdp", 0.0, 1.0)),
            None
        );
    }
}
