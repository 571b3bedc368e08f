//! The guardrail webhook: notices queue on a bounded channel and one background task POSTs
//! each as JSON, retrying with exponential backoff, so neither a request nor the checker ever
//! waits on the receiver.

use serde::Serialize;
use std::time::Duration;
use tokio::sync::mpsc;
use touchstone_model::Timestamp;

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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
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

/// The sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhook {
    queue: mpsc::Sender<Notice>,
}

impl Webhook {
    /// Spawns the delivery task for `url`.
    pub fn start(url: String) -> Result<Webhook, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
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

async fn deliver(client: reqwest::Client, url: String, mut notices: mpsc::Receiver<Notice>) {
    while let Some(notice) = notices.recv().await {
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            match post(&client, &url, &notice).await {
                Ok(()) => break,
                Err(error) if attempt == ATTEMPTS => {
                    tracing::error!(experiment = %notice.experiment, action = %notice.action,
                        %error, attempts = ATTEMPTS, "guardrail webhook failed; notice lost");
                    metrics::counter!("touchstone_webhook_failed_total").increment(1);
                }
                Err(error) => {
                    tracing::warn!(experiment = %notice.experiment, %error, attempt,
                        "guardrail webhook failed; retrying");
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
