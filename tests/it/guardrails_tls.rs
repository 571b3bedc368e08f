//! https guardrail webhooks: a local TLS receiver whose certificate is signed by a private CA
//! generated in the test (rcgen) gets the POST when the server trusts that CA through
//! `guardrails.webhook_ca_file`; without it the server refuses the unknown issuer, logs the
//! failure, retries, and keeps serving.

use crate::client::Api;
use crate::guardrails::{answer_post, expose_and_break_checkout, guarded_experiment};
use crate::redis_backed::eventually;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;
use touchstone_testkit::binary::{TempDir, TouchstoneServer};

/// A private CA (PEM) and a certificate for 127.0.0.1 signed by it, with its key.
struct Pki {
    ca_pem: String,
    leaf: CertificateDer<'static>,
    leaf_key: PrivateKeyDer<'static>,
}

fn private_ca() -> Pki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Touchstone test CA");
    let ca_pem = ca.self_signed(&ca_key).expect("self-signed CA").pem();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf signed by the CA");
    Pki {
        ca_pem,
        leaf: leaf.der().clone(),
        leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    }
}

/// An https receiver on a free port presenting `pki`'s leaf: every POST body that arrives
/// over a completed handshake is sent on the channel.
fn tls_receiver(pki: &Pki) -> (String, Receiver<Value>) {
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.clone()], pki.leaf_key.clone_key())
        .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let url = format!("https://{}/hook", listener.local_addr().expect("address"));
    let (sender, bodies) = channel();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let Ok(connection) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                continue;
            };
            // A refused handshake fails the first read: nothing is sent.
            let mut stream = rustls::StreamOwned::new(connection, tcp);
            if let Some(value) = answer_post(&mut stream) {
                let _ = sender.send(value);
            }
        }
    });
    (url, bodies)
}

/// One server on its own memory store, checking every second, with the https webhook.
fn server(url: &str, ca_file: &str) -> TouchstoneServer {
    TouchstoneServer::start(&[
        ("TOUCHSTONE__GUARDRAILS__CHECK_INTERVAL_SECONDS", "1"),
        ("TOUCHSTONE__GUARDRAILS__MIN_UNITS", "50"),
        ("TOUCHSTONE__GUARDRAILS__WEBHOOK_URL", url),
        ("TOUCHSTONE__GUARDRAILS__WEBHOOK_CA_FILE", ca_file),
    ])
}

#[test]
fn an_https_webhook_reaches_a_receiver_whose_private_ca_is_configured() {
    let pki = private_ca();
    let dir = TempDir::new("webhook-ca");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).expect("write the CA file");
    let (url, notices) = tls_receiver(&pki);
    let touchstone = server(&url, &ca_file.display().to_string());
    let api = Api::new(touchstone.base_url());
    let key = "guardrail-https";
    api.define_and_start(key, &guarded_experiment(key, "stop"));
    expose_and_break_checkout([&api, &api], key);
    let notice = notices
        .recv_timeout(Duration::from_secs(60))
        .expect("the https receiver got the notice");
    assert_eq!(notice["experiment"], key);
    assert_eq!(notice["action"], "stop");
    assert_eq!(notice["kind"], "metric");
}

#[test]
fn an_https_webhook_to_an_unknown_issuer_is_refused_logged_and_retried() {
    let pki = private_ca();
    let (url, notices) = tls_receiver(&pki);
    let touchstone = server(&url, "");
    let api = Api::new(touchstone.base_url());
    let key = "guardrail-https-untrusted";
    api.define_and_start(key, &guarded_experiment(key, "stop"));
    expose_and_break_checkout([&api, &api], key);
    // The action itself does not wait on the webhook.
    let stopped = eventually(Duration::from_secs(60), || {
        api.get(&format!("/v1/experiments/{key}")).body["status"] == "stopped"
    });
    assert!(stopped, "the guardrail never stopped {key}");
    // Two failed attempts logged with the TLS reason: refused, and retried.
    let retried = eventually(Duration::from_secs(30), || {
        let logs = touchstone.logs();
        logs.matches("guardrail webhook failed; retrying").count() >= 2
    });
    let logs = touchstone.logs();
    assert!(retried, "no retried webhook failure in the log:\n{logs}");
    assert!(
        logs.to_lowercase().contains("unknownissuer")
            || logs.to_lowercase().contains("unknown issuer"),
        "the log does not say why:\n{logs}"
    );
    assert!(
        notices.try_recv().is_err(),
        "an untrusted receiver got a notice"
    );
    assert_eq!(
        api.get("/healthz").status,
        200,
        "the server stopped answering"
    );
}
