//! The one place where errors become HTTP: RFC 9457 problem details
//! (`application/problem+json`) with a stable snake_case `code`, and for validation the
//! field of every problem. 5xx bodies stay generic; the details go to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use touchstone_model::{FieldError, ValidationErrors};
use touchstone_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body or a parameter is malformed; `field` names where.
    #[error("{message}")]
    BadRequest { field: String, message: String },
    #[error("the definition is invalid")]
    Validation(ValidationErrors),
    #[error("{what} not found")]
    NotFound { what: String },
    /// The path exists, but not with this method; `allowed` lists the ones it has.
    #[error("`{method}` is not allowed on `{path}`; it answers {}", allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: Vec<String>,
    },
    #[error("{0}")]
    Conflict(String),
    /// A new definition would change `field` of a running experiment; with `new_phase`, a new
    /// phase (`POST /v1/experiments/{key}/phases`) makes the change.
    #[error("{message}")]
    RunningChange {
        field: String,
        message: String,
        new_phase: bool,
    },
    /// `?phase=N` names a phase the experiment never had.
    #[error("experiment `{key}` has no phase {phase}; its phases are 1 to {current}")]
    NoSuchPhase {
        key: String,
        phase: u32,
        current: u32,
    },
    /// Starting (or saving as running) would put units in two running experiments of a layer.
    #[error(
        "experiment `{other}` already runs in layer `{layer}` over [{}, {}); running experiments of one layer must not overlap",
        overlap[0],
        overlap[1]
    )]
    LayerOverlap {
        layer: String,
        other: String,
        overlap: [f64; 2],
    },
    #[error("{limit} exceeded: {message}")]
    TooLarge {
        limit: &'static str,
        message: String,
    },
    #[error("an API key is required: send `Authorization: Bearer KEY`")]
    Unauthorized,
    #[error("this API key may not use this endpoint")]
    Forbidden,
    /// A write with the dashboard's session cookie (or to the sign-in form) that its browser
    /// did not send from this server's own pages.
    #[error(
        "a write with the dashboard's session cookie must come from the dashboard itself (Origin `{own_origin}` or Sec-Fetch-Site: same-origin); API clients send `Authorization: Bearer KEY` instead"
    )]
    CrossOrigin { own_origin: String },
    #[error("the body must be sent as {expected}")]
    UnsupportedMediaType { expected: &'static str },
    #[error("the request body did not arrive within {seconds} s")]
    BodyTimeout { seconds: u64 },
    /// An error of the HTTP layer itself (a malformed path or query, a bad form), with its
    /// status and words.
    #[error("{message}")]
    Http { status: StatusCode, message: String },
    #[error("rate limit exceeded; retry after {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the store is unavailable")]
    StoreUnavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => ApiError::StoreUnavailable(error),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

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

impl ApiError {
    /// The stable snake_case code clients match on.
    pub fn code(&self) -> &'static str {
        self.title_and_code().1
    }

    /// (title, stable code) of each kind of error.
    fn title_and_code(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => ("Bad request", "bad_request"),
            ApiError::Validation(_) => ("Invalid definition", "validation_failed"),
            ApiError::NotFound { .. } => ("Not found", "not_found"),
            ApiError::MethodNotAllowed { .. } => ("Method not allowed", "method_not_allowed"),
            ApiError::Conflict(_) => ("Conflict", "conflict"),
            ApiError::RunningChange {
                new_phase: true, ..
            } => ("Conflict", "new_phase_required"),
            ApiError::RunningChange { .. } => ("Conflict", "conflict"),
            ApiError::NoSuchPhase { .. } => ("Not found", "not_found"),
            ApiError::LayerOverlap { .. } => ("Conflict", "layer_overlap"),
            ApiError::TooLarge { .. } => ("Payload too large", "limit_exceeded"),
            ApiError::Unauthorized => ("Unauthorized", "unauthorized"),
            ApiError::Forbidden => ("Forbidden", "forbidden"),
            ApiError::CrossOrigin { .. } => ("Forbidden", "cross_origin"),
            ApiError::UnsupportedMediaType { .. } => {
                ("Unsupported media type", "unsupported_media_type")
            }
            ApiError::BodyTimeout { .. } => ("Request timeout", "body_timeout"),
            ApiError::Http { status, .. } => (
                status.canonical_reason().unwrap_or("Error"),
                match status.as_u16() {
                    404 => "not_found",
                    405 => "method_not_allowed",
                    408 => "body_timeout",
                    413 => "limit_exceeded",
                    415 => "unsupported_media_type",
                    status if status >= 500 => "internal",
                    _ => "bad_request",
                },
            ),
            ApiError::RateLimited { .. } => ("Too many requests", "rate_limited"),
            ApiError::StoreUnavailable(_) => ("Service unavailable", "store_unavailable"),
            ApiError::Internal(_) => ("Internal server error", "internal"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound { .. } | ApiError::NoSuchPhase { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_)
            | ApiError::RunningChange { .. }
            | ApiError::LayerOverlap { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::CrossOrigin { .. } => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Http { status, .. } => *status,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (title, code) = self.title_and_code();
        let detail = match self {
            ApiError::StoreUnavailable(source) => {
                tracing::warn!(error = %source, source = ?std::error::Error::source(source), "store unavailable; request refused");
                "the store did not answer; nothing was recorded, retry later".to_owned()
            }
            ApiError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                "an internal error occurred; it has been logged".to_owned()
            }
            ApiError::Http { status, message } if status.is_server_error() => {
                tracing::error!(error = %message, "internal error");
                "an internal error occurred; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let field = match self {
            ApiError::BadRequest { field, .. } | ApiError::RunningChange { field, .. } => {
                Some(field.as_str())
            }
            ApiError::NoSuchPhase { .. } => Some("phase"),
            ApiError::TooLarge { limit, .. } => Some(*limit),
            ApiError::UnsupportedMediaType { .. } => Some("content-type"),
            ApiError::BodyTimeout { .. } => Some("server.body_timeout_seconds"),
            _ => None,
        };
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
            title,
            status: status.as_u16(),
            code,
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
