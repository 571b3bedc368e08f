//! Issue 15, as an attacker tries it (decision 014): every route of the route table, with its
//! path percent-encoded a letter at a time, double-encoded, with `//`, `/./` and trailing
//! slashes, sent without a key to a server with keys on its own Redis — nothing answers 2xx,
//! nothing reaches the audit log as `open`, and the failure throttle counts every attempt.

use crate::journey::checkout_experiment;
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{Value, json};
use touchstone_server::access::Access;
use touchstone_server::routes::ROUTES;
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::plugins::plugin_bytes;
use touchstone_testkit::redis::RedisServer;

const ADMIN_KEY: &str = "admin-key-attack-0123456789";
const CLIENT_KEY: &str = "client-key-attack-0123456789";

/// A route's path with its placeholders filled the way the issue's attacker filled them.
fn concrete(path: &str) -> String {
    path.replace("{key}", "pwned")
        .replace("{attribute}", "device")
        .replace("{name}", "evil")
        .replace("{file}", "dashboard.js")
}

/// `%XX` of one byte; `double` encodes the `%` once more (`%25XX`).
fn encoded(byte: u8, double: bool) -> String {
    if double {
        format!("%25{byte:02X}")
    } else {
        format!("%{byte:02X}")
    }
}

/// Every mangled form of `path` the suite sends.
pub fn mangled(path: &str) -> Vec<String> {
    let mut forms = Vec::new();
    for (at, byte) in path.bytes().enumerate() {
        if byte == b'/' {
            continue;
        }
        for double in [false, true] {
            forms.push(format!(
                "{}{}{}",
                &path[..at],
                encoded(byte, double),
                &path[at + 1..]
            ));
        }
        // Lower-case hex too, where it differs.
        if byte.is_ascii_alphanumeric() && format!("{byte:02X}") != format!("{byte:02x}") {
            forms.push(format!("{}%{byte:02x}{}", &path[..at], &path[at + 1..]));
        }
    }
    let every: String = path
        .bytes()
        .map(|byte| match byte {
            b'/' => "/".to_owned(),
            other => encoded(other, false),
        })
        .collect();
    forms.push(every);
    forms.push(format!("/{}", path[1..].replace('/', "%2F")));
    forms.push(format!("/{path}"));
    forms.push(path.replace('/', "//"));
    forms.push(path.replace('/', "/./"));
    forms.push(format!("{path}/"));
    forms.push(format!("{path}//"));
    forms.push(format!("{path}/."));
    forms.push(format!("/x/..{path}"));
    forms.push(format!("/%2e{path}"));
    forms.push(path.to_ascii_uppercase());
    forms.push(path.to_owned());
    forms
}

/// A body that would do harm if the request got through: a valid definition, a holdout of
/// half the traffic, a plugin module, a binding.
fn harmful(method: &str, pattern: &str) -> Option<(&'static str, Vec<u8>)> {
    let json = |value: Value| Some(("application/json", value.to_string().into_bytes()));
    match (method, pattern) {
        ("get", _) => None,
        ("put", "/v1/experiments/{key}") => json(checkout_experiment("pwned")),
        ("put", "/v1/holdouts/{key}") => json(json!({
            "share": 0.5, "touchpoints": ["checkout.shipping"], "journey": ["purchase"],
        })),
        ("put", "/v1/plugins/{name}") => {
            Some(("application/wasm", plugin_bytes("checkout-free-shipping")))
        }
        ("put", "/v1/touchpoints/{name}") => {
            json(json!({"plugin": "checkout-free-shipping", "config": {}}))
        }
        ("post", "/v1/experiments/{key}/ship") => json(json!({"variant": "control"})),
        ("post", "/v1/assign") => json(json!({"unit_id": "u1", "touchpoint": "checkout.shipping"})),
        ("post", "/v1/events") => json(json!({"events": []})),
        ("post", "/ui/login") => Some((
            "application/x-www-form-urlencoded",
            format!("key={ADMIN_KEY}").into_bytes(),
        )),
        _ => json(json!({})),
    }
}

