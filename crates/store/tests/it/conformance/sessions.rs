//! Conformance cases for dashboard sessions: kept under the digest of their token, readable by
//! every client of the store until they expire or are revoked.

use std::time::Duration;
use touchstone_store::{Session, Store};

fn session(fingerprint: &str) -> Session {
    Session {
        key_fingerprint: fingerprint.to_owned(),
    }
}

pub async fn a_session_is_known_until_revoked_or_expired(store: &dyn Store) {
    let hour = Duration::from_secs(3600);
    // Digests unique to this case: every case of a backend shares the store.
    let (kept, revoked, short) = ("sess-kept-0a1b", "sess-revoked-2c3d", "sess-short-4e5f");
    assert_eq!(store.session(kept).await.expect("read"), None);
    store
        .create_session(kept, &session("fp-admin-1"), hour)
        .await
        .expect("created");
    store
        .create_session(revoked, &session("fp-admin-2"), hour)
        .await
        .expect("created");
    assert_eq!(
        store.session(kept).await.expect("read"),
        Some(session("fp-admin-1"))
    );
    // Sign-out forgets one session and no other; a second sign-out is harmless.
    store.revoke_session(revoked).await.expect("revoked");
    store.revoke_session(revoked).await.expect("revoked twice");
    assert_eq!(store.session(revoked).await.expect("read"), None);
    assert_eq!(
        store.session(kept).await.expect("read"),
        Some(session("fp-admin-1"))
    );
    // An expired session is gone by itself.
    store
        .create_session(short, &session("fp-admin-1"), Duration::from_millis(20))
        .await
        .expect("created");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(store.session(short).await.expect("read"), None);
}
