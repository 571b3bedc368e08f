//! The `touchstone` binary: `serve`, `analyze`, `validate`.

use clap::Parser;
use std::process::ExitCode;
use touchstone_server::cli::{self, Cli};

fn main() -> ExitCode {
    cli::run(Cli::parse())
}
