//! The server's use cases, one module per area; handlers call exactly one of these.

pub mod assign;
pub mod audit;
pub mod event_plugin;
pub mod events;
pub mod experiments;
pub mod interactions;
pub mod layers;
pub mod results;
