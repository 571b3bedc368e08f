//! The inputs the server hands a touchpoint's plugin for an assign request, built in one
//! place so that `touchstone plugin run --request` builds exactly what the server would (the
//! encoding is the host's: ABI.md, "Input encoding"). Borrowed from the request, with the
//! binding's config encoded once per binding: a call copies nothing of the context but the
//! bytes the plugin reads.

use crate::service::assign::{AssignRequest, Assignment};
use touchstone_plugin_host::{AssignmentRef, EligibleInput, EncodedConfig, PayloadInput};

/// `eligible`'s input: the experiments to decide for (running at the touchpoint, targeting
/// matched), the request's attributes (`{}` when it sent none) and the binding's config
/// (`null` when the binding has none).
pub fn eligible<'a>(
    request: &'a AssignRequest,
    experiments: &'a [String],
    config: &'a EncodedConfig,
) -> EligibleInput<'a> {
    EligibleInput {
        unit_id: &request.unit_id,
        touchpoint: &request.touchpoint,
        experiments,
        attributes: &request.attributes,
        config,
    }
}

/// `payload`'s input: every assignment the response will carry (running and shipped), each
/// with its variant's static payload (`null` when it has none).
pub fn payload<'a>(
    request: &'a AssignRequest,
    assignments: &'a [Assignment],
    config: &'a EncodedConfig,
) -> PayloadInput<'a> {
    PayloadInput {
        unit_id: &request.unit_id,
        touchpoint: &request.touchpoint,
        assignments: assignments
            .iter()
            .map(|a| AssignmentRef {
                experiment: &a.experiment,
                variant: &a.variant,
                payload: &a.payload,
            })
            .collect(),
        attributes: &request.attributes,
        config,
    }
}
