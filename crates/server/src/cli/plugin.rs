//! `touchstone plugin check` and `touchstone plugin run`: a plugin tried exactly as the server
//! runs it — the server's limits (`[plugins]` settings), the host's one validation (the
//! message an upload would get), the server's context builders and input encoder, the same
//! answer checks — plus what the server does not print: the plugin's log lines, the fuel each
//! call used and its wall time.

use super::plugin_bounds::FuelOf;
use crate::cli::{BindingArgs, HookArg, PluginCommand, fail, print_json, read_input};
use crate::service::assign::{AssignRequest, Assignment};
use crate::service::plugin_context;
use crate::settings::Settings;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use touchstone_plugin_host::{
    EligibleContext, EncodedConfig, EventContext, Hook, LoadedPlugin, LogLine, PayloadContext,
    PluginError, PluginHost, Session,
};

/// Exit code when the server would have fallen back to the safe default.
const FELL_BACK: u8 = 1;

pub fn run(command: PluginCommand) -> ExitCode {
    let result = match command {
        PluginCommand::Check {
            file,
            request,
            binding,
        } => check(&file, request.as_deref(), &binding),
        PluginCommand::Run {
            file,
            hook,
            input,
            request,
            binding,
        } => run_plugin(&file, hook, input.as_deref(), request.as_deref(), &binding),
    };
    result.unwrap_or_else(|message| fail(&message))
}

/// What one call did: the answer or the server's message, and what it cost.
#[derive(Debug, Serialize)]
struct CallRecord {
    hook: Hook,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<Value>,
    /// The server's message when it would fall back to the safe default.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The failure's metrics label (`out_of_fuel`, `malformed_output`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// The safe default the server would apply instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback: Option<&'static str>,
    input_bytes: usize,
    fuel_used: Option<u64>,
    fuel_limit: u64,
    wall_time_us: u128,
    logs: Vec<LogLine>,
}

fn settings(binding: &BindingArgs) -> Result<Settings, String> {
    Settings::load(binding.server_config.as_deref()).map_err(|error| error.to_string())
}

/// The server's host, with its limits; `fuel_factor` > 1 measures what a call would need
/// beyond the budget. Never the server's compiled-module cache: a CLI run writes nothing.
fn host(settings: &Settings, fuel_factor: u64) -> Result<PluginHost, String> {
    let mut config = crate::plugins::host_config(&settings.plugins);
    config.cache_dir = None;
    if fuel_factor > 1 {
        config.default_limits.fuel = config.default_limits.fuel.saturating_mul(fuel_factor);
        // A measuring run is not timed: only its fuel matters.
        config.default_limits.epoch_ticks = 60_000;
    }
    PluginHost::new(config).map_err(|error| format!("starting the plugin host: {error}"))
}

fn read_module(file: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|error| format!("reading {}: {error}", file.display()))
}

fn load(host: &PluginHost, file: &Path, bytes: &[u8]) -> Result<LoadedPlugin, String> {
    let name = file
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("plugin");
    host.load_unregistered(name, bytes)
        .map_err(|error| format!("plugin refused: {}", error_chain(&error)))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn binding_config(binding: &BindingArgs) -> Result<Value, String> {
    match &binding.config {
        None => Ok(Value::Null),
        Some(path) => read_input(path).and_then(|text| {
            serde_json::from_str(&text)
                .map_err(|error| format!("--config {} is not JSON: {error}", path.display()))
        }),
    }
}

/// A request body as the server parses and bounds it.
fn read_request(settings: &Settings, path: &Path) -> Result<AssignRequest, String> {
    let text = read_input(path)?;
    let request: AssignRequest = serde_json::from_str(&text)
        .map_err(|error| format!("--request {}: {error}", path.display()))?;
    crate::http::assign::check_request(settings, &crate::catalog::Catalog::default(), &request)
        .map_err(|error| {
            let field = match &error {
                crate::http::error::ApiError::BadRequest { field, .. } => format!("{field}: "),
                _ => String::new(),
            };
            format!("--request {}: {field}{error}", path.display())
        })?;
    Ok(request)
}

fn run_plugin(
    file: &Path,
    hook: Option<HookArg>,
    input: Option<&Path>,
    request: Option<&Path>,
    binding: &BindingArgs,
) -> Result<ExitCode, String> {
    let settings = settings(binding)?;
    let host = host(&settings, 1)?;
    let plugin = load(&host, file, &read_module(file)?)?;
    let mut session = plugin.session().capture_logs();
    let calls = match (hook, input, request) {
        (Some(hook), Some(input), None) => vec![call_with_input(&mut session, hook, input)?],
        (None, None, Some(request)) => {
            let request = read_request(&settings, request)?;
            call_like_assign(&mut session, &request, binding)?
        }
        _ => return Err("give either --hook with --input, or --request".into()),
    };
    for call in &calls {
        for line in &call.logs {
            eprintln!("plugin log [{}] {}", level_name(line.level), line.message);
        }
        eprintln!(
            "{}: {} fuel of {} in {} µs",
            call.hook,
            call.fuel_used
                .map_or("unmetered".to_owned(), |fuel| fuel.to_string()),
            call.fuel_limit,
            call.wall_time_us
        );
    }
    let code = print_json(&serde_json::json!({ "calls": calls }));
    match calls.iter().find(|call| call.error.is_some()) {
        Some(failed) => {
            eprintln!(
                "touchstone: the {} hook failed ({}): {}; the server would apply the safe default: {}",
                failed.hook,
                failed.reason.unwrap_or("error"),
                failed.error.as_deref().unwrap_or(""),
                failed.fallback.unwrap_or("")
            );
            Ok(ExitCode::from(FELL_BACK))
        }
        None => Ok(code),
    }
}

fn level_name(level: u32) -> &'static str {
    match level {
        1 => "error",
        2 => "warn",
        3 => "info",
        4 => "debug",
        _ => "trace",
    }
}

