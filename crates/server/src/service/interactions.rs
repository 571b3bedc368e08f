//! Interactions between experiments that share units: at exposure, the unit's variant in each
//! experiment this one `interacts_with` becomes the segment attribute `exp:<key>`, so results
//! by that segment (and their heterogeneity test) show whether one effect depends on the other.

use crate::catalog::Catalog;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use touchstone_model::{Experiment, SEGMENT_NONE};

/// Adds `exp:<key>` → the unit's variant key in `<key>` (or `(none)`) for each interaction:
/// the variant an assign call at `<key>`'s touchpoint would give (running, not held out,
/// targeting, layer, traffic and split), decided from the catalog without asking the store.
/// A plugin's eligibility there is not asked again (the unit is not at that touchpoint now);
/// a unit a plugin kept out counts as in.
pub fn add_segments(
    catalog: &Catalog,
    experiment: &Experiment,
    unit_id: &str,
    attributes: &Map<String, Value>,
    segments: &mut BTreeMap<String, String>,
) {
    for (other, attribute) in experiment.interactions() {
        let variant = catalog
            .decide_experiment(other, unit_id, attributes)
            .and_then(|placement| placement.running_variant())
            .and_then(|index| catalog.get(other)?.variants().get(index))
            .map_or(SEGMENT_NONE, |variant| variant.key.as_str());
        segments.insert(attribute.to_owned(), variant.to_owned());
    }
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
