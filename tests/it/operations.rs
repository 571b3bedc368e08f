//! Safe to expose and easy to operate (issue 6), end to end: API keys and their roles, per-key
//! rate limits, request ids, Prometheus metrics and CORS.

use crate::client::Api;
use crate::journey::checkout_experiment;
use crate::redis_backed::{assign, define_and_start};
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use std::time::Duration;
use touchstone_testkit::binary::TouchstoneServer;

const ADMIN_KEY: &str = "admin-key-e2e-0123456789";
const CLIENT_KEY: &str = "client-key-e2e-0123456789";
const OTHER_CLIENT_KEY: &str = "client-key-e2e-abcdefghij";

pub fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("building the HTTP client")
}

fn request(
    client: &Client,
    server: &TouchstoneServer,
    method: Method,
    path: &str,
) -> RequestBuilder {
    client.request(method, format!("{}{path}", server.base_url()))
}

/// Sends with an optional bearer key and an optional JSON body.
fn send(
    server: &TouchstoneServer,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut builder = request(&http(), server, method, path);
    if let Some(key) = key {
        builder = builder.bearer_auth(key);
    }
    if let Some(body) = body {
        builder = builder.json(body);
    }
    builder.send().expect("request")
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Status, and the problem `code` when the answer is a problem document.
fn outcome(response: Response) -> (u16, Option<String>) {
    let status = response.status().as_u16();
    let problem = header(&response, "content-type").as_deref() == Some("application/problem+json");
    let body: Value = response.json().unwrap_or(Value::Null);
    let code = problem.then(|| body["code"].as_str().unwrap_or("(no code)").to_owned());
    (status, code)
}

fn keyed_server(extra: &[(&str, &str)]) -> TouchstoneServer {
    let mut env = vec![
        ("TOUCHSTONE__AUTH__ADMIN_KEYS", ADMIN_KEY),
        (
            "TOUCHSTONE__AUTH__CLIENT_KEYS",
            "client-key-e2e-0123456789,client-key-e2e-abcdefghij",
        ),
    ];
    env.extend_from_slice(extra);
    TouchstoneServer::start(&env)
}

/// Who calls (a key or none), how, with what body, and the status they must get.
type Row<'a> = (Option<&'a str>, Method, &'a str, Option<&'a Value>, u16);

#[test]
fn api_keys_let_shop_front_ends_assign_and_track_but_only_operators_administer() {
    let server = keyed_server(&[]);
    let definition = checkout_experiment("keyed");
    let assign = json!({"unit_id": "k1", "touchpoint": "checkout.shipping"});
    let events = json!({"events": [{"id": "k1-cart", "unit_id": "k1", "name": "add_to_cart"}]});
    let empty = json!({});
    let (nobody, wrong) = (None, Some("not-a-configured-key-0123"));
    let (client, admin) = (Some(CLIENT_KEY), Some(ADMIN_KEY));
    let define = "/v1/experiments/keyed";
    let results = "/v1/experiments/keyed/results";
    // In order: the experiment is defined and started by the admin half way down.
    let table: &[Row] = &[
        (nobody, Method::PUT, define, Some(&definition), 401),
        (nobody, Method::POST, "/v1/assign", Some(&assign), 401),
        (nobody, Method::POST, "/v1/events", Some(&events), 401),
        (nobody, Method::GET, "/v1/experiments", None, 401),
        (wrong, Method::PUT, define, Some(&definition), 401),
        (wrong, Method::POST, "/v1/assign", Some(&assign), 401),
        (client, Method::PUT, define, Some(&definition), 403),
        (admin, Method::PUT, define, Some(&definition), 201),
        (
            client,
            Method::POST,
            "/v1/experiments/keyed/start",
            Some(&empty),
            403,
        ),
        (
            admin,
            Method::POST,
            "/v1/experiments/keyed/start",
            Some(&empty),
            200,
        ),
        (client, Method::GET, results, None, 403),
        (client, Method::GET, "/v1/experiments", None, 403),
        (client, Method::POST, "/v1/assign", Some(&assign), 200),
        (client, Method::POST, "/v1/events", Some(&events), 200),
        (admin, Method::POST, "/v1/assign", Some(&assign), 200),
        (admin, Method::POST, "/v1/events", Some(&events), 200),
        (admin, Method::GET, results, None, 200),
        (nobody, Method::GET, "/healthz", None, 200),
        (nobody, Method::GET, "/readyz", None, 200),
        (nobody, Method::GET, "/metrics", None, 401),
        (client, Method::GET, "/metrics", None, 403),
        (admin, Method::GET, "/metrics", None, 200),
    ];
    for (key, method, path, body, status) in table {
        let response = send(&server, method.clone(), path, *key, *body);
        let www_authenticate = header(&response, "www-authenticate");
        let code = match status {
            401 => Some("unauthorized".to_owned()),
            403 => Some("forbidden".to_owned()),
            _ => None,
        };
        let who = key.map(|key| &key[..6]);
        assert_eq!(
            outcome(response),
            (*status, code),
            "{method} {path} as {who:?}"
        );
        if *status == 401 {
            assert_eq!(www_authenticate.as_deref(), Some("Bearer"));
        }
    }
    let logs = server.logs();
    assert!(
        !logs.contains(CLIENT_KEY) && !logs.contains(ADMIN_KEY),
        "keys are never logged"
    );
}

