//! The direct cost of the plugin part of one assign request — one session, `eligible` then
//! `payload` on the server's inputs (config spliced, context borrowed) — for several modules
//! side by side: rounds of 2 000 requests per module, the modules interleaved so a noisy
//! machine slows them alike, the median round per module printed in µs per request.
//! Run: `cargo run --release -p touchstone-plugin-host --example request_cost -- A.wasm B.wasm`
//! (default: plugins/dist/pdp-ugc-gallery.wasm).

use serde_json::{Value, json};
use std::time::Instant;
use touchstone_plugin_host::{
    AssignmentRef, EligibleInput, EncodedConfig, HostConfig, Limits, PayloadInput, PluginHost,
};

fn main() {
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        paths.push("plugins/dist/pdp-ugc-gallery.wasm".into());
    }
    // A generous deadline: a descheduled thread on a busy machine must not turn into an error.
    let host = PluginHost::new(HostConfig {
        default_limits: Limits {
            epoch_ticks: 1000,
            ..Limits::default()
        },
        ..HostConfig::default()
    })
    .expect("host");
    let plugins: Vec<_> = paths
        .iter()
        .enumerate()
        .map(|(index, path)| {
            let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{path}: {error}"));
            host.load(&format!("plugin-{index}"), &bytes)
                .unwrap_or_else(|error| panic!("{path}: {error}"))
        })
        .collect();
    let config = EncodedConfig::new(
        &json!({"min_photos": 3, "photos_by_device": {"mobile": 4}, "default_photos": 2}),
    );
    let attributes = json!({"device": "mobile", "country": "DE", "photo_count": 10});
    let attributes = attributes.as_object().expect("object");
    let experiments = vec!["exp-a".to_string(), "exp-b".to_string()];
    let static_payload = json!({"layout": "grid", "zoom": true});
    let null = Value::Null;
    let request = || {
        let eligible = EligibleInput {
            unit_id: "lg-1234567890",
            touchpoint: "loadgen.assign",
            experiments: &experiments,
            attributes,
            config: &config,
        };
        let payload = PayloadInput {
            unit_id: "lg-1234567890",
            touchpoint: "loadgen.assign",
            assignments: vec![
                AssignmentRef {
                    experiment: "exp-a",
                    variant: "treatment",
                    payload: &static_payload,
                },
                AssignmentRef {
                    experiment: "exp-b",
                    variant: "control",
                    payload: &null,
                },
            ],
            attributes,
            config: &config,
        };
        (eligible, payload)
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let per_round = 2_000;
    let mut medians = vec![Vec::new(); plugins.len()];
    for _ in 0..rounds {
        for (plugin, times) in plugins.iter().zip(&mut medians) {
            let (eligible, payload) = request();
            let started = Instant::now();
            for _ in 0..per_round {
                let mut session = plugin.session();
                let answer = session.eligible_input(&eligible).expect("eligible");
                std::hint::black_box(answer);
                session.payload_input(&payload).expect("payload");
            }
            times.push(started.elapsed().as_secs_f64() * 1e6 / per_round as f64);
        }
    }
    for (path, mut times) in paths.iter().zip(medians) {
        times.sort_by(f64::total_cmp);
        eprintln!(
            "{path}: median {:.2} µs/request (min {:.2}, max {:.2}, {rounds} rounds of {per_round})",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
}
