//! The API's handlers: thin (parse → one service call → map to a response). They know neither
//! the dashboard (`ui`) nor the route table (`routes`, which registers both); what they share
//! with the dashboard lives below both (`request_body`, `access::gate`, `error`).

pub mod assign;
pub mod audit;
pub mod error;
pub mod events;
pub mod experiments;
pub mod exposures;
pub mod extractors;
pub mod health;
pub mod holdouts;
pub mod layers;
pub mod metrics;
pub mod ofrep;
pub mod phases;
pub mod plugins;
pub mod sdk;
