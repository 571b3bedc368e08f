//! The gate: who a request comes from and whether the route the router matched lets them in
//! (decision 014). It reads the route's [`Access`] — never the raw path — and for
//! protected routes, in order: the failure throttle of the client address, the presented key
//! (or the dashboard's session, looked up in the store), the role, the same-origin rule for
//! writes made with the session cookie, and the per-key rate limit.

use crate::access::origin::{is_same_origin, normalised};
use crate::access::session;
use crate::access::throttle::{FailureThrottle, retry_after_seconds};
use crate::access::{self, Access, Caller, KeyRing};
use crate::error::ServiceError;
use crate::settings::Settings;
use actix_web::HttpRequest;
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderName, ORIGIN};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};
use touchstone_store::{Session, Store};

/// Access control shared by the workers.
pub struct Gate {
    keys: KeyRing,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    failures: Option<FailureThrottle>,
    store: Arc<dyn Store>,
    metrics_public: bool,
    /// `server.public_url` as an origin; `None`: each request's Host and scheme.
    public_origin: Option<String>,
    session_ttl: Duration,
}

/// The API key a request presents: `Authorization: Bearer KEY` (the scheme in any case), or
/// `X-API-Key: KEY` (OFREP providers may send either; the bearer wins). The one place keys are
/// read from headers.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    bearer_key(headers).or_else(|| {
        headers
            .get(X_API_KEY)?
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|key| !key.is_empty())
    })
}

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim())
        .filter(|key| !key.is_empty())
}

/// Whether the request changes something: every method but GET and HEAD.
fn writes(request: &HttpRequest) -> bool {
    !matches!(*request.method(), Method::GET | Method::HEAD)
}

/// The client address the throttles count by: the TCP peer (behind a proxy, the proxy).
fn client_address(request: &HttpRequest) -> IpAddr {
    request
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |address| address.ip())
}

