//! Interactions between experiments that share units: at exposure, the unit's variant in each
//! experiment this one `interacts_with` becomes the segment attribute `exp:<key>`, so results
//! by that segment (and their heterogeneity test) show whether one effect depends on the other.

use crate::catalog::Catalog;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use touchstone_model::{Experiment, SEGMENT_NONE};

/// Adds `exp:<key>` → the unit's variant key in `<key>` (or `(none)`) for each interaction.
pub fn add_segments(
    catalog: &Catalog,
    experiment: &Experiment,
    unit_id: &str,
    attributes: &Map<String, Value>,
    segments: &mut BTreeMap<String, String>,
) {
    for (other, attribute) in experiment.interactions() {
        let variant = catalog
            .get(other)
            // A holdout keeps the unit out of every experiment at that touchpoint.
            .filter(|other| catalog.holding_out(other.touchpoint(), unit_id).is_none())
            .and_then(|other| variant_in(other, unit_id, attributes));
        segments.insert(
            attribute.to_owned(),
            variant.unwrap_or(SEGMENT_NONE).to_owned(),
        );
    }
}

/// The variant `other` gives the unit, computed from its definition as an assign call at its
/// touchpoint would (running, targeting, layer, traffic and split), without asking the store:
/// deterministic, so it costs no round trip. A plugin's eligibility there is not asked again
/// (the unit is not at that touchpoint now); a unit a plugin kept out counts as in.
fn variant_in<'a>(
    other: &'a Experiment,
    unit_id: &str,
    attributes: &Map<String, Value>,
) -> Option<&'a str> {
    if !other.is_running() || !other.targets(attributes) {
        return None;
    }
    let index = other.assign(unit_id)?;
    other
        .variants()
        .get(index)
        .map(|variant| variant.key.as_str())
}
