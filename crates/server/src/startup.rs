//! Building the application: open the store, load definitions, start the refresher and bind
//! the HTTP server. `main` and the tests both go through `Application::build`.

use crate::access::KeyRing;
use crate::access::gate::Gate;
use crate::catalog::CatalogHandle;
use crate::clock::SystemClock;
use crate::observe;
use crate::plugins::Plugins;
use crate::plugins::files::FileImport;
use crate::settings::Settings;
use crate::state::AppState;
use crate::{http, routes};
use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::Condition;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use touchstone_model::{Experiment, ExperimentSpec};
use touchstone_store::Store;

/// How often each server moves its plugin-health tally into the store.
const PLUGIN_HEALTH_FLUSH: Duration = Duration::from_secs(1);
/// How often processed event markers whose time is up are deleted (`markers.rs`).
const MARKER_SWEEP: Duration = Duration::from_secs(60);

pub struct Application {
    port: u16,
    server: Server,
    /// Kept for the last plugin-health flush after the server stopped.
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let settings = Arc::new(settings);
        let store = touchstone_store::open(&settings.store.url)
            .await
            .with_context(|| {
                format!(
                    "opening the store at store.url = {}",
                    redacted(&settings.store.url)
                )
            })?;
        load_definition_files(store.as_ref(), &settings.experiments.dir).await?;
        let catalog = Arc::new(CatalogHandle::default());
        catalog
            .reload(store.as_ref())
            .await
            .context("loading experiment definitions from the store")?;
        tokio::spawn(Arc::clone(&catalog).keep_fresh(
            Arc::clone(&store),
            Duration::from_millis(settings.experiments.refresh_interval_ms),
        ));
        let plugins = Arc::new(Plugins::new(&settings.plugins).context("starting plugins")?);
        let mut plugin_files =
            FileImport::new(&settings.plugins.dir, &settings.plugins.bindings_dir);
        plugin_files
            .sync(&plugins, store.as_ref())
            .await
            .context("saving new plugin files to the store")?;
        plugins
            .refresh(store.as_ref())
            .await
            .context("loading plugins from the store")?;
        let state = AppState {
            store,
            catalog,
            settings: Arc::clone(&settings),
            plugins,
            plugin_health: Arc::default(),
            clock: Arc::new(SystemClock),
        };
        tokio::spawn(crate::markers::keep_sweeping(
            Arc::clone(&state.store),
            Arc::clone(&state.clock),
            MARKER_SWEEP,
        ));
        tokio::spawn(crate::plugin_health::keep_flushing(
            plugin_health_flush(&state),
            PLUGIN_HEALTH_FLUSH,
        ));
        tokio::spawn(crate::snapshots::keep_taking(
            state.clone(),
            crate::snapshots::Days::new(&settings.experiments.snapshot_time_zone)
                .context("experiments.snapshot_time_zone")?,
            Duration::from_secs(settings.experiments.snapshot_check_seconds),
        ));
        let ca_file = Some(settings.guardrails.webhook_ca_file.as_str())
            .filter(|path| !path.is_empty())
            .map(Path::new);
        let webhook = match settings.guardrails.webhook_url.as_str() {
            "" => None,
            url => Some(
                crate::guardrails::Webhook::start(url.to_owned(), ca_file)
                    .context("starting the guardrail webhook")?,
            ),
        };
        tokio::spawn(crate::guardrails::keep_checking(state.clone(), webhook));
        let gate = web::Data::new(Gate::new(
            KeyRing::new(&settings.auth),
            &settings,
            Arc::clone(&state.store),
        ));
        if gate.is_open() {
            tracing::warn!(
                "no API keys configured: EVERY endpoint is open to anyone who can reach this address; set auth.admin_keys and auth.client_keys before exposing it"
            );
        }
        let metrics = web::Data::new(observe::init());
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("binding server.bind = {}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        tokio::spawn(crate::plugins::follow::keep_following(
            Arc::clone(&state.plugins),
            Arc::clone(&state.store),
            plugin_files,
            crate::plugins::follow::server_id(port),
            Duration::from_millis(settings.experiments.refresh_interval_ms),
            Duration::from_millis(settings.plugins.watch_interval_ms),
        ));
        let max_body = settings.server.max_body_bytes;
        let body_timeout = settings.server.body_timeout_seconds;
        let origins = settings.cors.allowed_origins.clone();
        let kept = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(http::extractors::form_config(body_timeout))
                .app_data(http::extractors::path_config())
                .app_data(http::extractors::query_config())
                .app_data(gate.clone())
                .app_data(metrics.clone())
                .wrap(actix_web::middleware::from_fn(routes::middleware::around))
                .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
                .wrap(actix_web::middleware::Compress::default())
                .configure(routes::configure)
        })
        .shutdown_timeout(settings.server.shutdown_timeout_seconds)
        .listen(listener)?;
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            state: kept,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        // The calls of the last second would otherwise be lost with the process.
        crate::plugin_health::flush(&plugin_health_flush(&self.state)).await;
        served
    }
}

fn plugin_health_flush(state: &AppState) -> crate::plugin_health::Flush {
    crate::plugin_health::Flush {
        tally: Arc::clone(&state.plugin_health),
        catalog: Arc::clone(&state.catalog),
        store: Arc::clone(&state.store),
    }
}

/// The application serving on a thread of its own (its own actix system), for tests that need
/// the server but not a separate process (zero2prod's `spawn_app`). Stopped when dropped.
pub struct Background {
    port: u16,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        futures::executor::block_on(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Application {
    /// Builds the application (bind `127.0.0.1:0` for a free port, taken at bind time so no
    /// other process can take it first) and serves it on a background thread.
    pub fn spawn(settings: Settings) -> anyhow::Result<Background> {
        let (ready, started) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("touchstone-app".to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    match Application::build(settings).await {
                        Ok(application) => {
                            let handle = application.server.handle();
                            let _ = ready.send(Ok((application.port, handle)));
                            let _ = application.run_until_stopped().await;
                        }
                        Err(error) => {
                            let _ = ready.send(Err(error));
                        }
                    }
                });
            })?;
        let (port, handle) = started
            .recv()
            .map_err(|_| anyhow::anyhow!("the application thread ended before it started"))??;
        Ok(Background {
            port,
            handle,
            thread: Some(thread),
        })
    }
}

/// CORS for browser clients on the configured origins (`*` for any).
fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            HeaderName::from_static("x-request-id"),
            // OFREP's other way to send the key.
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            // OFREP web providers send it back as If-None-Match.
            header::ETAG,
        ])
        .max_age(3600);
    if origins.iter().any(|origin| origin == "*") {
        cors.allow_any_origin()
    } else {
        origins
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin))
    }
}

/// Saves every `*.toml` definition in `dir` whose key the store does not know yet, so a
/// restart never overwrites changes made through the API.
async fn load_definition_files(store: &dyn Store, dir: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::info!(dir = %dir.display(), "no experiment definitions directory; skipping");
        return Ok(());
    };
    let known = store.load_definitions().await?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let spec: ExperimentSpec =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let experiment = Experiment::new(spec).map_err(|errors| {
            anyhow::anyhow!("{}: invalid definition: {errors}", path.display())
        })?;
        if known
            .experiments
            .iter()
            .any(|e| e.key() == experiment.key())
        {
            continue;
        }
        store.save_definition(&experiment).await?;
        tracing::info!(experiment = experiment.key(), file = %path.display(), "definition loaded from file");
    }
    Ok(())
}

/// A store URL without its password, for logs.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
