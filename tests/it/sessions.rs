//! The dashboard's cookie (issue 15, decision 014): a random session kept in the store, known
//! to every server, ended by sign-out and by removing its key, and good for writes only from
//! the dashboard's own origin. The cross-origin requests are sent with the headers Chromium
//! sends for them (a page on another port of the same host is `Sec-Fetch-Site: same-site`).

use crate::journey::checkout_experiment;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use touchstone_testkit::binary::TouchstoneServer;
use touchstone_testkit::redis::RedisServer;

const ADMIN_KEY: &str = "admin-key-session-0123456789";
const OTHER_ADMIN_KEY: &str = "admin-key-session-abcdefghij";

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

fn server_with(admin_keys: &str, extra: &[(&str, &str)]) -> TouchstoneServer {
    let url = RedisServer::shared().url();
    let mut env = vec![
        ("TOUCHSTONE__AUTH__ADMIN_KEYS", admin_keys),
        ("TOUCHSTONE__STORE__URL", url.as_str()),
    ];
    env.extend_from_slice(extra);
    TouchstoneServer::start(&env)
}

/// Signs in from the sign-in page, as its form does; the session cookie's `name=value`.
fn sign_in(base: &str, key: &str) -> Option<String> {
    let response = browser()
        .post(format!("{base}/ui/login"))
        .header("origin", base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("key", key)])
        .send()
        .expect("POST /ui/login");
    assert_eq!(response.status().as_u16(), 303);
    response
        .headers()
        .get(SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|cookie| cookie.split(';').next())
        .map(str::to_owned)
}