#[test]
fn a_key_past_its_burst_gets_429_with_retry_after_while_other_keys_carry_on() {
    let server = keyed_server(&[
        ("TOUCHSTONE__LIMITS__REQUESTS_PER_SECOND", "5"),
        ("TOUCHSTONE__LIMITS__BURST", "5"),
    ]);
    let body = json!({"unit_id": "busy", "touchpoint": "checkout.shipping"});
    let client = http();
    let call = |key: &str| {
        request(&client, &server, Method::POST, "/v1/assign")
            .bearer_auth(key)
            .json(&body)
            .send()
            .expect("assign")
    };
    for attempt in 0..5 {
        assert_eq!(
            call(CLIENT_KEY).status(),
            200,
            "request {attempt} is inside the burst"
        );
    }
    // Quick requests past the burst: one token comes back every 200 ms, so within a few
    // requests the bucket is empty (the bound keeps this independent of machine speed).
    let refused = (0..50)
        .map(|_| call(CLIENT_KEY))
        .find(|response| response.status() == 429);
    let refused = refused.expect("the key is rate limited past its burst");
    let retry_after: u64 = header(&refused, "retry-after")
        .expect("Retry-After header")
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(retry_after >= 1);
    assert_eq!(outcome(refused), (429, Some("rate_limited".to_owned())));
    assert_eq!(
        call(OTHER_CLIENT_KEY).status(),
        200,
        "each key has its own bucket"
    );
    assert_eq!(
        send(&server, Method::GET, "/healthz", None, None).status(),
        200
    );
}

#[test]
fn request_ids_are_echoed_or_made_and_metrics_count_the_traffic() {
    let server = TouchstoneServer::start(&[]);
    let client = http();
    let response = request(&client, &server, Method::GET, "/healthz")
        .header("x-request-id", "shop-req-42")
        .send()
        .expect("healthz");
    assert_eq!(
        header(&response, "x-request-id").as_deref(),
        Some("shop-req-42")
    );
    let made: Vec<String> = (0..2)
        .map(|_| {
            let response = request(&client, &server, Method::GET, "/healthz")
                .send()
                .expect("healthz");
            header(&response, "x-request-id").expect("a generated request id")
        })
        .collect();
    assert!(
        made.iter().all(|id| !id.is_empty()) && made[0] != made[1],
        "{made:?}"
    );

    let api = Api::new(server.base_url());
    let key = "metered";
    define_and_start(&api, key);
    for unit in 0..7 {
        assign(&api, key, &format!("metered-{unit}"));
    }
    let metrics = send(&server, Method::GET, "/metrics", None, None)
        .text()
        .expect("metrics text");
    let total = |name: &str, label: &str| -> f64 {
        metrics
            .lines()
            .filter(|line| line.starts_with(&format!("{name}{{")) && line.contains(label))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(
        total("touchstone_assignments_total", "experiment=\"metered\""),
        7.0,
        "{metrics}"
    );
    assert!(
        total("http_requests_total", "route=\"/v1/assign\"") >= 7.0,
        "{metrics}"
    );
}

#[test]
fn a_preflight_from_an_allowed_origin_is_answered_without_a_key() {
    let server = keyed_server(&[("TOUCHSTONE__CORS__ALLOWED_ORIGINS", "https://shop.example")]);
    let client = http();
    let preflight = |origin: &str| {
        request(&client, &server, Method::OPTIONS, "/v1/assign")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .expect("preflight")
    };
    let allowed = preflight("https://shop.example");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some("https://shop.example")
    );
    let other = preflight("https://elsewhere.example");
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    // The browser may read refusals too (a 401 here), with their Retry-After and request id.
    let refused = request(&client, &server, Method::POST, "/v1/assign")
        .header("origin", "https://shop.example")
        .json(&json!({"unit_id": "u", "touchpoint": "pdp"}))
        .send()
        .expect("cross-origin request");
    assert_eq!(refused.status(), 401);
    let allow = header(&refused, "access-control-allow-origin");
    assert_eq!(allow.as_deref(), Some("https://shop.example"));
    let exposed = header(&refused, "access-control-expose-headers").unwrap_or_default();
    assert!(
        exposed.contains("retry-after") && exposed.contains("x-request-id"),
        "{exposed}"
    );
}
