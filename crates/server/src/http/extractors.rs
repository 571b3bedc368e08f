//! actix's own extractors (forms, path segments, query strings) answer their errors as problem
//! documents naming what was wrong, like the API's own decoders.

use crate::http::error::ApiError;
use crate::request_body::payload_problem;
use actix_web::error::UrlencodedError;
use actix_web::web;

/// The sign-in form: a small urlencoded body, its read bounded like every other body.
pub fn form_config(body_timeout_seconds: u64) -> web::FormConfig {
    web::FormConfig::default()
        .limit(16 * 1024)
        .error_handler(move |error, _| {
            match error {
                UrlencodedError::Payload(payload) => {
                    payload_problem(&payload, body_timeout_seconds)
                }
                UrlencodedError::ContentType => ApiError::UnsupportedMediaType {
                    expected: "`Content-Type: application/x-www-form-urlencoded`",
                },
                UrlencodedError::Overflow { .. } => ApiError::TooLarge {
                    limit: "form",
                    message: error.to_string(),
                },
                other => ApiError::BadRequest {
                    field: "form".into(),
                    message: other.to_string(),
                },
            }
            .into()
        })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _| {
        ApiError::BadRequest {
            field: "path".into(),
            message: error.to_string(),
        }
        .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        ApiError::BadRequest {
            field: "query".into(),
            message: error.to_string(),
        }
        .into()
    })
}
