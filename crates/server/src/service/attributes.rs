//! Bounds on an assign request's attributes before they reach targeting, a segment slice or a
//! store key (issue 15): the rules are `touchstone_model::attributes`; this module only knows
//! which attributes the touchpoint's targeting reads, the one place an array or object may go.

use crate::catalog::Catalog;
use serde_json::{Map, Value};
use touchstone_model::attributes::{self, AttributeProblem};

/// The first attribute the request may not send, with its field (`attributes.NAME`).
pub fn check(
    catalog: &Catalog,
    touchpoint: &str,
    sent: &Map<String, Value>,
    max_string_bytes: usize,
) -> Result<(), AttributeProblem> {
    for (name, value) in sent {
        // Only an array or object needs the (rare) look at the touchpoint's targeting.
        let structured = value.is_array() || value.is_object();
        let read_by_targeting = structured && targeting_reads(catalog, touchpoint, name);
        attributes::check(name, value, max_string_bytes, read_by_targeting)?;
    }
    Ok(())
}

/// Whether a running or shipped experiment at `touchpoint` has a targeting rule on `name`.
fn targeting_reads(catalog: &Catalog, touchpoint: &str, name: &str) -> bool {
    catalog
        .running_at(touchpoint)
        .iter()
        .chain(catalog.shipped_at(touchpoint))
        .any(|experiment| {
            experiment
                .spec()
                .targeting
                .iter()
                .any(|condition| condition.attribute == name)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use touchstone_model::Experiment;
    use touchstone_store::Definitions;

    fn catalog() -> Catalog {
        let spec = serde_json::from_value(json!({
            "key": "tags", "touchpoint": "pdp", "status": "running", "journey": ["purchase"],
            "variants": [{"key": "control", "weight": 1}, {"key": "b", "weight": 1}],
            "targeting": [{"attribute": "tags", "op": "not_in", "value": [["vip"]]}],
        }))
        .expect("spec");
        Catalog::new(Definitions {
            version: 1,
            experiments: vec![Experiment::new(spec).expect("valid")],
            holdouts: Vec::new(),
        })
    }

    fn attributes(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn an_array_passes_only_at_a_touchpoint_whose_targeting_reads_it() {
        let catalog = catalog();
        let sent = attributes(json!({"tags": ["vip"]}));
        assert_eq!(check(&catalog, "pdp", &sent, 256), Ok(()));
        let problem = check(&catalog, "checkout", &sent, 256).expect_err("not read there");
        assert_eq!(problem.field, "attributes.tags");
        let other = attributes(json!({"a": [0, 1, 2]}));
        let problem = check(&catalog, "pdp", &other, 256).expect_err("no rule reads `a`");
        assert_eq!(problem.field, "attributes.a");
    }
}
