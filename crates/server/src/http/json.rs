//! Request bodies decoded with the path of the offending field, so a client learns that
//! `attributes.cart_value` was wrong, not just "invalid type at line 1 column 57".

use crate::http::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// A JSON body of type `T` (size-bounded by the app's `PayloadConfig`).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Body::from_request(request, payload);
        Box::pin(async move { decode(&body.await?.0).map(Json) })
    }
}

/// A raw body (size-bounded by the app's `PayloadConfig`). Every body goes through this, so an
/// oversized one is a problem naming `server.max_body_bytes`, never actix's plain-text 413.
pub struct Body(pub web::Bytes);

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(request, payload);
        Box::pin(async move {
            bytes.await.map(Body).map_err(|error| ApiError::TooLarge {
                limit: "server.max_body_bytes",
                message: error.to_string(),
            })
        })
    }
}

/// Decodes JSON, naming the field that failed.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::BadRequest {
            field,
            message: error.inner().to_string(),
        }
    })
}
