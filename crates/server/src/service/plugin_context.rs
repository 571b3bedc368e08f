//! The contexts the server hands a touchpoint's plugin for an assign request, built in one
//! place so that `touchstone plugin run --request` builds exactly what the server would (the
//! encoding is the host's: ABI.md, "Input encoding").

use crate::service::assign::{AssignRequest, Assignment};
use serde_json::Value;
use touchstone_plugin_host::{Assignment as PluginAssignment, EligibleContext, PayloadContext};

/// `eligible`'s input: the experiments to decide for (running at the touchpoint, targeting
/// matched), the request's attributes (`{}` when it sent none) and the binding's config
/// (`null` when the binding has none).
pub fn eligible<'c>(
    request: &AssignRequest,
    experiments: Vec<String>,
    config: &'c Value,
) -> EligibleContext<&'c Value> {
    EligibleContext {
        unit_id: request.unit_id.clone(),
        touchpoint: request.touchpoint.clone(),
        experiments,
        attributes: request.attributes.clone(),
        config,
    }
}

/// `payload`'s input: every assignment the response will carry (running and shipped), each
/// with its variant's static payload (`null` when it has none).
pub fn payload<'c>(
    request: &AssignRequest,
    assignments: &[Assignment],
    config: &'c Value,
) -> PayloadContext<&'c Value> {
    PayloadContext {
        unit_id: request.unit_id.clone(),
        touchpoint: request.touchpoint.clone(),
        assignments: assignments
            .iter()
            .map(|a| PluginAssignment {
                experiment: a.experiment.clone(),
                variant: a.variant.clone(),
                payload: a.payload.clone(),
            })
            .collect(),
        attributes: request.attributes.clone(),
        config,
    }
}
