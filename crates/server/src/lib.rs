//! Touchstone's server: actix-web API, configuration, telemetry and the CLI commands behind
//! the `touchstone` binary. The only crate that knows actix.

pub mod access;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod error;
pub mod guardrails;
pub mod http;
pub mod markers;
pub mod observe;
pub mod plugin_health;
pub mod plugins;
pub mod probe;
pub mod request_body;
pub mod routes;
pub mod service;
pub mod settings;
pub mod snapshots;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod ui;