impl Gate {
    pub fn new(keys: KeyRing, settings: &Settings, store: Arc<dyn Store>) -> Gate {
        let limits = &settings.limits;
        let limiter = NonZeroU32::new(limits.requests_per_second).map(|rate| {
            let burst = NonZeroU32::new(limits.burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        let auth = &settings.auth;
        Gate {
            keys,
            limiter,
            failures: FailureThrottle::new(
                auth.failed_attempts_per_minute,
                auth.failed_attempts_burst,
            ),
            store,
            metrics_public: settings.metrics.public,
            public_origin: normalised(&settings.server.public_url),
            session_ttl: Duration::from_secs(auth.session_ttl_seconds),
        }
    }

    pub fn is_open(&self) -> bool {
        self.keys.is_open()
    }

    /// Who is calling a route that requires `access`, or why they may not.
    pub async fn admit(
        &self,
        request: &HttpRequest,
        access: Access,
    ) -> Result<Option<Caller>, ServiceError> {
        match access {
            Access::Open => return Ok(None),
            Access::Metrics if self.metrics_public => return Ok(None),
            Access::SignIn => {
                if writes(request) {
                    self.check_same_origin(request)?;
                }
                return Ok(None);
            }
            _ => {}
        }
        if self.keys.is_open() {
            self.check_rate(request, None)?;
            return Ok(None);
        }
        self.check_throttle(request)?;
        let (caller, by_session) = match presented_key(request.headers()) {
            Some(key) => (self.keys.identify(key), false),
            None if access.accepts_session() => match session_token(request) {
                Some(token) => (self.session_caller(token).await?, true),
                None => (None, false),
            },
            None => (None, false),
        };
        let Some(caller) = caller else {
            self.failed(request);
            return Err(ServiceError::Unauthorized);
        };
        if !access::permits(caller.role, access) {
            return Err(ServiceError::Forbidden);
        }
        if by_session && writes(request) {
            self.check_same_origin(request)?;
        }
        self.check_rate(request, Some(&caller))?;
        Ok(Some(caller))
    }

    /// A client key carried in the body, for the beacon route (a beacon can set no header):
    /// checked exactly like a header key on a client route — failure throttle, role and rate
    /// limit included.
    pub fn admit_body_key(
        &self,
        presented: Option<&str>,
        request: &HttpRequest,
    ) -> Result<(), ServiceError> {
        if self.keys.is_open() {
            return self.check_rate(request, None);
        }
        self.check_throttle(request)?;
        let Some(caller) = presented.and_then(|key| self.keys.identify(key.trim())) else {
            self.failed(request);
            return Err(ServiceError::Unauthorized);
        };
        if !access::permits(caller.role, Access::Client) {
            return Err(ServiceError::Forbidden);
        }
        self.check_rate(request, Some(&caller))
    }

    /// The admin a session token belongs to: the store knows the session and its key is still
    /// configured.
    async fn session_caller(&self, token: &str) -> Result<Option<Caller>, ServiceError> {
        let session = self.store.session(&session::token_digest(token)).await?;
        Ok(session.and_then(|session| self.keys.admin_by_fingerprint(&session.key_fingerprint)))
    }

    /// Signs an admin key in: a new session in the store, and its token for the cookie.
    /// `None` when the key is not a configured admin key.
    pub async fn sign_in(&self, key: &str) -> Result<Option<(Caller, String)>, ServiceError> {
        let (Some(caller), Some(key_fingerprint)) =
            (self.keys.identify(key), self.keys.fingerprint(key))
        else {
            return Ok(None);
        };
        let token = session::new_token();
        self.store
            .create_session(
                &session::token_digest(&token),
                &Session { key_fingerprint },
                self.session_ttl,
            )
            .await?;
        Ok(Some((caller, token)))
    }

    /// The caller a key belongs to, whatever its role (the sign-in page tells a client key
    /// apart from an unknown one).
    pub fn identify(&self, key: &str) -> Option<Caller> {
        self.keys.identify(key)
    }

    /// Ends the request's session, if it has one, on every server.
    pub async fn sign_out(&self, request: &HttpRequest) -> Result<(), ServiceError> {
        if let Some(token) = session_token(request) {
            self.store
                .revoke_session(&session::token_digest(token))
                .await?;
        }
        Ok(())
    }

    pub fn session_ttl(&self) -> Duration {
        self.session_ttl
    }

    /// Refuses an address that failed to authenticate too often, before its attempt is heard.
    pub fn check_throttle(&self, request: &HttpRequest) -> Result<(), ServiceError> {
        let Some(failures) = &self.failures else {
            return Ok(());
        };
        match failures.blocked_for(client_address(request), Instant::now()) {
            Some(wait) => Err(ServiceError::RateLimited {
                retry_after_seconds: retry_after_seconds(wait),
            }),
            None => Ok(()),
        }
    }

    /// Counts a failed authentication of the request's address.
    pub fn failed(&self, request: &HttpRequest) {
        if let Some(failures) = &self.failures {
            failures.failed(client_address(request), Instant::now());
        }
    }

    /// The origin browsers reach this server at: `server.public_url`, or the request's scheme
    /// and Host.
    pub fn own_origin(&self, request: &HttpRequest) -> String {
        if let Some(origin) = &self.public_origin {
            return origin.clone();
        }
        let connection = request.connection_info();
        let origin = format!("{}://{}", connection.scheme(), connection.host());
        normalised(&origin).unwrap_or(origin)
    }

    /// Refuses a request its browser did not send from this server's own pages.
    pub fn check_same_origin(&self, request: &HttpRequest) -> Result<(), ServiceError> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        let own_origin = self.own_origin(request);
        if is_same_origin(
            header(ORIGIN.as_str()),
            header("sec-fetch-site"),
            &own_origin,
        ) {
            Ok(())
        } else {
            Err(ServiceError::CrossOrigin { own_origin })
        }
    }

    fn check_rate(
        &self,
        request: &HttpRequest,
        caller: Option<&Caller>,
    ) -> Result<(), ServiceError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let bucket = match caller {
            Some(caller) => caller.key_id.clone(),
            None => client_address(request).to_string(),
        };
        limiter.check_key(&bucket).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ServiceError::RateLimited {
                retry_after_seconds: retry_after_seconds(wait),
            }
        })
    }
}

/// The dashboard session token the request's cookie carries, if any.
fn session_token(request: &HttpRequest) -> Option<&str> {
    session::session_cookie(
        request
            .headers()
            .get_all(COOKIE)
            .filter_map(|value| value.to_str().ok()),
    )
}

#[cfg(test)]
mod tests {
    use super::presented_key;
    use actix_web::http::header::{AUTHORIZATION, HeaderMap, HeaderValue};

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(authorization) {
            headers.insert(AUTHORIZATION, value);
        }
        headers
    }

    #[test]
    fn a_key_is_read_from_a_bearer_authorization_only() {
        assert_eq!(presented_key(&headers("Bearer k-1")), Some("k-1"));
        assert_eq!(presented_key(&headers("bearer  k-1 ")), Some("k-1"));
        assert_eq!(presented_key(&headers("Basic a2V5")), None);
        assert_eq!(presented_key(&headers("Bearer ")), None);
        assert_eq!(presented_key(&headers("Bearer")), None);
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }
}
