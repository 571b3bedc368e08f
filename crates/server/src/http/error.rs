//! The one place where errors become HTTP: RFC 9457 problem details
//! (`application/problem+json`) with the stable `code`, status and title of
//! [`crate::error::ServiceError::kind`], and for validation the field of every problem. 5xx
//! bodies stay generic; the details go to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use touchstone_model::FieldError;

/// The name handlers use for the services' error (the same type: the API answers it).
pub type ApiError = crate::error::ServiceError;

/// An RFC 9457 problem document: every error the API answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// Always `about:blank`: `code` tells the kinds apart.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    kind: &'static str,
    #[schema(example = "Invalid definition")]
    title: &'static str,
    #[schema(example = 422)]
    status: u16,
    /// Stable snake_case code: bad_request, validation_failed, not_found, method_not_allowed, conflict,
    /// new_phase_required, layer_overlap, limit_exceeded, unauthorized, forbidden, cross_origin,
    /// unsupported_media_type, body_timeout, rate_limited, store_unavailable, internal.
    #[schema(example = "validation_failed")]
    code: &'static str,
    detail: String,
    /// The field (or the configuration limit) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// For `validation_failed`: every problem with its field path.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
    /// For `layer_overlap`: the layer both experiments name.
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a str>,
    /// For `layer_overlap`: the running experiment already holding the range.
    #[serde(skip_serializing_if = "Option::is_none")]
    conflicts_with: Option<&'a str>,
    /// For `layer_overlap`: the shared part `[start, end)` of the two ranges.
    #[serde(skip_serializing_if = "Option::is_none")]
    overlap: Option<[f64; 2]>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.kind().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let kind = self.kind();
        let detail = match self {
            ApiError::StoreUnavailable(source) => {
                tracing::warn!(error = %source, source = ?std::error::Error::source(source), "store unavailable; request refused");
                "the store did not answer; nothing was recorded, retry later".to_owned()
            }
            ApiError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                "an internal error occurred; it has been logged".to_owned()
            }
            ApiError::Http { status, message } if *status >= 500 => {
                tracing::error!(error = %message, "internal error");
                "an internal error occurred; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let field = self.field();
        let errors = match self {
            ApiError::Validation(errors) => Some(errors.errors()),
            _ => None,
        };
        let (layer, conflicts_with, overlap) = match self {
            ApiError::LayerOverlap {
                layer,
                other,
                overlap,
            } => (Some(layer.as_str()), Some(other.as_str()), Some(*overlap)),
            _ => (None, None, None),
        };
        let problem = Problem {
            kind: "about:blank",
            title: kind.title,
            status: status.as_u16(),
            code: kind.code,
            detail,
            field,
            errors,
            layer,
            conflicts_with,
            overlap,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        match self {
            ApiError::RateLimited {
                retry_after_seconds,
            } => {
                // Never `Retry-After: 0`: a client would retry at once, into the same refusal.
                let seconds = (*retry_after_seconds).max(1);
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            ApiError::Unauthorized => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::MethodNotAllowed { allowed, .. } => {
                response.insert_header(("Allow", allowed.join(", ")));
            }
            _ => {}
        }
        response.json(problem)
    }
}
