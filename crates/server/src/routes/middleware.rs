//! Around every request: a request id (taken from `X-Request-Id` or made, and returned), a
//! tracing span carrying it, a deadline on reading the body, request metrics, and a problem
//! document for every error the HTTP layer makes itself. Around every *route*, once the router
//! has matched it: the [`Gate`] (keys, sessions, throttles, rate limits), deciding from the
//! matched route's entry in the table — never from the raw path (decision 014).

pub use crate::access::gate::Gate;

use crate::access::Access;
use crate::http::error::ApiError;
use crate::observe;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{HeaderName, HeaderValue, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError, web};
use futures::Stream;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The API-key header OFREP names beside `Authorization: Bearer`.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The app-wide middleware: request id → span → body deadline → (router → gate → handler) →
/// problem for foreign errors → metrics.
pub async fn around(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.is_ascii())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    let method = request.method().as_str().to_owned();
    // The route is known only once the router has run; only the failure line below, the one
    // event logged after that, names it (recording it into the span cost every request a
    // second formatting of the span's fields).
    let span = tracing::info_span!("request", request_id = %request_id, method = %method);
    if !matches!(*request.method(), Method::GET | Method::HEAD)
        && let Some(seconds) = request
            .app_data::<web::Data<AppState>>()
            .map(|state| state.settings.server.body_timeout_seconds)
    {
        let payload = request.take_payload();
        request.set_payload(timed_body(payload, Duration::from_secs(seconds)));
    }
    let response = next.call(request).instrument(span.clone()).await?;
    let mut response = as_problem(response);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    // After routing, the pattern comes from the route the router matched.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    observe::http_request(&route, &method, status, started.elapsed());
    if status >= 500 {
        span.in_scope(|| tracing::warn!(status, route = %route, "request failed"));
    }
    Ok(response)
}

/// The middleware on every route of the table: admits the request by the route the router
/// matched (its pattern and method), or refuses it.
pub async fn gate(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let pattern = request.match_pattern();
    // A route of the table always finds itself; anything else is treated as admin-only.
    let access = pattern
        .as_deref()
        .and_then(|pattern| super::route_access(pattern, request.method().as_str()))
        .unwrap_or(Access::Admin);
    let admitted = match request.app_data::<web::Data<Gate>>() {
        Some(gate) => gate.admit(request.request(), access).await,
        None => Err(ApiError::Internal("no gate configured".into())),
    };
    match admitted {
        Ok(caller) => {
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            Ok(next.call(request).await?.map_into_left_body())
        }
        Err(refusal) => {
            observe::rejected_request(refusal.code());
            let page = pattern
                .as_deref()
                .is_some_and(|pattern| pattern == "/ui" || pattern.starts_with("/ui/"));
            let response = if signs_in_first(&request, &refusal, page) {
                HttpResponse::build(StatusCode::SEE_OTHER)
                    .insert_header((LOCATION, "/ui/login"))
                    .finish()
            } else if pattern.is_some_and(|pattern| super::ofrep::is_ofrep_path(&pattern)) {
                // OFREP clients read the spec's error bodies, not problem documents.
                super::ofrep::refusal(&refusal)
            } else {
                refusal.error_response()
            };
            Ok(request.into_response(response).map_into_right_body())
        }
    }
}

/// A person opening a dashboard page without a session goes to the sign-in page; the page's
/// script and API clients get the problem document.
fn signs_in_first(request: &ServiceRequest, refusal: &ApiError, page: bool) -> bool {
    matches!(refusal, ApiError::Unauthorized) && request.method() == Method::GET && page
}

/// An error the HTTP layer made itself (an extractor's, actix's) becomes a problem document
/// like every other; the API's own errors and the dashboard's pages pass unchanged.
fn as_problem<B>(response: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let foreign = response
        .response()
        .error()
        .filter(|error| error.as_error::<ApiError>().is_none())
        .map(|error| (error.as_response_error().status_code(), error.to_string()));
    match foreign {
        Some((status, message)) if status.is_client_error() || status.is_server_error() => {
            let problem = ApiError::Http {
                status: status.as_u16(),
                message,
            }
            .error_response();
            response.into_response(problem).map_into_right_body()
        }
        _ => response.map_into_left_body(),
    }
}

/// The request body, failing with `TimedOut` once `limit` has passed since the headers
/// arrived: actix's `client_request_timeout` bounds the headers only, so a body trickled a
/// byte at a time would otherwise hold a worker's connection as long as the client likes.
fn timed_body(payload: Payload, limit: Duration) -> Payload {
    let timed = TimedBody {
        inner: payload,
        deadline: Box::pin(tokio::time::sleep(limit)),
    };
    let boxed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(timed);
    Payload::from(boxed)
}

struct TimedBody {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Stream for TimedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match this.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }
}
