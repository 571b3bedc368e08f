//! Dashboard session tokens: 256 random bits from a CSPRNG (ChaCha12 seeded by the OS), sent to the
//! browser once in an HttpOnly cookie and kept by the store only as their SHA-256.

use sha2::{Digest, Sha256};

/// The cookie the dashboard's sign-in sets; accepted wherever an admin key is.
pub const SESSION_COOKIE: &str = "touchstone_session";

/// A new session token: 32 bytes from `rand`'s thread-local CSPRNG, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    super::hex(&bytes)
}

/// What the store keys a session by: the SHA-256 of its token, hex. A copy of the store's keys
/// therefore opens no session.
pub fn token_digest(token: &str) -> String {
    super::hex(&Sha256::digest(token.as_bytes()))
}

/// The session cookie's value in `Cookie` header values, if one carries it. Values are taken
/// as sent (quotes stripped); nothing is decoded.
pub fn session_cookie<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_only_their_digest_is_kept() {
        let (first, second) = (new_token(), new_token());
        assert_eq!(first.len(), 64);
        assert_ne!(first, second);
        assert_ne!(token_digest(&first), first);
        assert_eq!(token_digest(&first), token_digest(&first));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(
            session_cookie(["a=1; touchstone_session=\"abc\"; b=2"]),
            Some("abc")
        );
        assert_eq!(
            session_cookie(["a=1", "touchstone_session=xyz"]),
            Some("xyz")
        );
        assert_eq!(session_cookie(["touchstone_session_x=1"]), None);
        assert_eq!(session_cookie(["touchstone_session="]), None);
        assert_eq!(session_cookie(["garbage;;=;"]), None);
    }
}
