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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_model::{Holdout, HoldoutSpec};
    use touchstone_store::Definitions;

    fn experiment(key: &str, touchpoint: &str, interacts_with: &[&str]) -> Experiment {
        let spec = serde_json::from_value(json!({
            "key": key, "touchpoint": touchpoint, "status": "running", "journey": ["purchase"],
            "variants": [{"key": "control", "weight": 1}, {"key": "b", "weight": 1}],
            "interacts_with": interacts_with,
        }))
        .expect("spec");
        Experiment::new(spec).expect("valid")
    }

    #[test]
    fn a_unit_held_out_at_the_other_touchpoint_is_in_no_variant_there() {
        let gallery = experiment("gallery", "pdp.gallery", &["shipping"]);
        let shipping = experiment("shipping", "checkout.shipping", &[]);
        let spec: HoldoutSpec = serde_json::from_value(json!({
            "key": "checkout-holdout", "share": 0.3, "touchpoints": ["checkout.shipping"],
            "journey": ["purchase"],
        }))
        .expect("spec");
        let holdout = Holdout::new(spec).expect("valid");
        let catalog = Catalog::new(Definitions {
            version: 1,
            experiments: vec![gallery.clone(), shipping.clone()],
            holdouts: vec![holdout.clone()],
        });
        let mut held = 0;
        for index in 0..300 {
            let unit = format!("unit-{index}");
            let mut segments = BTreeMap::new();
            add_segments(&catalog, &gallery, &unit, &Map::new(), &mut segments);
            let expected = if holdout.holds_out(&unit) {
                held += 1;
                SEGMENT_NONE
            } else {
                let index = shipping.assign(&unit).expect("traffic 1");
                shipping.variants()[index].key.as_str()
            };
            assert_eq!(segments["exp:shipping"], expected, "{unit}");
        }
        assert!(held > 0, "some unit is held out");
    }
}