/// One hook with its context from a file: parsed into the context type (as the server's own
/// would be) and encoded by the host like every server call.
fn call_with_input(
    session: &mut Session<'_>,
    hook: HookArg,
    input: &Path,
) -> Result<CallRecord, String> {
    let text = read_input(input)?;
    let shape =
        |error: serde_json::Error| format!("--input does not fit the {hook:?} context: {error}");
    Ok(match hook {
        HookArg::Eligible => {
            let ctx: EligibleContext = serde_json::from_str(&text).map_err(shape)?;
            timed(session, Hook::Eligible, |s| s.eligible(&ctx))
        }
        HookArg::Payload => {
            let ctx: PayloadContext = serde_json::from_str(&text).map_err(shape)?;
            timed(session, Hook::Payload, |s| s.payload(&ctx))
        }
        HookArg::Event => {
            let ctx: EventContext = serde_json::from_str(&text).map_err(shape)?;
            timed(session, Hook::Event, |s| s.event(&ctx))
        }
    })
}

/// What the server does for this request at a touchpoint bound to the plugin: `eligible` for
/// the experiments (when enrolling), then `payload` for the assignments, in one session.
fn call_like_assign(
    session: &mut Session<'_>,
    request: &AssignRequest,
    binding: &BindingArgs,
) -> Result<Vec<CallRecord>, String> {
    let config = EncodedConfig::new(&binding_config(binding)?);
    let plugin = session.plugin();
    let mut calls = Vec::new();
    let mut assigned = binding.experiments.clone();
    if request.enroll && plugin.has_hook(Hook::Eligible) {
        let input = plugin_context::eligible(request, &binding.experiments, &config);
        let mut eligible = Vec::new();
        let record = timed(session, Hook::Eligible, |s| {
            let answer = s.eligible_input(&input)?;
            eligible = input
                .experiments
                .iter()
                .filter(|key| answer.get(*key).copied().unwrap_or(false))
                .cloned()
                .collect();
            Ok(answer)
        });
        assigned = eligible;
        calls.push(record);
    }
    if plugin.has_hook(Hook::Payload) && !assigned.is_empty() {
        let assignments: Vec<Assignment> = assigned
            .into_iter()
            .map(|experiment| Assignment {
                experiment,
                variant: binding.variant.clone(),
                payload: Value::Null,
                shipped: false,
            })
            .collect();
        let input = plugin_context::payload(request, &assignments, &config);
        calls.push(timed(session, Hook::Payload, |s| s.payload_input(&input)));
    }
    Ok(calls)
}

fn timed<T: Serialize>(
    session: &mut Session<'_>,
    hook: Hook,
    call: impl FnOnce(&mut Session<'_>) -> Result<T, PluginError>,
) -> CallRecord {
    let started = Instant::now();
    let result = call(session);
    let wall_time_us = started.elapsed().as_micros();
    let (answer, error, reason, fallback) = match result {
        Ok(answer) => (serde_json::to_value(answer).ok(), None, None, None),
        Err(error) => (
            None,
            Some(error_chain(&error)),
            Some(error.reason()),
            Some(match hook {
                Hook::Eligible => "no experiment is eligible",
                Hook::Payload => "every variant keeps its static payload",
                Hook::Event => "the events are accepted unchanged (or rejected, by configuration)",
            }),
        ),
    };
    CallRecord {
        hook,
        answer,
        error,
        reason,
        fallback,
        input_bytes: session.last_input_bytes(),
        fuel_used: session.last_fuel(),
        fuel_limit: session.plugin().limits().fuel,
        wall_time_us,
        logs: session.take_logs(),
    }
}

fn check(file: &Path, request: Option<&Path>, binding: &BindingArgs) -> Result<ExitCode, String> {
    let settings = settings(binding)?;
    let bytes = read_module(file)?;
    let report = host(&settings, 1)?.inspect(&bytes);
    let Some(request) = request else {
        let refused = report.refused.is_some();
        let code = print_json(&report);
        return Ok(if refused { ExitCode::from(2) } else { code });
    };
    if let Some(refused) = &report.refused {
        print_json(&report);
        return Err(format!("plugin refused: {refused}"));
    }
    let request = read_request(&settings, request)?;
    let bounds = super::plugin_bounds::at_bounds(&settings, &request);
    // Measured with a budget far above the real one, to say how much a call would need.
    let measuring = host(&settings, 1000)?;
    let plugin = load(&measuring, file, &bytes)?;
    let typical = call_like_assign(&mut plugin.session(), &request, binding)?;
    let at_bounds = call_like_assign(&mut plugin.session(), &bounds.request, binding)?;
    let budget = settings.plugins.fuel;
    let warnings =
        super::plugin_bounds::fuel_warnings(&typical, &at_bounds, budget, &bounds.description)
            .into_iter()
            .inspect(|warning| eprintln!("warning: {warning}"))
            .collect::<Vec<_>>();
    let fuel = |calls: &[CallRecord]| {
        calls
            .iter()
            .map(|call| serde_json::json!({"hook": call.hook, "fuel_used": call.fuel_used, "input_bytes": call.input_bytes, "error": call.error}))
            .collect::<Vec<_>>()
    };
    Ok(print_json(&serde_json::json!({
        "report": report,
        "fuel_budget": budget,
        "typical": fuel(&typical),
        "at_bounds": fuel(&at_bounds),
        "bounds": bounds.description,
        "warnings": warnings,
    })))
}

impl FuelOf for CallRecord {
    fn hook(&self) -> Hook {
        self.hook
    }
    fn fuel(&self) -> Option<u64> {
        self.fuel_used
    }
}
