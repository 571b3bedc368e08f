//! Every server follows the store's plugins: it polls the definitions version (the counter
//! plugins share with definitions) each refresh interval, swaps in the new set when it moved,
//! imports changed files from the plugin directories, and says in a heartbeat which plugin
//! versions it runs, so `GET /v1/plugins` on any server lists every server's.

use super::Plugins;
use super::files::FileImport;
use std::sync::Arc;
use std::time::{Duration, Instant};
use touchstone_store::{ServerPlugins, Store};

/// How often a server repeats its heartbeat when nothing changed.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// How long a heartbeat counts: a server silent this long is gone from the list.
const HEARTBEAT_TTL: Duration = Duration::from_secs(10);

/// This server's name in the heartbeats: the host name and the port it serves on.
pub fn server_id(port: u16) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "touchstone".to_owned());
    format!("{host}:{port}")
}

/// Runs until the process ends. Store failures are logged once per outage and retried; the
/// server keeps running the set it has.
pub async fn keep_following(
    plugins: Arc<Plugins>,
    store: Arc<dyn Store>,
    mut files: FileImport,
    server: String,
    every: Duration,
    watch_every: Duration,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    let mut reported: Option<(u64, Instant)> = None;
    let mut watched = Instant::now();
    loop {
        ticker.tick().await;
        let mut result = Ok(());
        if watched.elapsed() >= watch_every {
            watched = Instant::now();
            result = files
                .sync(&plugins, store.as_ref())
                .await
                .map(|_| ())
                .map_err(|error| error.to_string());
        }
        if result.is_ok() {
            result = follow_once(&plugins, store.as_ref()).await;
        }
        let running = plugins.running().version;
        let due = reported
            .is_none_or(|(version, at)| version != running || at.elapsed() >= HEARTBEAT_EVERY);
        if result.is_ok() && due {
            result = heartbeat(&plugins, store.as_ref(), &server).await;
            if result.is_ok() {
                reported = Some((running, Instant::now()));
            }
        }
        match result {
            Ok(()) if failing => {
                failing = false;
                tracing::warn!("plugin refresh recovered");
            }
            Ok(()) => {}
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "plugin refresh failed; running the last known plugins");
            }
            Err(_) => {}
        }
    }
}

async fn follow_once(plugins: &Plugins, store: &dyn Store) -> Result<(), String> {
    let version = store
        .definitions_version()
        .await
        .map_err(|error| error.to_string())?;
    if version != plugins.running().version {
        plugins
            .refresh(store)
            .await
            .map_err(|error| super::error_chain(&error))?;
    }
    Ok(())
}

/// Says which plugin versions this server runs, until [`HEARTBEAT_TTL`] from now.
pub async fn heartbeat(plugins: &Plugins, store: &dyn Store, server: &str) -> Result<(), String> {
    let running = plugins.running();
    // Also after a start whose first swap came before the metrics recorder existed.
    crate::observe::plugins_running(&[], &running.versions());
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let report = ServerPlugins {
        server: server.to_owned(),
        seen_at: now,
        expires_at: touchstone_model::Timestamp::from_millis(
            now.as_millis() + HEARTBEAT_TTL.as_millis() as i64,
        ),
        version: running.version,
        plugins: running.versions().into_iter().collect(),
    };
    store
        .report_server(&report)
        .await
        .map_err(|error| error.to_string())
}
