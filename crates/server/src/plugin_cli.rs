//! `touchstone plugin check FILE.wasm` and `touchstone plugin run FILE.wasm --hook … --input …`:
//! what a plugin author needs to try a plugin without a server.

use crate::cli::{HookArg, PluginCommand, fail, print_json, read_input};
use std::path::Path;
use std::process::ExitCode;
use touchstone_plugin_host::{Hook, HostConfig, PluginHost};

pub fn run(command: PluginCommand) -> ExitCode {
    let host = match PluginHost::new(HostConfig::default()) {
        Ok(host) => host,
        Err(error) => return fail(&format!("starting the plugin host: {error}")),
    };
    match command {
        PluginCommand::Check { file } => match std::fs::read(&file) {
            Ok(bytes) => {
                let report = host.inspect(&bytes);
                let refused = report.refused.is_some();
                let code = print_json(&report);
                if refused { ExitCode::from(2) } else { code }
            }
            Err(error) => fail(&format!("reading {}: {error}", file.display())),
        },
        PluginCommand::Run { file, hook, input } => call(&host, &file, hook, &input),
    }
}

fn call(host: &PluginHost, file: &Path, hook: HookArg, input: &Path) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) => return fail(&format!("reading {}: {error}", file.display())),
    };
    let name = file
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("plugin");
    let plugin = match host.load(name, &bytes) {
        Ok(plugin) => plugin,
        Err(error) => return fail(&format!("plugin refused: {error}")),
    };
    let input = match read_input(input).and_then(|text| {
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|error| format!("input is not JSON: {error}"))
    }) {
        Ok(input) => input,
        Err(message) => return fail(&message),
    };
    let hook = match hook {
        HookArg::Eligible => Hook::Eligible,
        HookArg::Payload => Hook::Payload,
        HookArg::Event => Hook::Event,
    };
    match plugin.call_json(hook, &input) {
        Ok(output) => print_json(&output),
        Err(error) => fail(&format!("the {hook:?} hook failed: {error}")),
    }
}
