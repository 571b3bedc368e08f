//! Who may call what: admin and client API keys, kept as SHA-256 digests and compared in
//! constant time, and the route table of required roles.

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

/// The role a path needs. Health and metrics stay open so probes and scrapers need no secret.
pub fn required_access(path: &str) -> Access {
    match path {
        "/healthz" | "/readyz" | "/metrics" => Access::Open,
        "/v1/assign" | "/v1/events" => Access::Client,
        _ if path.starts_with("/v1/") || path == "/v1" => Access::Admin,
        _ => Access::Open,
    }
}

struct StoredKey {
    digest: [u8; 32],
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

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl KeyRing {
    pub fn new(settings: &AuthSettings) -> KeyRing {
        let stored = |key: &String, role| {
            let digest = digest(key);
            let id = digest[..4]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            StoredKey { digest, role, id }
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
        let presented = digest(presented);
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
}
