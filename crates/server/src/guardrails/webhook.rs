//! The guardrail webhook: notices queue on a bounded channel and one background task POSTs
//! each as JSON, retrying with exponential backoff, so neither a request nor the checker ever
//! waits on the receiver. `https://` receivers are reached through rustls, trusting the
//! compiled-in public roots and, when configured, a private CA's PEM file.

use serde::Serialize;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use touchstone_model::Timestamp;
use touchstone_plugin_host::error_chain;
use touchstone_stats::GuardrailKind;

/// Notices waiting for the receiver; past this, new ones are dropped (and counted).
const QUEUE: usize = 1_000;
/// Tries per notice; the waits between them are 1, 2, 4, 8 s.
const ATTEMPTS: u32 = 5;

/// One guardrail action or sample-ratio alert, as POSTed.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub experiment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// A metric key, a guardrail stage, or `plugin_fallbacks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// `metric`, `stage` or `plugin_health`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<GuardrailKind>,
    /// Absolute effect (variant − control).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<f64>,
    /// The always-valid interval of the absolute effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// The sample-ratio test's p-value (SRM alerts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// `alert`, `stop`, `rollback` or `srm_alert`.
    pub action: String,
    pub time: Timestamp,
}

/// Why the webhook client could not be built (at start, naming the setting).
#[derive(Debug, thiserror::Error)]
pub enum WebhookSetupError {
    #[error("guardrails.webhook_ca_file: cannot read {path}")]
    ReadCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("guardrails.webhook_ca_file: {path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("guardrails.webhook_ca_file: {path} is not a valid PEM certificate bundle")]
    BadCa {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("guardrails.webhook_url: the HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

/// The sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhook {
    queue: mpsc::Sender<Notice>,
}

impl Webhook {
    /// Spawns the delivery task for `url`, trusting the CA certificates in `ca_file` (PEM)
    /// besides the public roots.
    pub fn start(url: String, ca_file: Option<&Path>) -> Result<Webhook, WebhookSetupError> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
        if let Some(path) = ca_file {
            for certificate in private_roots(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(WebhookSetupError::Client)?;
        let (queue, notices) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(client, url, notices));
        Ok(Webhook { queue })
    }

    /// Queues a notice without waiting.
    pub fn send(&self, notice: Notice) {
        if self.queue.try_send(notice).is_err() {
            tracing::warn!("guardrail webhook queue full or closed; notice dropped");
            metrics::counter!("touchstone_webhook_dropped_total").increment(1);
        }
    }
}

fn private_roots(path: &Path) -> Result<Vec<reqwest::Certificate>, WebhookSetupError> {
    let shown = path.display().to_string();
    let pem = std::fs::read(path).map_err(|source| WebhookSetupError::ReadCa {
        path: shown.clone(),
        source,
    })?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| WebhookSetupError::BadCa {
            path: shown.clone(),
            source,
        })?;
    if certificates.is_empty() {
        return Err(WebhookSetupError::NoCertificate { path: shown });
    }
    Ok(certificates)
}

async fn deliver(client: reqwest::Client, url: String, mut notices: mpsc::Receiver<Notice>) {
    while let Some(notice) = notices.recv().await {
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            match post(&client, &url, &notice).await {
                Ok(()) => break,
                Err(error) if attempt == ATTEMPTS => {
                    tracing::error!(experiment = %notice.experiment, action = %notice.action,
                        error = error_chain(&error), attempts = ATTEMPTS,
                        "guardrail webhook failed; notice lost");
                    metrics::counter!("touchstone_webhook_failed_total").increment(1);
                }
                Err(error) => {
                    tracing::warn!(experiment = %notice.experiment, error = error_chain(&error),
                        attempt, "guardrail webhook failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
    }
}

async fn post(client: &reqwest::Client, url: &str, notice: &Notice) -> Result<(), reqwest::Error> {
    client
        .post(url)
        .json(notice)
        .send()
        .await?
        .error_for_status()
        .map(drop)
}
