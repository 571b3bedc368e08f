//! `touchstone-loadgen`: drives POST /v1/assign and /v1/events at fixed concurrency against a
//! release build and compares them with a bare actix-web JSON endpoint measured in the same run.

mod bare;
mod cli;
mod client;
mod report;
mod run;
mod scenario;
mod spawn;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match run::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("touchstone-loadgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}