fn status(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn admin(base: &str) -> crate::client::Api {
    crate::client::Api::with_key(base.to_owned(), ADMIN_KEY)
}

/// The port of another origin on the same host: the attacker's page.
fn elsewhere(base: &str) -> String {
    let port: u16 = base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");
    format!("http://127.0.0.1:{}", port.wrapping_add(1))
}

#[test]
fn a_session_is_random_shared_by_servers_and_ends_at_sign_out_or_with_its_key() {
    let first = server_with(ADMIN_KEY, &[]);
    let second = server_with(ADMIN_KEY, &[]);
    let (a, b) = (first.base_url(), second.base_url());
    let cookie = sign_in(&a, ADMIN_KEY).expect("a session cookie");
    let again = sign_in(&a, ADMIN_KEY).expect("a session cookie");
    assert_ne!(cookie, again, "every sign-in is a new session");
    assert!(!cookie.contains(ADMIN_KEY));
    let list = |base: &str, cookie: &str| {
        browser()
            .get(format!("{base}/v1/experiments"))
            .header(COOKIE, cookie)
            .send()
            .expect("GET")
            .status()
            .as_u16()
    };
    assert_eq!(list(&a, &cookie), 200);
    assert_eq!(list(&b, &cookie), 200, "the other server knows the session");
    // Sign-out on one server ends the session on both; the other session lives on.
    let out = browser()
        .post(format!("{b}/ui/logout"))
        .header(COOKIE, &cookie)
        .header("origin", b.as_str())
        .send()
        .expect("POST /ui/logout");
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(list(&a, &cookie), 401);
    assert_eq!(list(&b, &cookie), 401);
    assert_eq!(list(&a, &again), 200);
    // A server whose configuration no longer has the key refuses its sessions.
    let rekeyed = server_with(OTHER_ADMIN_KEY, &[]);
    assert_eq!(list(&rekeyed.base_url(), &again), 401);
    // And a session ends by itself after auth.session_ttl_seconds.
    let brief = server_with(ADMIN_KEY, &[("TOUCHSTONE__AUTH__SESSION_TTL_SECONDS", "1")]);
    let short = sign_in(&brief.base_url(), ADMIN_KEY).expect("a session cookie");
    assert_eq!(list(&brief.base_url(), &short), 200);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    assert_eq!(list(&brief.base_url(), &short), 401);
}

#[test]
fn cookie_writes_from_another_origin_are_refused_while_the_dashboards_own_pass() {
    let server = server_with(ADMIN_KEY, &[]);
    let base = server.base_url();
    let api = admin(&base);
    let key = "session-csrf";
    api.define_and_start(key, &checkout_experiment(key));
    let cookie = sign_in(&base, ADMIN_KEY).expect("a session cookie");
    let attacker = elsewhere(&base);
    let cross = |method: reqwest::Method, path: &str| -> RequestBuilder {
        browser()
            .request(method, format!("{base}{path}"))
            .header(COOKIE, &cookie)
            .header("origin", attacker.as_str())
            .header("sec-fetch-site", "same-site")
    };
    // An HTML form post (a navigation): stop the experiment.
    let form = cross(
        reqwest::Method::POST,
        &format!("/v1/experiments/{key}/stop"),
    )
    .header("sec-fetch-mode", "navigate")
    .header("sec-fetch-dest", "document")
    .header("content-type", "application/x-www-form-urlencoded")
    .body("x=1")
    .send()
    .expect("form post");
    let (code, body) = status(form);
    assert_eq!(
        (code, body["code"].as_str()),
        (403, Some("cross_origin")),
        "{body}"
    );
    // A text/plain form whose field name carries a JSON document: a new 0.99/0.01 phase.
    let phase = cross(
        reqwest::Method::POST,
        &format!("/v1/experiments/{key}/phases"),
    )
    .header("sec-fetch-mode", "navigate")
    .header("content-type", "text/plain")
    .body(r#"{"weights": [0.99, 0.01], "x": "="}"#)
    .send()
    .expect("text/plain post");
    assert_eq!(status(phase).0, 403);
    // fetch(…, {mode: "no-cors", credentials: "include"}): ship a variant.
    let ship = cross(
        reqwest::Method::POST,
        &format!("/v1/experiments/{key}/ship"),
    )
    .header("sec-fetch-mode", "no-cors")
    .header("sec-fetch-dest", "empty")
    .header("content-type", "text/plain;charset=UTF-8")
    .body(r#"{"variant": "treatment"}"#)
    .send()
    .expect("no-cors fetch");
    assert_eq!(status(ship).0, 403);
    // A write with the cookie and neither Origin nor Sec-Fetch-Site is refused too.
    let bare = browser()
        .post(format!("{base}/v1/experiments/{key}/stop"))
        .header(COOKIE, &cookie)
        .send()
        .expect("bare post");
    assert_eq!(status(bare).0, 403);
    // Another site cannot sign a browser in (or out).
    let login = browser()
        .post(format!("{base}/ui/login"))
        .header("origin", attacker.as_str())
        .header("sec-fetch-site", "same-site")
        .form(&[("key", ADMIN_KEY)])
        .send()
        .expect("cross-origin sign-in");
    assert_eq!(login.status().as_u16(), 403);
    assert!(login.headers().get(SET_COOKIE).is_none());
    let logout = cross(reqwest::Method::POST, "/ui/logout")
        .send()
        .expect("cross-origin sign-out");
    assert_eq!(logout.status().as_u16(), 403);
    // Nothing changed.
    let stored = api.get(&format!("/v1/experiments/{key}")).body;
    assert_eq!(stored["status"], "running", "{stored}");
    assert_eq!(stored["variants"][0]["weight"], json!(0.5), "{stored}");
    assert!(stored.get("phases").is_none(), "no new phase: {stored}");
    // From the dashboard's own origin the cookie still writes — JSON bodies as JSON only.
    let same = |path: &str| {
        browser()
            .post(format!("{base}{path}"))
            .header(COOKIE, &cookie)
            .header("origin", base.as_str())
            .header("sec-fetch-site", "same-origin")
    };
    let plain = same(&format!("/v1/experiments/{key}/ship"))
        .header("content-type", "text/plain")
        .body(r#"{"variant": "treatment"}"#)
        .send()
        .expect("same-origin text/plain");
    let (code, body) = status(plain);
    assert_eq!(
        (code, body["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{body}"
    );
    let stop = same(&format!("/v1/experiments/{key}/stop"))
        .send()
        .expect("same-origin stop");
    assert_eq!(status(stop).0, 200);
    // A key-authenticated call is not a browser's: no Origin rule applies to it.
    let keyed = browser()
        .post(format!("{base}/v1/experiments/{key}/snapshot"))
        .bearer_auth(ADMIN_KEY)
        .header("origin", attacker.as_str())
        .header("sec-fetch-site", "same-site")
        .send()
        .expect("keyed snapshot");
    assert_eq!(status(keyed).0, 200);
}
