//! Command-line interface: `touchstone serve`, `touchstone analyze`, `touchstone validate`.

mod plugin;
mod plugin_bounds;

use crate::settings::Settings;
use crate::startup::{Application, redacted};
use crate::telemetry;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "touchstone",
    version,
    about = "A/B experimentation server for customer journeys"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server.
    Serve {
        /// A TOML file overriding config/default.toml (environment variables override both).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Analyze aggregated counts (JSON) offline and print the results.
    Analyze {
        /// The aggregates file, or `-` for standard input.
        file: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Plan a test instead: '{"baseline":0.03,"mde":0.05,"alpha":0.05,"power":0.8}'.
        #[arg(long)]
        plan: Option<String>,
    },
    /// Check experiment definition files (TOML or JSON) and report every problem.
    Validate { files: Vec<PathBuf> },
    /// Work with a plugin module without a server.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Exit 0 when an http:// URL answers 2xx (container health checks without curl).
    Probe {
        #[arg(default_value = "http://127.0.0.1:8080/readyz")]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Report exports, imports, hooks, footprint and limits, and whether the server would load
    /// it (the very checks and message of an upload). With --request, also run it on that
    /// request and on the largest one the server accepts, and warn when fuel would run out.
    Check {
        file: PathBuf,
        /// A `POST /v1/assign` request body (JSON) to measure the plugin's fuel with.
        #[arg(long)]
        request: Option<PathBuf>,
        #[command(flatten)]
        binding: BindingArgs,
    },
    /// Call the plugin exactly as the server would, under the server's limits (config file and
    /// TOUCHSTONE__PLUGINS__* settings): same input encoding, same answer checks and messages.
    /// Prints the answer, the plugin's log lines, the fuel used and the wall time; exits 1
    /// with the server's message when the server would fall back to the safe default.
    Run {
        file: PathBuf,
        /// The hook to call with --input.
        #[arg(long, value_enum, requires = "input")]
        hook: Option<HookArg>,
        /// The hook's input JSON file (its context), or `-` for standard input.
        #[arg(long, conflicts_with = "request")]
        input: Option<PathBuf>,
        /// A `POST /v1/assign` request body: builds the contexts the server would and calls
        /// `eligible` then `payload` in one session, as the server does.
        #[arg(long)]
        request: Option<PathBuf>,
        #[command(flatten)]
        binding: BindingArgs,
    },
}

/// What the server knows besides the request: the touchpoint's binding and catalog.
#[derive(Debug, clap::Args)]
pub struct BindingArgs {
    /// The binding's config (JSON file): the `config` of `PUT /v1/touchpoints/{name}`.
    /// Without it the plugin gets `null`, as from a binding without config.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The running experiments at the touchpoint whose targeting admits the unit: those
    /// `eligible` is asked about.
    #[arg(long, value_delimiter = ',', default_value = "experiment")]
    pub experiments: Vec<String>,
    /// The variant the unit is assigned in each of them (what `payload` sees).
    #[arg(long, default_value = "treatment")]
    pub variant: String,
    /// A TOML file overriding config/default.toml, for the plugin limits.
    #[arg(long = "server-config")]
    pub server_config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HookArg {
    Eligible,
    Payload,
    Event,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Table,
}

/// Exit code 2: the input was wrong (the message names the field).
const BAD_INPUT: u8 = 2;

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::Analyze { file, format, plan } => analyze(file, format, plan),
        Command::Validate { files } => validate(&files),
        Command::Plugin { command } => plugin::run(command),
        Command::Probe { url } => match crate::probe::probe(&url) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                report(&format!("touchstone probe: {message}"));
                ExitCode::FAILURE
            }
        },
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let settings = match Settings::load(config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            report(&format!("touchstone: {error}"));
            return ExitCode::from(BAD_INPUT);
        }
    };
    telemetry::init(&settings.log);
    if settings.is_embedded_store() {
        tracing::warn!(
            store = "memory",
            "starting with the embedded in-memory store: data is NOT durable and is lost at exit; set TOUCHSTONE__STORE__URL=redis://… for production"
        );
    } else {
        tracing::info!(store = %redacted(&settings.store.url), "starting with Redis as the system of record");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(error = %error, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let application = Application::build(settings).await?;
        tracing::info!(port = application.port(), "touchstone listening");
        application.run_until_stopped().await?;
        anyhow::Ok(())
    });
    match result {
        Ok(()) => {
            tracing::info!("touchstone stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "touchstone failed");
            ExitCode::FAILURE
        }
    }
}

