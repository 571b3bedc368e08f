//! Who may call what: admin, client and metrics API keys, kept as SHA-256 digests and compared
//! in constant time; what each route requires ([`Access`], one per route of the table in
//! `http/mod.rs`); the dashboard's sessions, the same-origin rule for cookie-authenticated
//! writes and the throttle on failed authentications (decision 014).

pub mod gate;
pub mod origin;
pub mod session;
pub mod throttle;

use crate::settings::AuthSettings;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A shop front end: assign and events only.
    Client,
    /// A Prometheus scraper: `/metrics` only.
    Metrics,
    /// An operator: everything.
    Admin,
}

/// What a route requires. Each route of the table in `http/mod.rs` names one; a request that
/// matched no route is treated as [`Access::Admin`] before it hears 404 or 405.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health probes, the API description, the dashboard's assets and sign-in page.
    Open,
    /// Anyone, but a write must come from the server's own pages (the sign-in and sign-out
    /// forms): a cross-origin post is refused, so no other site can sign a browser in or out.
    SignIn,
    /// A client or admin key: what a shop front end calls.
    Client,
    /// A metrics or admin key, unless `metrics.public` opens it.
    Metrics,
    /// An admin key, or the dashboard's session cookie.
    Admin,
}

impl Access {
    /// Whether the dashboard's session cookie counts here: the pages, and the admin API their
    /// script calls. Never the client routes, which a shop calls.
    pub fn accepts_session(self) -> bool {
        self == Access::Admin
    }
}

/// Whether a route takes its client key in the body instead of a header: the beacon route
/// (`navigator.sendBeacon` sets no header). Its table entry is `Open`; its handler checks the
/// key with `Gate::admit_body_key`.
pub fn key_in_body(path: &str) -> bool {
    path == "/v1/events/beacon"
}

/// Whether a caller with `role` may use a route needing `access`.
pub fn permits(role: Role, access: Access) -> bool {
    match access {
        Access::Open | Access::SignIn => true,
        Access::Client => matches!(role, Role::Client | Role::Admin),
        Access::Metrics => matches!(role, Role::Metrics | Role::Admin),
        Access::Admin => role == Role::Admin,
    }
}

struct StoredKey {
    digest: [u8; 32],
    /// What a dashboard session issued for this key keeps (admin keys only): a fingerprint
    /// under its own label, so it is neither the key nor its digest.
    fingerprint: Option<[u8; 32]>,
    role: Role,
    /// First 8 hex digits of the digest: identifies a key in logs and the audit trail
    /// without revealing it.
    id: String,
}

/// The configured keys, hashed.
pub struct KeyRing {
    keys: Vec<StoredKey>,
}

/// An identified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub key_id: String,
}

fn digest_of(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The fingerprint a session keeps of the admin key it was issued for.
fn fingerprint_of(key: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"touchstone dashboard session key\n")
        .chain_update(key.as_bytes())
        .finalize()
        .into()
}

impl KeyRing {
    pub fn new(settings: &AuthSettings) -> KeyRing {
        let stored = |key: &String, role| {
            let digest = digest_of(key);
            StoredKey {
                digest,
                fingerprint: (role == Role::Admin).then(|| fingerprint_of(key)),
                role,
                id: hex(&digest[..4]),
            }
        };
        let keys = (settings
            .admin_keys
            .iter()
            .map(|key| stored(key, Role::Admin)))
        .chain(
            settings
                .client_keys
                .iter()
                .map(|key| stored(key, Role::Client)),
        )
        .chain(
            settings
                .metrics_keys
                .iter()
                .map(|key| stored(key, Role::Metrics)),
        )
        .collect();
        KeyRing { keys }
    }

    /// No keys configured: every route is open (development mode).
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The caller a presented key belongs to. Compares against every key, in constant time
    /// per key, so timing reveals neither which key nor how much of it matched.
    pub fn identify(&self, presented: &str) -> Option<Caller> {
        let presented = digest_of(presented);
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.digest.ct_eq(&presented)) {
                found = Some(Caller {
                    role: key.role,
                    key_id: key.id.clone(),
                });
            }
        }
        found
    }

    /// The fingerprint (hex) a new session keeps of `key`, when it is a configured admin key.
    pub fn fingerprint(&self, key: &str) -> Option<String> {
        self.identify(key)
            .filter(|caller| caller.role == Role::Admin)
            .map(|_| hex(&fingerprint_of(key)))
    }

    /// The admin whose key a session's `fingerprint` names, while that key is configured;
    /// compared like `identify`.
    pub fn admin_by_fingerprint(&self, fingerprint: &str) -> Option<Caller> {
        let mut found = None;
        for key in &self.keys {
            if let Some(own) = &key.fingerprint
                && bool::from(hex(own).as_bytes().ct_eq(fingerprint.as_bytes()))
            {
                found = Some(Caller {
                    role: key.role,
                    key_id: key.id.clone(),
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(&AuthSettings {
            admin_keys: vec!["admin-secret-0123456789".into()],
            client_keys: vec!["client-secret-0123456789".into()],
            metrics_keys: vec!["metrics-secret-0123456789".into()],
            session_ttl_seconds: 60,
            failed_attempts_per_minute: 60,
            failed_attempts_burst: 10,
        })
    }

    #[test]
    fn keys_are_told_apart_by_role() {
        let ring = ring();
        let role = |key| ring.identify(key).map(|caller| caller.role);
        assert_eq!(role("admin-secret-0123456789"), Some(Role::Admin));
        assert_eq!(role("client-secret-0123456789"), Some(Role::Client));
        assert_eq!(role("metrics-secret-0123456789"), Some(Role::Metrics));
        assert_eq!(role("client-secret-012345678"), None);
        assert!(!ring.is_open());
    }

    #[test]
    fn each_role_reaches_only_its_routes() {
        assert!(permits(Role::Client, Access::Client));
        assert!(!permits(Role::Client, Access::Admin));
        assert!(!permits(Role::Client, Access::Metrics));
        assert!(permits(Role::Metrics, Access::Metrics));
        assert!(!permits(Role::Metrics, Access::Client));
        assert!(!permits(Role::Metrics, Access::Admin));
        for access in [
            Access::Open,
            Access::SignIn,
            Access::Client,
            Access::Metrics,
        ] {
            assert!(permits(Role::Admin, access));
        }
        assert!(Access::Admin.accepts_session());
        assert!(!Access::Client.accepts_session());
        assert!(!Access::Metrics.accepts_session());
    }

    #[test]
    fn a_session_fingerprint_names_an_admin_key_and_is_not_the_key() {
        let ring = ring();
        let fingerprint = ring
            .fingerprint("admin-secret-0123456789")
            .expect("an admin key has one");
        assert!(!fingerprint.contains("admin-secret"));
        assert_eq!(
            ring.admin_by_fingerprint(&fingerprint).map(|c| c.role),
            Some(Role::Admin)
        );
        assert_eq!(ring.fingerprint("client-secret-0123456789"), None);
        assert_eq!(ring.admin_by_fingerprint("00"), None);
        // Nor is a fingerprint an API key.
        assert_eq!(ring.identify(&fingerprint), None);
        // A key removed from the configuration no longer answers for its sessions.
        let without = KeyRing::new(&AuthSettings {
            admin_keys: vec!["another-admin-0123456789".into()],
            client_keys: vec![],
            metrics_keys: vec![],
            session_ttl_seconds: 60,
            failed_attempts_per_minute: 60,
            failed_attempts_burst: 10,
        });
        assert_eq!(without.admin_by_fingerprint(&fingerprint), None);
    }
}
