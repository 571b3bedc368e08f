//! The page shell every dashboard page shares (head, navigation, assets), HTML escaping, and the
//! assets compiled into the binary.

use sha2::{Digest, Sha256};
use std::sync::LazyLock;

pub const CSS: &str = include_str!("assets/dashboard.css");
pub const JS: &str = include_str!("assets/dashboard.js");
pub const FORM_JS: &str = include_str!("assets/form.js");
pub const FAVICON: &str = include_str!("assets/favicon.svg");

/// A short digest of both assets: part of their URLs, so a browser may cache them for ever and
/// still sees a new build at once.
pub static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::new()
        .chain_update(CSS.as_bytes())
        .chain_update(JS.as_bytes())
        .chain_update(FORM_JS.as_bytes())
        .finalize();
    digest[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
});

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Whether the page offers to sign out (only when API keys are configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// Development mode: no keys, nothing to sign into.
    Open,
    SignedIn,
    SignedOut,
}

/// A whole HTML document around `body`.
pub fn page(title: &str, body: &str, session: Session) -> String {
    let version = ASSET_VERSION.as_str();
    let sign_out = match session {
        Session::SignedIn => {
            r#"<form method="post" action="/ui/logout" class="sign-out"><button type="submit" class="link">Sign out</button></form>"#
        }
        Session::Open => {
            r#"<span class="dev-mode" title="No API keys are configured: the dashboard and the API are open to anyone who can reach this server">development mode · open</span>"#
        }
        Session::SignedOut => "",
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Touchstone</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/dashboard.css?v={version}">
<script src="/ui/assets/dashboard.js?v={version}" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="/ui">Touchstone</a><nav><a href="/ui">Experiments</a><a href="/docs">API</a></nav>{sign_out}</header>
<main id="main">
{body}
</main>
</body>
</html>
"#,
        title = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn the_shell_links_versioned_assets_and_escapes_the_title() {
        let html = page("<b>", "<p>hi</p>", Session::SignedIn);
        assert!(html.contains(&format!("dashboard.css?v={}", *ASSET_VERSION)));
        assert!(html.contains("<title>&lt;b&gt; · Touchstone</title>"));
        assert!(html.contains("/ui/logout"));
    }
}
