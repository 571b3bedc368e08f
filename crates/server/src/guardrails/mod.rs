//! Guardrails that act: a background checker that, every `guardrails.check_interval_seconds`,
//! analyses each running experiment and runs its `guardrail_action` on a variant whose
//! guardrail metric or guardrail stage is harmed with confidence
//! (`touchstone_stats::guardrail_harms`: the always-valid interval wholly on the harmful side)
//! or whose plugin calls fall back more often than control's
//! (`touchstone_stats::plugin_health_harms`), and raises an alert on a sample-ratio
//! mismatch. Servers sharing a store each check; an atomic claim in the store decides which
//! one acts (decision 010).

mod webhook;

use crate::service::audit::Acting;
use crate::service::experiments;
use crate::state::AppState;
use serde_json::{Value, json};
use std::time::Duration;
use touchstone_model::{Experiment, GuardrailAction, Status};
use touchstone_stats::{
    GuardrailKind, Harm, Results, guardrail_harms, plugin_health, plugin_health_harms, srm_alert,
};
use touchstone_store::{Store, StoreError};
pub use webhook::{Notice, Webhook, WebhookSetupError};

/// The audit log's key id for what the checker does (no API key is involved).
pub const ACTOR: &str = "guardrail";
/// How long an alert's claim lasts: the same alert repeats at most this often.
const ALERT_REPEAT: Duration = Duration::from_secs(3600);

/// Runs for the server's life.
pub async fn keep_checking(state: AppState, webhook: Option<Webhook>) {
    let interval = Duration::from_secs(state.settings.guardrails.check_interval_seconds);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let catalog = state.catalog.load();
        for experiment in catalog.running() {
            check(&state, experiment, webhook.as_ref(), interval).await;
        }
        // Rounds completed: what a test (or an operator) waits on to know the checker looked
        // again, rather than waiting for time to pass.
        metrics::counter!("touchstone_guardrail_rounds_total").increment(1);
    }
}

/// What one look at an experiment finds, before any claim or action: its results (SRM
/// included) and the harms of its guardrail metrics, guardrail stages and plugin health.
pub struct Assessment {
    pub results: Results,
    pub harms: Vec<Harm>,
}

/// One look's reading and statistics: the aggregates and plugin calls read together, the
/// analysis off the reactor, the harms of arms holding at least `min_units`. The checker's
/// whole cost per experiment apart from acting; public so the results bench
/// (`crates/server/examples/results_at_scale.rs`) times exactly this.
pub async fn assess(
    store: &dyn Store,
    experiment: &Experiment,
    min_units: u64,
) -> Result<Assessment, AssessError> {
    let (aggregates, plugin_calls) = futures::try_join!(
        store.load_aggregates(experiment),
        store.load_plugin_health(experiment),
    )
    .map_err(AssessError::Store)?;
    let owned = experiment.clone();
    let results =
        tokio::task::spawn_blocking(move || touchstone_stats::analyze(&owned, &aggregates))
            .await
            .map_err(AssessError::Analysis)?;
    let mut harms = guardrail_harms(&results, min_units);
    let health = plugin_health(experiment, &plugin_calls);
    harms.extend(plugin_health_harms(&health, &results.control, min_units));
    Ok(Assessment { results, harms })
}

/// Why a look found nothing.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error("reading the experiment's counters failed")]
    Store(#[source] StoreError),
    #[error("the analysis panicked")]
    Analysis(#[source] tokio::task::JoinError),
}

/// One look at one experiment. Failures are logged and retried at the next look.
async fn check(
    state: &AppState,
    experiment: &Experiment,
    webhook: Option<&Webhook>,
    interval: Duration,
) {
    let key = experiment.key();
    let min_units = state.settings.guardrails.min_units;
    let Assessment { results, harms } =
        match assess(state.store.as_ref(), experiment, min_units).await {
            Ok(assessment) => assessment,
            Err(AssessError::Store(error)) => {
                crate::observe::store_failure("guardrail_check", &error);
                return;
            }
            Err(AssessError::Analysis(error)) => {
                tracing::error!(experiment = key, %error, "guardrail analysis panicked");
                return;
            }
        };
    if let Some(p_value) = srm_alert(&results) {
        alert_srm(state, experiment, &results, p_value, webhook).await;
    }
    if harms.is_empty() {
        return;
    }
    let action = experiment.guardrail_action();
    // A stop or rollback ends the running state, so its claim needs to outlive only the
    // other servers' stale catalogs; an alert repeats at most hourly while the harm lasts.
    let ttl = match action {
        GuardrailAction::Alert => ALERT_REPEAT,
        GuardrailAction::Stop | GuardrailAction::Rollback => interval * 10,
    };
    match state.store.claim_guardrail(key, "harm", ttl).await {
        Ok(true) => act(state, experiment, action, &harms, webhook).await,
        Ok(false) => {}
        Err(error) => crate::observe::store_failure("claim_guardrail", &error),
    }
}

fn action_name(action: GuardrailAction) -> &'static str {
    match action {
        GuardrailAction::Alert => "alert",
        GuardrailAction::Stop => "stop",
        GuardrailAction::Rollback => "rollback",
    }
}

