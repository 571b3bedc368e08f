//! `GET /docs`: a browsable view of `/openapi.json`, rendered on the server from the same
//! document (no script, nothing fetched from elsewhere).

use crate::routes::openapi::ApiDoc;
use crate::ui::layout::{self, Session, escape};
use actix_web::HttpResponse;
use serde_json::Value;
use std::fmt::Write;
use std::sync::LazyLock;
use utoipa::OpenApi;

static PAGE: LazyLock<String> =
    LazyLock::new(|| render(&serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null)));

pub(crate) async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; frame-ancestors 'none'",
        ))
        .body(PAGE.as_str())
}

/// Escaped text with `backtick` spans as code, as the descriptions are written.
fn prose(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(index, part)| {
            if index % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}

/// Who may call an operation, from its security requirements.
fn who(operation: &Value) -> &'static str {
    match operation["security"].as_array().map(Vec::len) {
        None | Some(0) => "Open: no key needed.",
        Some(1) => "Needs a client or an admin API key.",
        Some(_) => "Needs an admin API key (or the dashboard's session).",
    }
}

/// `#/components/schemas/Results` → a link to that schema's section.
fn schema_link(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!(r##"<a href="#schema-{0}">{0}</a>"##, escape(name));
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", schema_link(items));
    }
    if let Some(any) = schema["oneOf"].as_array() {
        return any.iter().map(schema_link).collect::<Vec<_>>().join(" or ");
    }
    match &schema["type"] {
        Value::String(kind) => escape(kind),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .map(escape)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    }
}

fn render(document: &Value) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<h1>{} API</h1><section class="card"><p>{}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI {}).</p></section>"#,
        escape(document["info"]["title"].as_str().unwrap_or("Touchstone")),
        prose(document["info"]["description"].as_str().unwrap_or("")),
        escape(document["openapi"].as_str().unwrap_or("3.1")),
    );
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, operation) in item {
                operation_section(&mut body, path, method, operation);
            }
        }
    }
    body.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = document["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            schema_section(&mut body, name, schema);
        }
    }
    layout::page("API", &body, Session::SignedOut)
}

fn operation_section(body: &mut String, path: &str, method: &str, operation: &Value) {
    let _ = write!(
        body,
        r#"<section class="card operation" id="{method}-{anchor}"><h2><span class="method method-{method}">{upper}</span> <code>{path}</code></h2><p>{summary}</p><p class="hint">{who}</p>"#,
        who = who(operation),
        anchor = escape(&path.replace(['/', '{', '}'], "-")),
        upper = method.to_uppercase(),
        path = escape(path),
        summary = prose(
            operation["description"]
                .as_str()
                .or(operation["summary"].as_str())
                .unwrap_or("")
        ),
    );
    if let Some(parameters) = operation["parameters"].as_array() {
        body.push_str("<h3>Parameters</h3><ul>");
        for parameter in parameters {
            let _ = write!(
                body,
                "<li><code>{}</code> ({}) {}</li>",
                escape(parameter["name"].as_str().unwrap_or("")),
                escape(parameter["in"].as_str().unwrap_or("")),
                prose(parameter["description"].as_str().unwrap_or("")),
            );
        }
        body.push_str("</ul>");
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        body.push_str("<h3>Request body</h3><ul>");
        for (media, value) in content {
            let _ = write!(
                body,
                "<li><code>{}</code>: {}</li>",
                escape(media),
                schema_link(&value["schema"])
            );
        }
        body.push_str("</ul>");
    }
    if let Some(responses) = operation["responses"].as_object() {
        body.push_str(r#"<h3>Responses</h3><table class="numbers"><tbody>"#);
        for (status, response) in responses {
            let media: Vec<String> = response["content"]
                .as_object()
                .map(|content| {
                    content
                        .iter()
                        .map(|(media, value)| {
                            format!(
                                "<code>{}</code> {}",
                                escape(media),
                                schema_link(&value["schema"])
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let _ = write!(
                body,
                r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>"#,
                escape(status),
                prose(response["description"].as_str().unwrap_or("")),
                media.join("<br>")
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
}

fn schema_section(body: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        body,
        r#"<section class="card schema" id="schema-{name}"><h3>{name}</h3>"#,
        name = escape(name)
    );
    if let Some(description) = schema["description"].as_str() {
        let _ = write!(body, "<p>{}</p>", prose(description));
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|value| format!("<code>{}</code>", escape(&value.to_string())))
            .collect();
        let _ = write!(body, "<p>One of {}</p>", values.join(", "));
    }
    if let Some(properties) = schema["properties"].as_object() {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        body.push_str(r#"<table class="numbers"><tbody>"#);
        for (field, property) in properties {
            let _ = write!(
                body,
                r#"<tr><th scope="row"><code>{}</code>{}</th><td>{}</td><td>{}</td></tr>"#,
                escape(field),
                if required.contains(&field.as_str()) {
                    " <small>required</small>"
                } else {
                    ""
                },
                schema_link(property),
                prose(property["description"].as_str().unwrap_or("")),
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticks_become_code_and_markup_is_escaped() {
        assert_eq!(
            prose("send `Authorization: Bearer <KEY>` & wait"),
            "send <code>Authorization: Bearer &lt;KEY&gt;</code> &amp; wait"
        );
    }

    #[test]
    fn the_page_lists_every_operation_and_schema() {
        let document = serde_json::to_value(ApiDoc::openapi()).expect("the document");
        let html = render(&document);
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("item").keys() {
                let anchor = format!(r#"id="{method}-{}""#, path.replace(['/', '{', '}'], "-"));
                assert!(html.contains(&anchor), "{method} {path}");
            }
        }
        assert!(html.contains(r#"id="schema-Results""#));
        assert!(html.contains("Needs an admin API key"));
    }
}
