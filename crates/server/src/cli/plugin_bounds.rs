//! The largest `/v1/assign` request the server accepts, derived from a real one, and the fuel
//! warnings `touchstone plugin check --request` prints: a plugin whose fuel grows with the
//! input may pass every typical request and still run out at the bounds, where the server
//! silently applies the safe default.

use crate::service::assign::AssignRequest;
use crate::settings::Settings;
use touchstone_plugin_host::Hook;

pub(crate) struct Bounded {
    pub(crate) request: AssignRequest,
    /// In words: what was filled up to which bound.
    pub(crate) description: String,
}

/// `request` with its unit id padded to `limits.max_string_bytes` and filler string
/// attributes (keys and values of `limits.max_string_bytes` bytes) up to
/// `assign.max_attributes`. Its own attributes stay as they are, so the plugin takes the same
/// path; the fillers sort first, so a scanner crosses them all before the real ones.
pub(crate) fn at_bounds(settings: &Settings, request: &AssignRequest) -> Bounded {
    let max_bytes = settings.limits.max_string_bytes;
    let max_attributes = settings.assign.max_attributes;
    let mut attributes = request.attributes.clone();
    let mut index = 0;
    while attributes.len() < max_attributes {
        let prefix = format!("_bound_{index:03}_");
        let key = format!(
            "{prefix}{}",
            "k".repeat(max_bytes.saturating_sub(prefix.len()))
        );
        attributes.insert(key, serde_json::Value::String("v".repeat(max_bytes)));
        index += 1;
    }
    let mut unit_id = request.unit_id.clone();
    while unit_id.len() < max_bytes {
        unit_id.push('0');
    }
    Bounded {
        request: AssignRequest {
            unit_id,
            touchpoint: request.touchpoint.clone(),
            attributes,
            enroll: request.enroll,
        },
        description: format!(
            "unit_id of {max_bytes} bytes and {max_attributes} attributes with keys and values of {max_bytes} bytes \
             (limits.max_string_bytes, assign.max_attributes)"
        ),
    }
}

/// A warning per hook that needs more than the budget at the bounds (or on the typical
/// request), and per hook that uses more than half of it there.
pub(crate) fn fuel_warnings<C: FuelOf>(
    typical: &[C],
    at_bounds: &[C],
    budget: u64,
    bounds: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (calls, which) in [
        (typical, "this request"),
        (at_bounds, "the largest legal request"),
    ] {
        for call in calls {
            let Some(fuel) = call.fuel() else { continue };
            if fuel > budget {
                warnings.push(format!(
                    "on {which} the {} hook needs {fuel} fuel, more than the budget of {budget} \
                     (plugins.fuel): the server would stop it and apply the safe default{}",
                    call.hook(),
                    if which == "this request" {
                        String::new()
                    } else {
                        format!(" ({bounds})")
                    }
                ));
            } else if fuel > budget / 2 {
                warnings.push(format!(
                    "on {which} the {} hook needs {fuel} fuel, {}% of the budget of {budget}",
                    call.hook(),
                    fuel * 100 / budget.max(1)
                ));
            }
        }
    }
    warnings
}

/// The fuel a recorded call used, for the warnings below (a trait so tests can feed records
/// without running a plugin).
pub(crate) trait FuelOf {
    fn hook(&self) -> Hook;
    fn fuel(&self) -> Option<u64>;
}
