//! Request bodies decoded with the path of the offending field, so a client learns that
//! `attributes.cart_value` was wrong, not just "invalid type at line 1 column 57".

use crate::error::ServiceError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// A JSON body of type `T` (size-bounded by the app's `PayloadConfig`), sent as
/// `application/json`: any other content type is refused with 415 before the body is read, so
/// a browser cannot post JSON-shaped text from a form or a `no-cors` fetch (decision 014).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ServiceError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let max_depth = request
            .app_data::<web::Data<AppState>>()
            .map(|state| state.settings.limits.max_json_depth);
        let declared = require_json(request);
        let body = Body::from_request(request, payload);
        Box::pin(async move {
            declared?;
            let Body(bytes) = body.await?;
            if let Some(max_depth) = max_depth {
                check_depth(&bytes, max_depth)?;
            }
            decode(&bytes).map(Json)
        })
    }
}

/// A raw body (size-bounded by the app's `PayloadConfig`). Every body goes through this, so an
/// oversized one is a problem naming `server.max_body_bytes`, never actix's plain-text 413.
pub struct Body(pub web::Bytes);

impl FromRequest for Body {
    type Error = ServiceError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(request, payload);
        let timeout_seconds = request
            .app_data::<web::Data<AppState>>()
            .map_or(0, |state| state.settings.server.body_timeout_seconds);
        Box::pin(async move {
            bytes
                .await
                .map(Body)
                .map_err(|error| match error.as_error::<PayloadError>() {
                    Some(error) => payload_problem(error, timeout_seconds),
                    None => ServiceError::TooLarge {
                        limit: "server.max_body_bytes",
                        message: error.to_string(),
                    },
                })
        })
    }
}

/// The problem a body that could not be read becomes: too large (413), too slow (408, see
/// `routes::middleware::timed_body`) or broken off (400).
pub fn payload_problem(error: &PayloadError, timeout_seconds: u64) -> ServiceError {
    match error {
        PayloadError::Overflow => ServiceError::TooLarge {
            limit: "server.max_body_bytes",
            message: error.to_string(),
        },
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            ServiceError::BodyTimeout {
                seconds: timeout_seconds,
            }
        }
        other => ServiceError::BadRequest {
            field: "body".into(),
            message: other.to_string(),
        },
    }
}

/// Refuses a request whose `Content-Type` is not JSON (`application/json` or
/// `application/*+json`, parameters such as `charset` allowed) with 415.
pub fn require_json(request: &HttpRequest) -> Result<(), ServiceError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    if content_type.is_some_and(is_json_media_type) {
        Ok(())
    } else {
        Err(ServiceError::UnsupportedMediaType {
            expected: "`Content-Type: application/json`",
        })
    }
}

/// Whether a `Content-Type` value names JSON.
pub fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json") && !subtype.contains('/'))
}

/// Decodes JSON, naming the field that failed.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    // The plain parser first: tracking the path costs on every field of every body and is
    // needed only to name the field of an error, so a body it refuses is parsed again with the
    // tracking. Neither checks for trailing text, as before.
    let mut plain = serde_json::Deserializer::from_slice(bytes);
    if let Ok(value) = T::deserialize(&mut plain) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ServiceError::BadRequest {
            field,
            message: error.inner().to_string(),
        }
    })
}

/// Refuses JSON nested deeper than `max` (`limits.max_json_depth`), before any parser
/// recurses into it.
pub fn check_depth(bytes: &[u8], max: usize) -> Result<(), ServiceError> {
    let depth = nesting_depth(bytes);
    if depth > max {
        return Err(ServiceError::TooLarge {
            limit: "limits.max_json_depth",
            message: format!("JSON nested {depth} levels deep; at most {max} are accepted"),
        });
    }
    Ok(())
}

/// Deepest nesting of arrays and objects in a JSON text, counted in one pass over the bytes
/// (brackets inside strings do not count; malformed text is the parser's to refuse).
fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::{is_json_media_type, nesting_depth};

    #[test]
    fn only_json_media_types_are_json() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("text/plain; application/json"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
        assert!(!is_json_media_type("multipart/form-data; boundary=x"));
        assert!(!is_json_media_type("application/jsonp"));
        assert!(!is_json_media_type(""));
    }

    #[test]
    fn nesting_counts_arrays_and_objects_but_not_brackets_inside_strings() {
        assert_eq!(nesting_depth(b"1"), 0);
        assert_eq!(nesting_depth(br#"{"a": [1, {"b": []}]}"#), 4);
        assert_eq!(nesting_depth(br#"{"a": "[[[{{{", "b": "\\\"[["}"#), 1);
        assert_eq!(nesting_depth(br#"[[]] [[[]]]"#), 3);
    }
}