/// An answer to a raw request: status, content type, body.
pub struct RawReply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends one HTTP/1.1 request with the path byte for byte as given — an HTTP client library
/// would resolve `/./`, `/../` and their escaped forms (`%2e`) before sending, which is
/// exactly what an attacker does not do.
pub fn raw(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> RawReply {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("a connection");
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        method.to_ascii_uppercase(),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // One write (and no Nagle delay): a head and a body in two small segments would wait for
    // a delayed acknowledgement each time.
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("a read timeout");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).expect("request sent");
    // Read the head, then as many body bytes as it announces, and hang up: waiting for the
    // server to close would wait for it to drain a body it refused unread.
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    let (split, length) = loop {
        if let Some(split) = answer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
            let length = head.lines().find_map(|line| {
                line.strip_prefix("content-length:")?
                    .trim()
                    .parse::<usize>()
                    .ok()
            });
            break (split, length);
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break (answer.len(), Some(0)),
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
        }
    };
    let wanted = length.map_or(usize::MAX, |length| split + 4 + length);
    while answer.len() < wanted {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
        }
    }
    let head = String::from_utf8_lossy(&answer[..split.min(answer.len())]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    RawReply {
        status,
        content_type,
        body: answer.get(split + 4..).unwrap_or_default().to_vec(),
    }
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// A request through reqwest, for paths it sends unchanged (no dot segments).
fn request(client: &Client, base: &str, method: &str, path: &str) -> RequestBuilder {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("a method");
    client.request(method, format!("{base}{path}"))
}

fn keyed_server(extra: &[(&str, &str)], redis: &RedisServer) -> TouchstoneServer {
    let url = redis.url();
    let mut env = vec![
        ("TOUCHSTONE__AUTH__ADMIN_KEYS", ADMIN_KEY),
        ("TOUCHSTONE__AUTH__CLIENT_KEYS", CLIENT_KEY),
        ("TOUCHSTONE__STORE__URL", url.as_str()),
    ];
    env.extend_from_slice(extra);
    TouchstoneServer::start(&env)
}

#[test]
fn no_route_opens_to_an_encoded_or_mangled_path_without_a_key() {
    let redis = RedisServer::start();
    // The throttle is off here so that every request meets the gate's real decision; the next
    // test shows the throttle counting the same requests.
    let server = keyed_server(
        &[("TOUCHSTONE__AUTH__FAILED_ATTEMPTS_PER_MINUTE", "0")],
        &redis,
    );
    let (base, http) = (server.base_url(), client());
    let (mut sent, mut passed) = (0usize, Vec::new());
    for route in ROUTES.iter().filter(|route| route.access != Access::Open) {
        for path in mangled(&concrete(route.path)) {
            let (headers, body) = match harmful(route.method, route.path) {
                Some((content_type, body)) => (vec![("content-type", content_type)], body),
                None => (vec![], vec![]),
            };
            let reply = raw(server.port(), route.method, &path, &headers, &body);
            sent += 1;
            if (200..300).contains(&reply.status) || reply.status == 0 {
                passed.push(format!("{} {path} → {}", route.method, reply.status));
            } else if reply.status != 303 {
                // A path the router matched to an OFREP route answers the spec's error body;
                // every other refusal (a double-encoded one matches no route) is a problem.
                let ofrep =
                    route.path.starts_with("/ofrep/") && reply.content_type == "application/json";
                assert!(
                    ofrep || reply.content_type == "application/problem+json",
                    "{} {path} → {} {}",
                    route.method,
                    reply.status,
                    reply.content_type
                );
            }
        }
    }
    eprintln!(
        "encoded-path matrix: {sent} requests, {} answered 2xx",
        passed.len()
    );
    assert!(sent > 1_000, "the matrix covers every route ({sent})");
    assert!(passed.is_empty(), "{passed:#?}");
    // Nothing got written: no experiment, holdout, plugin or binding, and no `open` actor.
    let admin = |path: &str| {
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth(ADMIN_KEY)
            .send()
            .expect("admin GET");
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    assert_eq!(admin("/v1/experiments/pwned").0, 404);
    assert_eq!(admin("/v1/holdouts/pwned").0, 404);
    let (_, plugins) = admin("/v1/plugins");
    assert_eq!(plugins["plugins"], json!([]), "{plugins}");
    let (_, bindings) = admin("/v1/touchpoints");
    assert_eq!(bindings["touchpoints"], json!([]), "{bindings}");
    for log in [
        "/v1/audit",
        "/v1/audit?experiment=pwned",
        "/v1/audit?holdout=pwned",
    ] {
        let (status, entries) = admin(log);
        assert_eq!(status, 200, "{log}: {entries}");
        let open = entries["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|entry| entry["key_id"] == "open")
            .count();
        assert_eq!(open, 0, "{log}: {entries}");
    }
}

#[test]
fn failed_authentications_are_throttled_per_address_encoded_paths_included() {
    let redis = RedisServer::shared();
    // A burst of 20 failures (the default), then one forgiven per minute: nothing is forgiven
    // while the test runs, so what is heard does not depend on the machine's speed.
    let server = keyed_server(
        &[("TOUCHSTONE__AUTH__FAILED_ATTEMPTS_PER_MINUTE", "1")],
        redis,
    );
    let (base, http) = (server.base_url(), client());
    let statuses: Vec<(u16, Option<u64>)> = (0..2_000)
        .map(|attempt| {
            let path = [
                "/%761/experiments",
                "/v1/experiments/x/st%6Frt",
                "/v1/audit",
            ][attempt % 3];
            let response = request(&http, &base, "get", path)
                .bearer_auth(format!("wrong-key-{attempt:08}"))
                .send()
                .expect("a response");
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok()?.parse().ok());
            (response.status().as_u16(), retry_after)
        })
        .collect();
    let unauthorized = statuses.iter().filter(|(status, _)| *status == 401).count();
    let throttled: Vec<_> = statuses
        .iter()
        .filter(|(status, _)| *status == 429)
        .collect();
    eprintln!(
        "2000 wrong keys: {unauthorized} answered 401, {} answered 429",
        throttled.len()
    );
    assert_eq!(unauthorized + throttled.len(), statuses.len());
    assert_eq!(unauthorized, 20, "the burst is heard, then nothing");
    assert!(
        throttled
            .iter()
            .all(|(_, retry)| retry.is_some_and(|seconds| seconds >= 1)),
        "every 429 says when to come back"
    );
    // While throttled, even the right key is not heard: a guesser learns nothing more.
    let right = request(&http, &base, "get", "/v1/experiments")
        .bearer_auth(ADMIN_KEY)
        .send()
        .expect("a response");
    assert_eq!(right.status().as_u16(), 429);
    // The sign-in form is throttled too, for a person with a page that says when.
    let form = request(&http, &base, "post", "/ui/login")
        .header("origin", base.as_str())
        .form(&[("key", "still-wrong-0123456789")])
        .send()
        .expect("a response");
    assert_eq!(form.status().as_u16(), 429);
    let retry: u64 = form
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .expect("Retry-After");
    assert!(retry >= 1);
}

#[test]
fn metrics_need_a_metrics_or_admin_key_unless_made_public() {
    let redis = RedisServer::shared();
    let metrics_key = "metrics-key-attack-0123456789";
    let server = keyed_server(&[("TOUCHSTONE__AUTH__METRICS_KEYS", metrics_key)], redis);
    let (base, http) = (server.base_url(), client());
    let metrics = |key: Option<&str>| {
        let mut builder = request(&http, &base, "get", "/metrics");
        if let Some(key) = key {
            builder = builder.bearer_auth(key);
        }
        builder.send().expect("a response").status().as_u16()
    };
    assert_eq!(metrics(None), 401);
    assert_eq!(metrics(Some(CLIENT_KEY)), 403);
    assert_eq!(metrics(Some(metrics_key)), 200);
    assert_eq!(metrics(Some(ADMIN_KEY)), 200);
    // A metrics key opens nothing else.
    let experiments = request(&http, &base, "get", "/v1/experiments")
        .bearer_auth(metrics_key)
        .send()
        .expect("a response");
    assert_eq!(experiments.status().as_u16(), 403);
    let public = keyed_server(&[("TOUCHSTONE__METRICS__PUBLIC", "true")], redis);
    let open = client()
        .get(format!("{}/metrics", public.base_url()))
        .send()
        .expect("a response");
    assert_eq!(open.status().as_u16(), 200);
}

#[test]
fn a_body_trickled_past_the_deadline_is_answered_408_with_a_problem() {
    use std::io::{Read, Write};
    let server = TouchstoneServer::start(&[("TOUCHSTONE__SERVER__BODY_TIMEOUT_SECONDS", "1")]);
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", server.port())).expect("a connection");
    let head = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    stream.write_all(head.as_bytes()).expect("headers sent");
    // The other 99 bytes never come; the server answers by itself.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("a read timeout");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("body_timeout") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("server.body_timeout_seconds"), "{answer}");
}

#[test]
fn names_start_with_a_letter_or_digit_and_every_error_is_a_problem() {
    let server = TouchstoneServer::start(&[("TOUCHSTONE__SERVER__MAX_BODY_BYTES", "4096")]);
    let (base, http) = (server.base_url(), client());
    let problem = |builder: RequestBuilder| {
        let response = builder.send().expect("a response");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(content_type, "application/problem+json", "{status}");
        (status, response.json::<Value>().expect("a problem"))
    };
    // `.` and `..` as plugin names and keys, sent as they are and escaped.
    for name in ["..", ".", "%2E", "%2e%2E", ".hidden"] {
        let reply = raw(
            server.port(),
            "put",
            &format!("/v1/plugins/{name}"),
            &[("content-type", "application/wasm")],
            &[0u8; 16],
        );
        let body = reply.json();
        assert_eq!(reply.content_type, "application/problem+json", "{name}");
        assert_eq!(
            (reply.status, body["field"].as_str()),
            (400, Some("name")),
            "{name}: {body}"
        );
    }
    for key in ["..", ".", "-x"] {
        let mut definition = checkout_experiment("x");
        definition["key"] = json!(key);
        let reply = raw(
            server.port(),
            "put",
            &format!("/v1/experiments/{key}"),
            &[("content-type", "application/json")],
            definition.to_string().as_bytes(),
        );
        let body = reply.json();
        assert_eq!(reply.status, 422, "{key}: {body}");
        assert!(
            body["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .any(|e| e["field"] == "key"),
            "{body}"
        );
    }
    // A plugin upload past server.max_body_bytes.
    let (status, body) = problem(
        request(&http, &base, "put", "/v1/plugins/big")
            .header("content-type", "application/wasm")
            .body(vec![0u8; 8192]),
    );
    assert_eq!(
        (status, body["field"].as_str()),
        (413, Some("server.max_body_bytes"))
    );
    // JSON of another content type, a form that is not one, an unknown route, a wrong method.
    let (status, _) = problem(
        request(&http, &base, "post", "/v1/assign")
            .header("content-type", "text/plain")
            .body(r#"{"unit_id": "u", "touchpoint": "t"}"#),
    );
    assert_eq!(status, 415);
    let (status, _) = problem(request(&http, &base, "get", "/v1/nothing-here"));
    assert_eq!(status, 404);
    let (status, _) = problem(request(&http, &base, "delete", "/v1/experiments"));
    assert_eq!(status, 405);
}
