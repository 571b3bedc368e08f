//! End-to-end scenarios: the real `touchstone` binary on a free port, driven over HTTP.
//! One test binary (links once); a module per area.

mod api;
mod audit;
mod client;
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
mod redis_backed;
mod ship;
mod shutdown;
