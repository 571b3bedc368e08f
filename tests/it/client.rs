//! A small blocking HTTP client for the scenarios.

use reqwest::blocking::{Client, Response};
use serde_json::Value;

pub struct Api {
    base: String,
    http: Client,
}

/// Status and decoded JSON body of a response.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// A response header as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }
}

impl Api {
    pub fn new(base_url: String) -> Api {
        Api {
            base: base_url,
            http: Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("building the HTTP client"),
        }
    }

    /// A client that sends `Authorization: Bearer KEY` with every request.
    pub fn with_key(base_url: String, key: &str) -> Api {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {key}").parse().expect("a header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
        Api {
            base: base_url,
            http: Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .default_headers(headers)
                .build()
                .expect("building the HTTP client"),
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        reply(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .expect("GET"),
        )
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        reply(
            self.http
                .post(format!("{}{path}", self.base))
                .json(body)
                .send()
                .expect("POST"),
        )
    }

    pub fn put(&self, path: &str, body: &Value) -> Reply {
        reply(
            self.http
                .put(format!("{}{path}", self.base))
                .json(body)
                .send()
                .expect("PUT"),
        )
    }

    /// A binary body (a plugin module).
    pub fn put_bytes(&self, path: &str, bytes: Vec<u8>) -> Reply {
        reply(
            self.http
                .put(format!("{}{path}", self.base))
                .header("content-type", "application/wasm")
                .body(bytes)
                .send()
                .expect("PUT bytes"),
        )
    }

    /// A body as plain text (metrics).
    pub fn get_text(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .and_then(|response| response.text())
            .expect("GET text")
    }

    /// A raw body with an explicit content type (TOML definitions, malformed JSON).
    pub fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Reply {
        reply(
            self.http
                .request(method, format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body.to_owned())
                .send()
                .expect("raw request"),
        )
    }
}

impl Api {
    /// Defines an experiment (it must be new) and starts it.
    pub fn define_and_start(&self, key: &str, definition: &Value) {
        let defined = self.put(&format!("/v1/experiments/{key}"), definition);
        assert_eq!(defined.status, 201, "{}", defined.body);
        let started = self.post(
            &format!("/v1/experiments/{key}/start"),
            &serde_json::json!({}),
        );
        assert_eq!(started.status, 200, "{}", started.body);
    }
}

/// Sum of an integer `field` over a results list of per-variant objects
/// (`results["variants"]`, `results["stages"][i]["variants"]`).
pub fn sum_over_variants(variants: &Value, field: &str) -> u64 {
    variants
        .as_array()
        .expect("a list of variants")
        .iter()
        .map(|variant| variant[field].as_u64().expect("an integer count"))
        .sum()
}

fn reply(response: Response) -> Reply {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let headers = response.headers().clone();
    let text = response.text().expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        content_type,
        body,
        headers,
    }
}
