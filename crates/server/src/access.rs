//! Who may call what: admin and client API keys, kept as SHA-256 digests and compared in
//! constant time, the dashboard's session tokens derived from admin keys, and the route table
//! of required roles.

use crate::settings::AuthSettings;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A shop front end: assign and events only.
    Client,
    /// An operator: everything.
    Admin,
}

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Open,
    Client,
    Admin,
}

/// The role a path needs. Health and metrics stay open so probes and scrapers need no secret;
/// so do the API description and the dashboard's sign-in page and assets. The dashboard's
/// pages need an admin key, like the admin API they act through.
pub fn required_access(path: &str) -> Access {
    match path {
        "/healthz" | "/readyz" | "/metrics" => Access::Open,
        "/v1/assign" | "/v1/events" | "/v1/exposures" => Access::Client,
        // A beacon can set no header: the client key travels in the body and the handler
        // checks it (`Gate::admit_body_key`).
        "/v1/events/beacon" => Access::Open,
        _ if path.starts_with("/ofrep/") => Access::Client,
        // The browser client and (when `demo.enabled`) the example shop.
        _ if path.starts_with("/sdk/") || path == "/demo" || path.starts_with("/demo/") => {
            Access::Open
        }
        "/ui/login" | "/ui/logout" => Access::Open,
        _ if path.starts_with("/ui/assets/") => Access::Open,
        _ if path.starts_with("/v1/") || path == "/v1" => Access::Admin,
        _ if path.starts_with("/ui/") || path == "/ui" => Access::Admin,
        _ => Access::Open,
    }
}

/// Whether a route takes its client key in the body instead of a header: the beacon route
/// (`navigator.sendBeacon` sets no header); its handler checks the key.
pub fn key_in_body(path: &str) -> bool {
    path == "/v1/events/beacon"
}

/// Whether the API also accepts the dashboard's session cookie on this path: the pages, and
/// the admin API their script calls. Never the client routes, which a shop calls.
pub fn accepts_session(path: &str) -> bool {
    required_access(path) == Access::Admin
}

/// The dashboard's session token for an admin key: SHA-256 over a fixed label and the key,
/// hex. Stateless, so every server behind a load balancer accepts it and a restart keeps the
/// session; it reveals nothing of the key, and it stops working when the key is removed.
pub fn session_token(key: &str) -> String {
    Sha256::new()
        .chain_update(b"touchstone dashboard session\n")
        .chain_update(key.as_bytes())
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

struct StoredKey {
    digest: [u8; 32],
    /// Digest of the key's dashboard session token (admin keys only).
    session_digest: Option<[u8; 32]>,
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

impl KeyRing {
    pub fn new(settings: &AuthSettings) -> KeyRing {
        let stored = |key: &String, role| {
            let digest = digest_of(key);
            let id = digest[..4]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            let session_digest = (role == Role::Admin).then(|| digest_of(&session_token(key)));
            StoredKey {
                digest,
                session_digest,
                role,
                id,
            }
        };
        let keys = settings
            .admin_keys
            .iter()
            .map(|key| stored(key, Role::Admin))
            .chain(
                settings
                    .client_keys
                    .iter()
                    .map(|key| stored(key, Role::Client)),
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

    /// The admin a dashboard session token belongs to, compared like `identify`.
    pub fn identify_session(&self, token: &str) -> Option<Caller> {
        let presented = digest_of(token);
        let mut found = None;
        for key in &self.keys {
            if let Some(session) = &key.session_digest
                && bool::from(session.ct_eq(&presented))
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

/// Whether a caller with `role` may use a route needing `access`.
pub fn permits(role: Role, access: Access) -> bool {
    match access {
        Access::Open | Access::Client => true,
        Access::Admin => role == Role::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(&AuthSettings {
            admin_keys: vec!["admin-secret-0123456789".into()],
            client_keys: vec!["client-secret-0123456789".into()],
        })
    }

    #[test]
    fn keys_are_told_apart_by_role() {
        let ring = ring();
        assert_eq!(
            ring.identify("admin-secret-0123456789").map(|c| c.role),
            Some(Role::Admin)
        );
        assert_eq!(
            ring.identify("client-secret-0123456789").map(|c| c.role),
            Some(Role::Client)
        );
        assert_eq!(ring.identify("client-secret-012345678"), None);
        assert!(!ring.is_open());
    }

    #[test]
    fn client_keys_reach_only_assign_and_events() {
        assert!(permits(Role::Client, required_access("/v1/assign")));
        assert!(permits(Role::Client, required_access("/v1/events")));
        assert!(permits(Role::Client, required_access("/v1/exposures")));
        assert_eq!(
            required_access("/ofrep/v1/evaluate/flags/pdp-gallery"),
            Access::Client
        );
        assert_eq!(required_access("/v1/events/beacon"), Access::Open);
        assert_eq!(required_access("/sdk/touchstone.js"), Access::Open);
        assert!(!permits(
            Role::Client,
            required_access("/v1/experiments/x/start")
        ));
        assert!(!permits(
            Role::Client,
            required_access("/v1/experiments/x/results")
        ));
        assert!(permits(Role::Admin, required_access("/v1/experiments")));
        assert_eq!(required_access("/healthz"), Access::Open);
    }

    #[test]
    fn dashboard_pages_need_an_admin_but_sign_in_and_assets_are_open() {
        assert_eq!(required_access("/ui"), Access::Admin);
        assert_eq!(required_access("/ui/experiments/x"), Access::Admin);
        assert_eq!(required_access("/ui/charts/over-time"), Access::Admin);
        assert_eq!(required_access("/ui/login"), Access::Open);
        assert_eq!(required_access("/ui/assets/dashboard.js"), Access::Open);
        assert_eq!(required_access("/openapi.json"), Access::Open);
        assert!(accepts_session("/v1/experiments/x/stop"));
        assert!(!accepts_session("/v1/events"));
    }

    #[test]
    fn session_tokens_identify_admins_only_and_differ_from_the_key() {
        let ring = ring();
        let token = session_token("admin-secret-0123456789");
        assert_ne!(token, "admin-secret-0123456789");
        assert_eq!(
            ring.identify_session(&token).map(|c| c.role),
            Some(Role::Admin)
        );
        // The key itself is not a session, nor is a client key's token.
        assert_eq!(ring.identify_session("admin-secret-0123456789"), None);
        assert_eq!(
            ring.identify_session(&session_token("client-secret-0123456789")),
            None
        );
        // Nor is a session token an API key.
        assert_eq!(ring.identify(&token), None);
    }
}