/// Why the checker acted, as kept in the audit entry: per harm its variant, guardrail
/// (`metric`: a metric key, a stage, or `plugin_fallbacks`), `kind`, numbers and a sentence.
pub fn reason(harms: &[Harm]) -> Value {
    let harms: Vec<Value> = harms
        .iter()
        .map(|harm| {
            json!({"variant": harm.variant, "metric": harm.metric, "kind": harm.kind,
                   "estimate": harm.estimate, "interval": harm.interval,
                   "decided_by": harm.decided_by, "message": explain(harm)})
        })
        .collect();
    json!({"guardrail": harms})
}

/// One sentence for people reading the history.
fn explain(harm: &Harm) -> String {
    let [low, high] = harm.interval;
    let (variant, metric, estimate) = (&harm.variant, &harm.metric, harm.estimate);
    match harm.kind {
        GuardrailKind::Metric => format!(
            "guardrail metric {metric}: {variant} − control = {estimate:.4} \
             (always-valid interval [{low:.4}, {high:.4}])"
        ),
        GuardrailKind::Stage => format!(
            "guardrail stage {metric}: {variant} converts {:.2} points less than control \
             (always-valid interval [{low:.4}, {high:.4}])",
            -estimate * 100.0
        ),
        GuardrailKind::PluginHealth => format!(
            "plugin fallbacks: {:.2} points more of {variant}'s plugin calls fell back than \
             control's (always-valid interval [{low:.4}, {high:.4}])",
            estimate * 100.0
        ),
    }
}

async fn act(
    state: &AppState,
    experiment: &Experiment,
    action: GuardrailAction,
    harms: &[Harm],
    webhook: Option<&Webhook>,
) {
    let key = experiment.key();
    let name = action_name(action);
    let acting = Acting {
        key_id: ACTOR.to_owned(),
        at: state.clock.now(),
    };
    for harm in harms {
        tracing::warn!(experiment = key, variant = %harm.variant, metric = %harm.metric,
            kind = ?harm.kind, estimate = harm.estimate, interval = ?harm.interval,
            decided_by = ?harm.decided_by, action = name,
            "guardrail harmed with confidence");
        metrics::counter!("touchstone_guardrail_actions_total",
            "experiment" => key.to_owned(), "action" => name)
        .increment(1);
        if let Some(webhook) = webhook {
            webhook.send(Notice {
                experiment: key.to_owned(),
                variant: Some(harm.variant.clone()),
                metric: Some(harm.metric.clone()),
                kind: Some(harm.kind),
                estimate: Some(harm.estimate),
                interval: Some(harm.interval),
                p_value: None,
                action: name.to_owned(),
                time: acting.at,
            });
        }
    }
    let done = match action {
        GuardrailAction::Alert => Ok(()),
        GuardrailAction::Stop => {
            experiments::set_status_because(state, key, Status::Stopped, &acting, reason(harms))
                .await
                .map(drop)
        }
        GuardrailAction::Rollback => {
            let control = experiment.control().key.clone();
            experiments::ship_because(state, key, &control, &acting, reason(harms))
                .await
                .map(drop)
        }
    };
    if let Err(error) = done {
        // The claim stays held until it expires; the next claim after it retries.
        tracing::error!(experiment = key, action = name, error = %error,
            "a guardrail action failed; an operator must look at the experiment");
    }
}

async fn alert_srm(
    state: &AppState,
    experiment: &Experiment,
    results: &Results,
    p_value: f64,
    webhook: Option<&Webhook>,
) {
    let key = experiment.key();
    match state.store.claim_guardrail(key, "srm", ALERT_REPEAT).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => {
            crate::observe::store_failure("claim_guardrail", &error);
            return;
        }
    }
    tracing::warn!(experiment = key, p_value, chi_square = ?results.srm.chi_square,
        "sample-ratio mismatch: assignment or logging is broken; no effect can be trusted");
    metrics::counter!("touchstone_guardrail_actions_total",
        "experiment" => key.to_owned(), "action" => "srm_alert")
    .increment(1);
    if let Some(webhook) = webhook {
        webhook.send(Notice {
            experiment: key.to_owned(),
            variant: None,
            metric: None,
            kind: None,
            estimate: None,
            interval: None,
            p_value: Some(p_value),
            action: "srm_alert".to_owned(),
            time: state.clock.now(),
        });
    }
}
