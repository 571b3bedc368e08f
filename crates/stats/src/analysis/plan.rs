//! `touchstone analyze --plan`: units per variant for a baseline rate and a relative effect,
//! optionally with CUPED's expected correlation ρ between covariate and outcome (decision 023).

use super::input::{InputError, alpha_in, invalid, number, object, optional_in, required, whole};
use crate::power::{sample_size_per_variant, with_correlation};
use serde_json::{Value, json};

/// `touchstone analyze --plan '{"baseline":0.03,"mde":0.05,"alpha":0.05,"power":0.8}'`:
/// units per variant by [`crate::power::sample_size_per_variant`]; `alpha` (0.05), `power`
/// (0.8) and `variants` (2, for the total) are optional. With `correlation` ρ in [0, 1), the
/// expected correlation of a CUPED covariate with the outcome, `n_per_variant` is
/// ⌈n·(1 − ρ²)⌉ ([`crate::power::with_correlation`]) and the unadjusted n is shown beside it.
pub fn plan(input: &Value) -> Result<Value, InputError> {
    let map = object(input, "(input)")?;
    let baseline = number(required(map, "baseline", "baseline")?, "baseline")?;
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err(invalid(
            "baseline",
            "must be a rate between 0 and 1 (exclusive)",
        ));
    }
    let mde = number(required(map, "mde", "mde")?, "mde")?;
    if !(mde > -1.0 && mde != 0.0 && baseline * (1.0 + mde) < 1.0) {
        return Err(invalid(
            "mde",
            "must be a non-zero relative change keeping the rate in (0, 1)",
        ));
    }
    let alpha = alpha_in(map)?;
    let power = optional_in(map, "power", 0.8, (0.0, 1.0))?;
    let variants = match map.get("variants").filter(|v| !v.is_null()) {
        None => 2,
        Some(value) => whole(value, "variants")?.max(2),
    };
    let unadjusted = sample_size_per_variant(baseline, mde, alpha, power)
        .map_err(|why| invalid("mde", why.to_string()))?;
    let correlation = match map.get("correlation").filter(|v| !v.is_null()) {
        None => None,
        Some(value) => {
            let rho = number(value, "correlation")?;
            if !(0.0..1.0).contains(&rho) {
                return Err(invalid(
                    "correlation",
                    "must be in [0, 1): the expected correlation of the CUPED covariate with the outcome",
                ));
            }
            Some(rho)
        }
    };
    let n = match correlation {
        Some(rho) => with_correlation(unadjusted, rho)
            .map_err(|why| invalid("correlation", why.to_string()))?,
        None => unadjusted,
    };
    let mut plan = json!({
        "n_per_variant": n,
        "total_units": n.saturating_mul(variants),
        "variants": variants,
        "baseline": baseline,
        "target_rate": baseline * (1.0 + mde),
        "mde": mde,
        "alpha": alpha,
        "power": power,
    });
    if let (Some(rho), Some(fields)) = (correlation, plan.as_object_mut()) {
        fields.insert("correlation".into(), json!(rho));
        fields.insert("variance_reduction".into(), json!(rho * rho));
        fields.insert("n_per_variant_unadjusted".into(), json!(unadjusted));
    }
    Ok(plan)
}