fn analyze(file: Option<PathBuf>, format: Format, plan: Option<String>) -> ExitCode {
    let input = match (plan, file) {
        (Some(plan), _) => {
            return match serde_json::from_str(&plan)
                .map_err(|error| format!("--plan: {error}"))
                .and_then(|input| {
                    touchstone_stats::analysis::plan(&input).map_err(|e| e.to_string())
                }) {
                Ok(output) => print_json(&output),
                Err(message) => fail(&message),
            };
        }
        (None, Some(file)) => read_input(&file),
        (None, None) => {
            Err("give an aggregates FILE (or - for standard input) or --plan".to_owned())
        }
    };
    let results = input.and_then(|text| {
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| format!("input is not JSON: {error}"))?;
        touchstone_stats::analysis::analyze_input(&json).map_err(|error| error.to_string())
    });
    match (results, format) {
        (Ok(results), Format::Json) => print_json(&results),
        (Ok(results), Format::Table) => {
            print_text(&touchstone_stats::analysis::render_table(&results))
        }
        (Err(message), _) => fail(&message),
    }
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for file in files {
        let outcome = std::fs::read_to_string(file)
            .map_err(|error| error.to_string())
            .and_then(|text| parse_definition(file, &text))
            .and_then(|spec| {
                touchstone_model::Experiment::new(spec).map_err(|errors| errors.to_string())
            });
        match outcome {
            Ok(experiment) => {
                print_text(&format!("{}: ok ({})\n", file.display(), experiment.key()));
            }
            Err(message) => {
                ok = false;
                report(&format!("{}: {message}", file.display()));
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(BAD_INPUT)
    }
}

fn parse_definition(
    file: &std::path::Path,
    text: &str,
) -> Result<touchstone_model::ExperimentSpec, String> {
    if file.extension().is_some_and(|ext| ext == "json") {
        serde_json::from_str(text).map_err(|error| error.to_string())
    } else {
        toml::from_str(text).map_err(|error| error.to_string())
    }
}

pub(crate) fn read_input(file: &std::path::Path) -> Result<String, String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|error| format!("reading standard input: {error}"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(file)
            .map_err(|error| format!("reading {}: {error}", file.display()))
    }
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => print_text(&format!("{text}\n")),
        Err(error) => fail(&error.to_string()),
    }
}

fn print_text(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

pub(crate) fn fail(message: &str) -> ExitCode {
    report(&format!("touchstone: {message}"));
    ExitCode::from(BAD_INPUT)
}

fn report(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `touchstone analyze FILE` on `input`: its exit code.
    fn analyze_file(name: &str, input: &serde_json::Value) -> ExitCode {
        let dir = touchstone_testkit::binary::TempDir::new("analyze-cli");
        let path = dir.path().join(name);
        std::fs::write(&path, input.to_string()).expect("writing the input");
        analyze(Some(path), Format::Table, None)
    }

    #[test]
    fn analyze_refuses_impossible_counts_and_alphas_with_exit_two() {
        let arm = |key: &str, units: u64, reached: u64, count: u64| {
            serde_json::json!({"key": key, "units": units, "stages": {"buy": reached},
                "metrics": {"orders": {"count": count, "sum": 1.0, "sum_squares": 1.0}}})
        };
        let valid = serde_json::json!({"journey": ["buy"],
            "variants": [arm("A", 100, 10, 100), arm("B", 100, 12, 100)]});
        assert_eq!(analyze_file("valid.json", &valid), ExitCode::SUCCESS);
        let mut metric_above_units = valid.clone();
        metric_above_units["variants"][1] = arm("B", 100, 12, 101);
        let mut reached_above_units = valid.clone();
        reached_above_units["variants"][0] = arm("A", 100, 101, 100);
        let mut overflowing = valid.clone();
        overflowing["variants"][0] = arm("A", u64::MAX / 2 + 1, 1, 1);
        overflowing["variants"][1] = arm("B", u64::MAX / 2 + 1, 1, 1);
        let mut tiny_alpha = valid.clone();
        tiny_alpha["alpha"] = serde_json::json!(1e-300);
        for (name, input) in [
            ("metric-above-units.json", metric_above_units),
            ("reached-above-units.json", reached_above_units),
            ("overflowing.json", overflowing),
            ("tiny-alpha.json", tiny_alpha),
        ] {
            assert_eq!(
                analyze_file(name, &input),
                ExitCode::from(BAD_INPUT),
                "{name}"
            );
        }
    }
}
