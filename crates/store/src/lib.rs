//! Touchstone's storage: the [`Store`] trait in domain verbs, the embedded [`MemoryStore`] and
//! the production `RedisStore`. Every implementation passes the same conformance suite
//! (`conformance` module), so they agree on every count.

pub mod error;
pub mod exposure;
pub mod store;

pub use error::StoreError;
pub use exposure::{Exposure, ExposureRecord};
pub use store::{Definitions, EventOutcome, EventsOutcome, Store};
