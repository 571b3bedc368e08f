//! The dashboard and the API description over real HTTP: sign-in and its cookie, what the
//! cookie opens and what it does not, pages that show the results' numbers, and an
//! `/openapi.json` whose every operation is answered by a registered route.

use crate::client::Api;
use crate::journey::checkout_experiment;
use reqwest::blocking::Client;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use touchstone_testkit::binary::TouchstoneServer;

const ADMIN_KEY: &str = "admin-key-ui-0123456789";
const CLIENT_KEY: &str = "client-key-ui-0123456789";

fn guarded_server() -> TouchstoneServer {
    TouchstoneServer::start(&[
        ("TOUCHSTONE__AUTH__ADMIN_KEYS", ADMIN_KEY),
        ("TOUCHSTONE__AUTH__CLIENT_KEYS", CLIENT_KEY),
    ])
}

/// A client that shows redirects instead of following them.
fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// Signs in with `key`; the `name=value` of the session cookie, if one was set.
fn sign_in(base: &str, key: &str) -> (u16, Option<String>) {
    let response = browser()
        .post(format!("{base}/ui/login"))
        .header("origin", base)
        .form(&[("key", key)])
        .send()
        .expect("POST /ui/login");
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    if let Some(cookie) = &cookie {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(!cookie.contains(key), "the cookie does not carry the key");
    }
    let pair = cookie.and_then(|c| c.split(';').next().map(str::to_owned));
    (response.status().as_u16(), pair)
}

#[test]
fn a_page_without_a_session_sends_a_person_to_sign_in() {
    let server = guarded_server();
    let response = browser()
        .get(format!("{}/ui", server.base_url()))
        .send()
        .expect("GET /ui");
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()[LOCATION], "/ui/login");
    let login = browser()
        .get(format!("{}/ui/login", server.base_url()))
        .send()
        .expect("GET /ui/login");
    assert_eq!(login.status().as_u16(), 200);
    assert!(login.text().expect("body").contains("Admin API key"));
}

#[test]
fn only_an_admin_key_signs_in_and_its_cookie_opens_pages_and_the_admin_api() {
    let server = guarded_server();
    let base = server.base_url();
    assert_eq!(sign_in(&base, "wrong-key-0123456789"), (401, None));
    assert_eq!(sign_in(&base, CLIENT_KEY), (403, None));
    let (status, cookie) = sign_in(&base, ADMIN_KEY);
    assert_eq!(status, 303);
    let cookie = cookie.expect("a session cookie");
    let with_cookie = |path: &str| {
        browser()
            .get(format!("{base}{path}"))
            .header(COOKIE, &cookie)
            .send()
            .expect("GET")
    };
    assert_eq!(with_cookie("/ui").status().as_u16(), 200);
    assert_eq!(with_cookie("/v1/experiments").status().as_u16(), 200);
    // Not the shop's routes: the cookie is the dashboard's, not a client key.
    let events = browser()
        .post(format!("{base}/v1/events"))
        .header(COOKIE, &cookie)
        .json(&json!({"events": []}))
        .send()
        .expect("POST /v1/events");
    assert_eq!(events.status().as_u16(), 401);
    // A forged cookie opens nothing, and the API answers a problem, not a redirect.
    let forged = browser()
        .post(format!("{base}/v1/experiments/x/stop"))
        .header(COOKIE, "touchstone_session=0000")
        .send()
        .expect("POST stop");
    assert_eq!(forged.status().as_u16(), 401);
    assert_eq!(forged.headers()["content-type"], "application/problem+json");
}

#[test]
fn the_experiment_page_shows_the_numbers_of_the_results() {
    let server = TouchstoneServer::start(&[]);
    let api = Api::new(server.base_url());
    let key = "ui-numbers";
    api.define_and_start(key, &checkout_experiment(key));
    for unit in 0..200 {
        let unit_id = format!("u{unit}");
        api.post(
            "/v1/assign",
            &json!({"unit_id": unit_id, "touchpoint": "checkout.shipping"}),
        );
        if unit % 3 == 0 {
            api.post(
                "/v1/events",
                &json!({"events": [{"id": format!("{unit_id}-a"), "unit_id": unit_id, "name": "add_to_cart"}]}),
            );
        }
    }
    let results = api.get(&format!("/v1/experiments/{key}/results")).body;
    let html = api.get_text(&format!("/ui/experiments/{key}"));
    for stage in results["stages"].as_array().expect("stages") {
        for cell in stage["variants"].as_array().expect("variants") {
            let expected = format!(
                r#"data-variant="{}" data-stage="{}" data-reached="{}""#,
                cell["key"].as_str().expect("key"),
                stage["stage"].as_str().expect("stage"),
                cell["reached"]
            );
            assert!(html.contains(&expected), "{expected}");
        }
    }
    let treatment = &results["stages"][0]["variants"][1]["vs_control"]["relative"];
    assert!(html.contains(&format!(
        r#"data-estimate="{}""#,
        treatment["estimate"].as_f64().expect("an estimate")
    )));
    // The history shows the audit log's entries, newest first: the start, then the define.
    let history = &html[html.find(r#"id="history""#).expect("a history card")..];
    let start = history
        .find("<td>start</td>")
        .expect("the start in the history");
    let define = history
        .find("<td>define</td>")
        .expect("the define in the history");
    assert!(start < define, "newest first");
    assert!(history.contains("<strong>status</strong>: draft → running"));
    let list = api.get_text("/ui");
    assert!(list.contains(&format!(r#"data-experiment="{key}""#)));
    assert!(list.contains(r#"data-units="200""#));
    let missing = api.get("/ui/experiments/nobody");
    assert_eq!(missing.status, 404);
}

#[test]
fn every_documented_operation_is_answered_by_a_registered_route() {
    let server = TouchstoneServer::start(&[]);
    let api = Api::new(server.base_url());
    let document = api.get("/openapi.json").body;
    assert!(
        document["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.")
    );
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/v1/experiments/{key}/results"));
    let client = browser();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            let concrete = path.replace("{key}", "nobody").replace("{name}", "nothing");
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            let response = client
                .request(method.clone(), format!("{}{concrete}", server.base_url()))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .expect("a response");
            let status = response.status().as_u16();
            let body: Value = response.json().unwrap_or(Value::Null);
            let unrouted = body["detail"]
                .as_str()
                .is_some_and(|detail| detail.starts_with("route `"));
            assert!(
                !unrouted,
                "{method} {path} is documented but not routed ({status})"
            );
        }
    }
    let docs = api.get_text("/docs");
    for path in paths.keys() {
        assert!(
            docs.contains(&format!("<code>{path}</code>")),
            "/docs lists {path}"
        );
    }
}
