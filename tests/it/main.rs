//! End-to-end scenarios: the real `touchstone` binary on a free port, driven over HTTP (or the
//! same application in-process, `app::TestApp`, where a process is not the point).
//! One test binary (links once); a module per area.

mod api;
mod app;
mod attacks;
mod audit;
mod bounded_inputs;
mod client;
mod cuped_storage;
mod dashboard;
mod fuzz;
mod growthbook_sdk;
mod guardrails;
mod guardrails_plugin_health;
mod guardrails_tls;
mod holdouts;
mod interactions;
mod journey;
mod kpis;
mod layers;
mod limits;
mod operations;
mod phases;
mod plugin_authoring;
mod plugins;
mod plugins_shared;
mod redis_backed;
mod sessions;
mod ship;
mod shutdown;
