//! What can go wrong in a store, by what happened.

/// A store failure. `Unavailable` is a fault of the backing system (retry later: HTTP 503);
/// `Corrupt` means data in the store could not be read back (an operator must look).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    #[error("stored data could not be decoded: {what}")]
    Corrupt {
        what: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    #[error("invalid store configuration: {0}")]
    Config(String),
}
