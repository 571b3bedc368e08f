//! Around every request: a request id (taken from `X-Request-Id` or made, and returned), a
//! tracing span carrying it, request metrics, API-key (or dashboard session) checks and per-key
//! rate limits.

use crate::access::{self, Access, Caller, KeyRing};
use crate::http::error::ApiError;
use crate::observe;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, COOKIE, HeaderName, HeaderValue, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The API-key header OFREP names beside `Authorization: Bearer`.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// Access control shared by the workers.
pub struct Gate {
    keys: KeyRing,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl Gate {
    pub fn new(keys: KeyRing, requests_per_second: u32, burst: u32) -> Gate {
        let limiter = NonZeroU32::new(requests_per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Gate { keys, limiter }
    }

    pub fn is_open(&self) -> bool {
        self.keys.is_open()
    }

    /// The caller an API key belongs to (the dashboard's sign-in).
    pub fn identify(&self, key: &str) -> Option<Caller> {
        self.keys.identify(key)
    }

    /// Who is calling, or why they may not.
    fn admit(&self, request: &ServiceRequest) -> Result<Option<Caller>, ApiError> {
        let access = access::required_access(request.path());
        if access == Access::Open {
            return Ok(None);
        }
        let caller = if self.keys.is_open() {
            None
        } else {
            let bearer = request
                .headers()
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                // OFREP providers may send the key as `X-API-Key` (the spec allows both).
                .or_else(|| {
                    request
                        .headers()
                        .get(X_API_KEY)
                        .and_then(|value| value.to_str().ok())
                });
            // A key in the header wins; the dashboard's cookie counts only where its script
            // and pages need it.
            let caller = match bearer {
                Some(presented) => self.keys.identify(presented.trim()),
                None if access::accepts_session(request.path()) => {
                    session_cookie(request).and_then(|token| self.keys.identify_session(token))
                }
                None => None,
            }
            .ok_or(ApiError::Unauthorized)?;
            if !access::permits(caller.role, access) {
                return Err(ApiError::Forbidden);
            }
            Some(caller)
        };
        self.check_rate(request.peer_addr(), caller.as_ref())?;
        Ok(caller)
    }

    /// A client key carried in the body, for the beacon route (a beacon can set no header):
    /// checked exactly like a header key on a client route, rate limit included.
    pub fn admit_body_key(
        &self,
        presented: Option<&str>,
        peer: Option<SocketAddr>,
    ) -> Result<(), ApiError> {
        let caller = if self.keys.is_open() {
            None
        } else {
            let caller = presented
                .and_then(|key| self.keys.identify(key.trim()))
                .ok_or(ApiError::Unauthorized)?;
            if !access::permits(caller.role, Access::Client) {
                return Err(ApiError::Forbidden);
            }
            Some(caller)
        };
        self.check_rate(peer, caller.as_ref())
    }

    fn check_rate(
        &self,
        peer: Option<SocketAddr>,
        caller: Option<&Caller>,
    ) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let bucket = match caller {
            Some(caller) => caller.key_id.clone(),
            None => peer
                .map(|address| address.ip().to_string())
                .unwrap_or_default(),
        };
        limiter.check_key(&bucket).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after_seconds: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

/// The one middleware: request id → span → gate → handler → metrics.
pub async fn around(
    request: ServiceRequest,
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
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let gate = request.app_data::<web::Data<Gate>>().cloned();
    let admitted = match &gate {
        Some(gate) => gate.admit(&request),
        None => Ok(None),
    };
    let mut response = match admitted {
        Ok(caller) => {
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            next.call(request)
                .instrument(span.clone())
                .await?
                .map_into_left_body()
        }
        Err(refusal) => {
            observe::rejected_request(refusal.code());
            let response = if signs_in_first(&request, &refusal) {
                HttpResponse::build(StatusCode::SEE_OTHER)
                    .insert_header((LOCATION, "/ui/login"))
                    .finish()
            } else if crate::http::ofrep::is_ofrep_path(request.path()) {
                crate::http::ofrep::refusal(&refusal)
            } else {
                refusal.error_response()
            };
            request.into_response(response).map_into_right_body()
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    observe::http_request(&route, &method, status, started.elapsed());
    if status >= 500 {
        span.in_scope(|| tracing::warn!(status, "request failed"));
    }
    Ok(response)
}

/// A person opening a dashboard page without a session goes to the sign-in page; the page's
/// script and API clients get the problem document.
fn signs_in_first(request: &ServiceRequest, refusal: &ApiError) -> bool {
    matches!(refusal, ApiError::Unauthorized)
        && request.method() == Method::GET
        && (request.path() == "/ui" || request.path().starts_with("/ui/"))
}

/// The dashboard session cookie's value, from the `Cookie` header(s).
fn session_cookie(request: &ServiceRequest) -> Option<&str> {
    request
        .headers()
        .get_all(COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == crate::http::openapi::SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
}
