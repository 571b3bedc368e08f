//! `touchstone-loadgen`: drives POST /v1/assign and /v1/events at fixed concurrency against a
//! release build and compares them with a bare actix-web JSON endpoint measured in the same run.

mod bare;
mod cli;
mod client;
mod cpu;
mod report;
mod run;
mod scenario;
mod spawn;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    if args.serve_bare {
        let workers = args
            .bare_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        return match bare::serve_child(workers) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("touchstone-loadgen --serve-bare: {error}");
                ExitCode::FAILURE
            }
        };
    }
    match run::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("touchstone-loadgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}
