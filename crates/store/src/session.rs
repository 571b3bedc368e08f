//! Dashboard sessions as the store keeps them: under the SHA-256 of the session token (never
//! the token itself), the fingerprint of the admin key it was issued for, until it expires or
//! is revoked. Kept in the store so every server behind a load balancer knows every session.

/// What a session remembers about who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// A one-way fingerprint of the admin key the session was issued for (hex), so a session
    /// stops working when its key leaves the configuration. Never the key.
    pub key_fingerprint: String,
}
