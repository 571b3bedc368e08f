//! `GET /sdk/touchstone.js` (the browser client, `clients/browser/`) and, when
//! `demo.enabled`, the example storefront at `/demo` (`examples/storefront/`). Both are
//! compiled into the binary: nothing is read from disk or fetched elsewhere at run time.

use crate::http::error::ApiError;
use crate::state::AppState;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};

/// The browser client, as written (plain ES module, JSDoc types).
pub const CLIENT_JS: &str = include_str!("../../../../clients/browser/touchstone.js");

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The storefront's files: (name, content type, text).
const DEMO_FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../../examples/storefront/index.html"),
    ),
    (
        "checkout.html",
        "text/html; charset=utf-8",
        include_str!("../../../../examples/storefront/checkout.html"),
    ),
    (
        "storefront.js",
        JAVASCRIPT,
        include_str!("../../../../examples/storefront/storefront.js"),
    ),
    (
        "storefront.css",
        "text/css; charset=utf-8",
        include_str!("../../../../examples/storefront/storefront.css"),
    ),
];

/// The placeholder in the demo pages that becomes `demo.client_key`.
const CLIENT_KEY_PLACEHOLDER: &str = "{{TOUCHSTONE_CLIENT_KEY}}";

pub(crate) async fn client_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(JAVASCRIPT)
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(CLIENT_JS)
}

pub(crate) async fn demo_index(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    demo(&state, "index.html")
}

pub(crate) async fn demo_file(
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    demo(&state, &file)
}

fn demo(state: &AppState, name: &str) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound {
        what: format!("demo file `{name}` (the demo is served only with demo.enabled = true)"),
    };
    if !state.settings.demo.enabled {
        return Err(not_found());
    }
    let (_, content_type, text) = DEMO_FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or_else(not_found)?;
    let body = if content_type.starts_with("text/html") {
        text.replace(
            CLIENT_KEY_PLACEHOLDER,
            &attribute_escaped(&state.settings.demo.client_key),
        )
    } else {
        (*text).to_owned()
    };
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(body))
}

/// Text safe inside a double-quoted HTML attribute.
fn attribute_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
