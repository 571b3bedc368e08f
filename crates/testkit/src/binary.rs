//! Locating and starting the built `touchstone` binary.
