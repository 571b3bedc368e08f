//! The error of every use case, and the one table of what each kind of error is: its stable
//! snake_case `code`, its HTTP status and its title (the way Meilisearch declares its error
//! codes once). The services know nothing of HTTP: `http/error.rs` turns a [`ServiceError`]
//! into a problem document (`application/problem+json`), the dashboard into a page, both by
//! this table.

use touchstone_model::ValidationErrors;
use touchstone_store::StoreError;

/// One kind of error as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Stable snake_case code clients match on.
    pub code: &'static str,
    /// The HTTP status it answers with.
    pub status: u16,
    /// The problem document's `title`.
    pub title: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
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
    Http { status: u16, message: String },
    #[error("rate limit exceeded; retry after {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the store is unavailable")]
    StoreUnavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => ServiceError::StoreUnavailable(error),
            other => ServiceError::Internal(Box::new(other)),
        }
    }
}

impl ServiceError {
    /// The stable snake_case code clients match on.
    pub fn code(&self) -> &'static str {
        self.kind().code
    }

    /// The table: code, status and title of each kind of error.
    pub fn kind(&self) -> Kind {
        let (code, status, title) = match self {
            ServiceError::BadRequest { .. } => ("bad_request", 400, "Bad request"),
            ServiceError::Validation(_) => ("validation_failed", 422, "Invalid definition"),
            ServiceError::NotFound { .. } => ("not_found", 404, "Not found"),
            ServiceError::MethodNotAllowed { .. } => {
                ("method_not_allowed", 405, "Method not allowed")
            }
            ServiceError::Conflict(_) => ("conflict", 409, "Conflict"),
            ServiceError::RunningChange {
                new_phase: true, ..
            } => ("new_phase_required", 409, "Conflict"),
            ServiceError::RunningChange { .. } => ("conflict", 409, "Conflict"),
            ServiceError::NoSuchPhase { .. } => ("not_found", 404, "Not found"),
            ServiceError::LayerOverlap { .. } => ("layer_overlap", 409, "Conflict"),
            ServiceError::TooLarge { .. } => ("limit_exceeded", 413, "Payload too large"),
            ServiceError::Unauthorized => ("unauthorized", 401, "Unauthorized"),
            ServiceError::Forbidden => ("forbidden", 403, "Forbidden"),
            ServiceError::CrossOrigin { .. } => ("cross_origin", 403, "Forbidden"),
            ServiceError::UnsupportedMediaType { .. } => {
                ("unsupported_media_type", 415, "Unsupported media type")
            }
            ServiceError::BodyTimeout { .. } => ("body_timeout", 408, "Request timeout"),
            ServiceError::Http { status, .. } => (
                match status {
                    404 => "not_found",
                    405 => "method_not_allowed",
                    408 => "body_timeout",
                    413 => "limit_exceeded",
                    415 => "unsupported_media_type",
                    status if *status >= 500 => "internal",
                    _ => "bad_request",
                },
                *status,
                http_reason(*status),
            ),
            ServiceError::RateLimited { .. } => ("rate_limited", 429, "Too many requests"),
            ServiceError::StoreUnavailable(_) => ("store_unavailable", 503, "Service unavailable"),
            ServiceError::Internal(_) => ("internal", 500, "Internal server error"),
        };
        Kind {
            code,
            status,
            title,
        }
    }

    /// The field (or the configuration limit) at fault, when one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::BadRequest { field, .. } | ServiceError::RunningChange { field, .. } => {
                Some(field.as_str())
            }
            ServiceError::NoSuchPhase { .. } => Some("phase"),
            ServiceError::TooLarge { limit, .. } => Some(*limit),
            ServiceError::UnsupportedMediaType { .. } => Some("content-type"),
            ServiceError::BodyTimeout { .. } => Some("server.body_timeout_seconds"),
            _ => None,
        }
    }
}

/// The reason phrase of the statuses the HTTP layer answers by itself (RFC 9110).
fn http_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}
