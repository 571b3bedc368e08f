//! The experiment page's plugin-health section: per variant, the plugin calls made for it and
//! the share that fell back to the safe default, against control's with the always-valid
//! interval the guardrail checker acts on — the version of the touchpoint's plugin each
//! server runs (decision 019) and the fuel that plugin uses per call.

use crate::ui::format::{count, interval, percent, points};
use crate::ui::layout::escape;
use std::fmt::Write;
use touchstone_stats::analysis::Results;

/// The plugin bound at an experiment's touchpoint and the version each live server runs.
#[derive(Debug, Clone, Default)]
pub struct PluginServers {
    pub plugin: String,
    /// (server, the version it runs; `None`: it does not run the plugin).
    pub servers: Vec<(String, Option<String>)>,
}

/// Which version of the touchpoint's plugin every server runs: during a roll-out the rows
/// differ, afterwards they agree.
pub fn plugin_versions(plugins: &PluginServers) -> String {
    let mut out = format!(
        r#"<section class="card" id="plugin-versions" data-plugin="{plugin}"><h2>Plugin versions</h2><p class="hint">The version of plugin <code>{plugin}</code> each server runs (from their heartbeats); every server follows the store within its refresh interval.</p><div class="table-wrap"><table><thead><tr><th scope="col">Server</th><th scope="col">Version</th></tr></thead><tbody>"#,
        plugin = escape(&plugins.plugin),
    );
    if plugins.servers.is_empty() {
        out.push_str(r#"<tr><td colspan="2">No server heartbeat could be read.</td></tr>"#);
    }
    for (server, version) in &plugins.servers {
        let _ = write!(
            out,
            r#"<tr data-server="{server}" data-version="{version}"><th scope="row">{server}</th><td>{shown}</td></tr>"#,
            server = escape(server),
            version = escape(version.as_deref().unwrap_or("")),
            shown = version
                .as_deref()
                .map_or("not running it".to_owned(), escape),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

/// Empty when no plugin was called for the experiment.
pub fn plugin_health(results: &Results) -> String {
    if results.plugin_health.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        r#"<section class="card" id="plugin-health"><h2>Plugin health <span class="badge tag-guardrail">guardrail</span></h2><p class="hint">Plugin calls made for each variant (eligibility and payload) and the share that fell back to the safe default (trap, fuel, deadline, bad output). A variant whose share is higher than control's with confidence triggers the experiment's guardrail action.</p><div class="table-wrap"><table class="numbers"><thead><tr><th scope="col">Variant</th><th scope="col">Plugin calls</th><th scope="col">Fell back</th><th scope="col">Share</th><th scope="col">vs control (always-valid interval)</th></tr></thead><tbody>"#,
    );
    for variant in &results.plugin_health {
        let versus = match &variant.vs_control {
            None if variant.key == results.control => "<small>control</small>".to_owned(),
            None => "–".to_owned(),
            Some(comparison) => {
                let harmed = comparison.sequential.ci.is_some_and(|[low, _]| low > 0.0);
                format!(
                    "{} {}{}",
                    points(Some(comparison.estimate)),
                    interval(comparison.sequential.ci, points),
                    if harmed {
                        r#" <span class="verdict verdict-worse">▼ fails more</span>"#
                    } else {
                        ""
                    }
                )
            }
        };
        let _ = write!(
            out,
            r#"<tr data-variant="{key}" data-fallback-share="{share}"><th scope="row">{key}</th><td>{calls}</td><td>{fallbacks}</td><td>{percent}</td><td>{versus}</td></tr>"#,
            key = escape(&variant.key),
            share = super::data_number(variant.fallback_share),
            calls = count(variant.calls),
            fallbacks = count(variant.fallbacks),
            percent = percent(variant.fallback_share),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

/// The fuel the touchpoint's plugin used per call since the server started, per hook, against
/// its budget: how close it runs to being stopped (and to the safe default). Empty without
/// calls.
pub fn plugin_fuel(
    plugin: &str,
    stats: &[touchstone_plugin_host::FuelStats],
    budget: u64,
) -> String {
    if stats.is_empty() {
        return String::new();
    }
    let mut out = format!(
        r#"<section class="card" id="plugin-fuel" data-plugin="{plugin}"><h2>Plugin fuel</h2><p class="hint">Fuel (about one unit per WebAssembly instruction) each call of <code>{plugin}</code> used, against its budget of {budget}; a call that needs more falls back to the safe default.</p><div class="table-wrap"><table class="numbers"><thead><tr><th scope="col">Hook</th><th scope="col">Calls</th><th scope="col">p50</th><th scope="col">p99</th><th scope="col">Max</th><th scope="col">p99 of budget</th></tr></thead><tbody>"#,
        plugin = escape(plugin),
        budget = count(budget),
    );
    for hook in stats {
        let share = hook.p99 as f64 / budget.max(1) as f64;
        let _ = write!(
            out,
            r#"<tr data-hook="{name}" data-fuel-p50="{p50}" data-fuel-p99="{p99}"><th scope="row">{name}</th><td>{calls}</td><td>{p50_text}</td><td>{p99_text}</td><td>{max}</td><td>{share}</td></tr>"#,
            name = hook.hook.as_str(),
            p50 = hook.p50,
            p99 = hook.p99,
            calls = count(hook.calls),
            p50_text = count(hook.p50),
            p99_text = count(hook.p99),
            max = count(hook.max),
            share = percent(Some(share)),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_shows_the_version_it_runs() {
        let html = plugin_versions(&PluginServers {
            plugin: "gallery".into(),
            servers: vec![
                ("a:8080".into(), Some("0123456789ab".into())),
                ("b:8080".into(), None),
            ],
        });
        assert!(html.contains(r#"data-server="a:8080" data-version="0123456789ab""#));
        assert!(html.contains("not running it"));
        assert!(html.contains(r#"data-plugin="gallery""#));
    }
}
