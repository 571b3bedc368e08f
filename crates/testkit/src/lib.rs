//! Test-only helpers shared by the crates' integration tests and the end-to-end suite: a real
//! `redis-server` (and Redis Cluster) on free ports, the built `touchstone` binary, and the
//! `.wasm` plugins built from `plugins/`. Nothing here is mocked.

pub mod binary;
pub mod plugins;
pub mod redis;
pub mod wait;

pub use wait::eventually;
