//! The same-origin rule for writes a browser makes with the dashboard's cookie (and for the
//! sign-in and sign-out forms): the browser must say the request comes from this server's own
//! pages. `SameSite=Strict` does not cover it: another port of the same host is the same site.

pub use crate::settings::normalised_origin as normalised;

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
