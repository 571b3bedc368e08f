//! The `touchstone` binary: `serve`, `analyze`, `validate`.

use clap::Parser;
use std::process::ExitCode;
use touchstone_server::cli::{self, Cli};

/// mimalloc instead of glibc malloc: requests allocate and free on per-core worker threads, and
/// glibc's arenas spent ~17 % of the server's CPU under an assign load (perf, docs/load.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run(Cli::parse())
}
