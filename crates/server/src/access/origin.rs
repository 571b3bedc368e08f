//! The same-origin rule for writes a browser makes with the dashboard's cookie (and for the
//! sign-in and sign-out forms): the browser must say the request comes from this server's own
//! pages. `SameSite=Strict` does not cover it: another port of the same host is the same site.

/// Whether a request's `Sec-Fetch-Site` and `Origin` headers say it comes from `own_origin`
/// (`scheme://host[:port]`). A browser that sends `Sec-Fetch-Site` is believed on it alone
/// (only `same-origin` passes); without it, `Origin` must equal the server's own. A request
/// with neither is refused: every browser of the last years sends one of them on a write.
pub fn is_same_origin(
    origin: Option<&str>,
    sec_fetch_site: Option<&str>,
    own_origin: &str,
) -> bool {
    if let Some(site) = sec_fetch_site {
        return site.trim().eq_ignore_ascii_case("same-origin");
    }
    match origin {
        Some(origin) => {
            normalised(origin).is_some_and(|origin| Some(origin) == normalised(own_origin))
        }
        None => false,
    }
}

/// `scheme://host[:port]` in lower case, the default port of the scheme dropped, a trailing
/// slash or path dropped; `None` for anything that is not an http(s) origin (`null` included).
pub fn normalised(url: &str) -> Option<String> {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "http://127.0.0.1:8080";

    #[test]
    fn fetch_metadata_decides_when_the_browser_sends_it() {
        assert!(is_same_origin(None, Some("same-origin"), OWN));
        assert!(!is_same_origin(Some(OWN), Some("same-site"), OWN));
        assert!(!is_same_origin(Some(OWN), Some("cross-site"), OWN));
        assert!(!is_same_origin(Some(OWN), Some("none"), OWN));
    }

    #[test]
    fn otherwise_the_origin_must_be_the_servers_own() {
        assert!(is_same_origin(Some("http://127.0.0.1:8080"), None, OWN));
        assert!(is_same_origin(Some("HTTP://127.0.0.1:8080/"), None, OWN));
        assert!(!is_same_origin(Some("http://127.0.0.1:8081"), None, OWN));
        assert!(!is_same_origin(Some("https://127.0.0.1:8080"), None, OWN));
        assert!(!is_same_origin(Some("null"), None, OWN));
        assert!(!is_same_origin(None, None, OWN));
        assert!(is_same_origin(
            Some("https://ts.example"),
            None,
            "https://ts.example:443/ui"
        ));
        assert!(!is_same_origin(
            Some("https://ts.example.evil"),
            None,
            "https://ts.example"
        ));
    }
}
