//! Plugins live in the store (issue 22, decision 019): an upload and a binding on one server
//! are applied by every other sharing the Redis (single and Cluster) within the refresh
//! interval, a server started later with an empty, read-only plugin directory runs them at
//! once, a module and its config changed together are never seen apart, and a store outage
//! during an upload is a 503 that leaves nothing half-written.

use crate::client::{Api, sum_over_variants};
use crate::journey::checkout_experiment;
use crate::redis_backed::eventually;
use base64::Engine as _;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use touchstone_testkit::binary::{TempDir, TouchstoneServer};
use touchstone_testkit::plugins::plugin_bytes;
use touchstone_testkit::redis::{RedisCluster, RedisOptions, RedisServer};

/// A generous wall-clock deadline per call: CI machines are busy; fuel stays the CPU bound.
const EPOCH_TICKS: (&str, &str) = ("TOUCHSTONE__PLUGINS__EPOCH_TICKS", "200");
/// How long another server may take to follow (the refresh interval is 500 ms).
const FOLLOW_BOUND: Duration = Duration::from_secs(20);

fn start(url: &str, extra: &[(&str, &str)]) -> TouchstoneServer {
    let mut env = vec![("TOUCHSTONE__STORE__URL", url), EPOCH_TICKS];
    env.extend_from_slice(extra);
    TouchstoneServer::start(&env)
}

/// Shows 3 photos on any device; products with at least 5 photos take part.
fn gallery_config() -> Value {
    json!({"min_photos": 5, "photos_by_device": {"mobile": 2}, "default_photos": 3})
}

/// The binding of `touchpoint` as `api`'s server runs it: (plugin version, config).
fn running_binding(api: &Api, touchpoint: &str) -> Option<(String, Value)> {
    let reply = api.get("/v1/touchpoints");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["touchpoints"]
        .as_array()
        .expect("touchpoints")
        .iter()
        .find(|binding| binding["touchpoint"] == touchpoint)
        .map(|binding| {
            (
                binding["version"].as_str().unwrap_or("").to_owned(),
                binding["config"].clone(),
            )
        })
}

/// Whether every one of `servers` says in its heartbeat that it runs `plugin` at `version`.
fn every_server_reports(
    api: &Api,
    servers: &[&TouchstoneServer],
    plugin: &str,
    version: &str,
) -> bool {
    let listed = api.get("/v1/plugins").body;
    let Some(entry) = listed["plugins"]
        .as_array()
        .and_then(|plugins| plugins.iter().find(|entry| entry["name"] == plugin))
    else {
        return false;
    };
    servers.iter().all(|server| {
        let id = format!(":{}", server.port());
        entry["servers"].as_array().is_some_and(|reports| {
            reports.iter().any(|report| {
                report["server"]
                    .as_str()
                    .is_some_and(|name| name.ends_with(&id))
                    && report["version"] == version
            })
        })
    })
}

/// Uploads the gallery plugin and binds it on the first server, waits until the others run it,
/// then spreads `units` assigns round-robin over all of them: the units with enough photos
/// (half of them) and only they are enrolled, every exposure naming the uploaded version.
fn applied_by_every_server(
    url: &str,
    servers: usize,
    units: usize,
) -> (Vec<TouchstoneServer>, String, String) {
    let servers: Vec<TouchstoneServer> = (0..servers).map(|_| start(url, &[])).collect();
    let apis: Vec<Api> = servers.iter().map(|s| Api::new(s.base_url())).collect();
    let suffix = format!("{}-{}", std::process::id(), servers[0].port());
    let (plugin, touchpoint, key) = (
        format!("gallery-{suffix}"),
        format!("pdp.gallery-{suffix}"),
        format!("gallery-exp-{suffix}"),
    );
    let mut definition = checkout_experiment(&key);
    definition["touchpoint"] = json!(touchpoint);
    apis[0].define_and_start(&key, &definition);
    let uploaded = apis[0].put_bytes(
        &format!("/v1/plugins/{plugin}"),
        plugin_bytes("pdp-ugc-gallery"),
    );
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    let version = uploaded.body["version"]
        .as_str()
        .expect("version")
        .to_owned();
    let bound = apis[0].put(
        &format!("/v1/touchpoints/{touchpoint}"),
        &json!({"plugin": plugin, "config": gallery_config()}),
    );
    assert_eq!(bound.status, 200, "{}", bound.body);
    assert_eq!(
        bound.body["version"],
        version.as_str(),
        "the uploading server runs it at once"
    );

    for api in &apis {
        assert!(
            eventually(FOLLOW_BOUND, || running_binding(api, &touchpoint)
                == Some((version.clone(), gallery_config()))),
            "a server did not follow the binding"
        );
    }
    let all: Vec<&TouchstoneServer> = servers.iter().collect();
    assert!(
        eventually(FOLLOW_BOUND, || every_server_reports(
            &apis[1], &all, &plugin, &version
        )),
        "every server reports the version it runs: {}",
        apis[1].get("/v1/plugins").body
    );
    let metrics = apis[servers.len() - 1].get_text("/metrics");
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("touchstone_plugin_running{")
                && line.contains(&format!("plugin=\"{plugin}\""))
                && line.contains(&format!("version=\"{version}\""))
                && line.ends_with(" 1")),
        "{metrics}"
    );

    let enrolled = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for (index, api) in apis.iter().enumerate() {
            let (enrolled, touchpoint) = (&enrolled, &touchpoint);
            let count = apis.len();
            scope.spawn(move || {
                for unit in (index..units).step_by(count) {
                    let photos = unit % 10;
                    let reply = api.post(
                        "/v1/assign",
                        &json!({"unit_id": format!("u{unit}"), "touchpoint": touchpoint,
                                "attributes": {"photo_count": photos}}),
                    );
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    let assigned = !reply.body["assignments"]
                        .as_array()
                        .expect("list")
                        .is_empty();
                    assert_eq!(
                        assigned,
                        photos >= 5,
                        "unit {unit} with {photos} photos: {}",
                        reply.body
                    );
                    if assigned {
                        enrolled.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(enrolled.into_inner(), units / 2);
    let results = apis[0].get(&format!("/v1/experiments/{key}/results"));
    assert_eq!(
        sum_over_variants(&results.body["variants"], "units"),
        (units / 2) as u64
    );
    let slices = apis[0].get(&format!(
        "/v1/experiments/{key}/results/segments/plugin_version"
    ));
    assert_eq!(slices.status, 200, "{}", slices.body);
    let values: Vec<&Value> = slices.body["values"]
        .as_array()
        .expect("values")
        .iter()
        .collect();
    assert_eq!(
        values.len(),
        1,
        "one version decided every exposure: {}",
        slices.body
    );
    assert_eq!(values[0]["value"], version.as_str());
    (servers, touchpoint, version)
}

#[test]
fn an_upload_and_binding_on_one_of_three_servers_is_applied_by_every_other_and_by_a_restarted_one()
{
    let redis = RedisServer::start();
    let url = redis.url();
    let (mut servers, touchpoint, version) = applied_by_every_server(&url, 3, 10_000);

    // One server restarts with an empty, read-only plugin directory: it runs the plugin at
    // once, before its first refresh tick.
    let mut stopped = servers.pop().expect("three servers");
    stopped.terminate(Duration::from_secs(20));
    let empty = TempDir::new("empty-plugins");
    let mut permissions = std::fs::metadata(empty.path()).expect("dir").permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(empty.path(), permissions).expect("read-only");
    let dir = empty.path().display().to_string();
    let restarted = start(
        &url,
        &[
            ("TOUCHSTONE__PLUGINS__DIR", dir.as_str()),
            ("TOUCHSTONE__PLUGINS__BINDINGS_DIR", dir.as_str()),
            ("TOUCHSTONE__PLUGINS__CACHE_DIR", ""),
        ],
    );
    let api = Api::new(restarted.base_url());
    assert_eq!(
        running_binding(&api, &touchpoint),
        Some((version, gallery_config()))
    );
    let reply = api.post(
        "/v1/assign",
        &json!({"unit_id": "late-few-photos", "touchpoint": touchpoint, "attributes": {"photo_count": 1}}),
    );
    assert_eq!(
        reply.body["assignments"],
        json!([]),
        "the plugin decided: {}",
        reply.body
    );
    let mut permissions = std::fs::metadata(empty.path()).expect("dir").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    let _ = std::fs::set_permissions(empty.path(), permissions);
}

#[test]
fn two_servers_on_redis_cluster_run_the_same_plugin() {
    applied_by_every_server(&RedisCluster::shared().url(), 2, 2_000);
}

#[test]
fn a_module_and_its_config_changed_together_are_never_seen_apart() {
    let redis = RedisServer::start();
    let url = redis.url();
    let (writer, reader) = (start(&url, &[]), start(&url, &[]));
    let (write_api, read_api) = (Api::new(writer.base_url()), Api::new(reader.base_url()));
    let encode = |name: &str| base64::engine::general_purpose::STANDARD.encode(plugin_bytes(name));
    let modules = [
        (
            "x",
            encode("pdp-ugc-gallery"),
            json!({"tag": "x", "min_photos": 1, "photos_by_device": {}, "default_photos": 1}),
        ),
        (
            "y",
            encode("checkout-free-shipping"),
            json!({"tag": "y", "countries": ["DE"], "thresholds": {"EUR": 35.0}}),
        ),
    ];
    let mut versions = std::collections::BTreeMap::new();
    for (tag, module, config) in &modules {
        let reply = write_api.put(
            "/v1/touchpoints/race.tp",
            &json!({"plugin": "racer", "config": config, "module": module}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        versions.insert(
            tag.to_string(),
            reply.body["version"].as_str().expect("version").to_owned(),
        );
    }
    assert_ne!(versions["x"], versions["y"]);

    assert!(
        eventually(FOLLOW_BOUND, || running_binding(&read_api, "race.tp")
            .is_some()),
        "the other server follows the binding"
    );
    let done = AtomicBool::new(false);
    let seen = [AtomicUsize::new(0), AtomicUsize::new(0)];
    std::thread::scope(|scope| {
        for api in [&read_api, &write_api] {
            let (done, seen, versions) = (&done, &seen, &versions);
            scope.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let Some((version, config)) = running_binding(api, "race.tp") else {
                        panic!("the binding vanished");
                    };
                    let tag = config["tag"].as_str().expect("tag");
                    assert_eq!(
                        version, versions[tag],
                        "config `{tag}` seen with another module"
                    );
                    seen[usize::from(tag == "y")].fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Switch back and forth until the readers saw each pair a few times (bounded).
        for round in 0..400 {
            let (_, module, config) = &modules[round % 2];
            let reply = write_api.put(
                "/v1/touchpoints/race.tp",
                &json!({"plugin": "racer", "config": config, "module": module}),
            );
            assert_eq!(reply.status, 200, "{}", reply.body);
            if seen.iter().all(|count| count.load(Ordering::Relaxed) >= 20) && round >= 20 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        done.store(true, Ordering::Relaxed);
    });
    assert!(
        seen.iter().all(|count| count.load(Ordering::Relaxed) > 0),
        "both pairs were read"
    );

    // Removing: a bound plugin stays; unbound, it goes from every server, with audit entries.
    let delete =
        |path: &str| write_api.send_raw(reqwest::Method::DELETE, path, "application/json", "");
    let refused = delete("/v1/plugins/racer");
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body["detail"].to_string().contains("race.tp")
            || refused.body.to_string().contains("race.tp"),
        "{}",
        refused.body
    );
    assert_eq!(delete("/v1/touchpoints/race.tp").status, 204);
    assert_eq!(delete("/v1/plugins/racer").status, 204);
    assert_eq!(delete("/v1/plugins/racer").status, 404);
    assert!(
        eventually(FOLLOW_BOUND, || {
            read_api.get("/v1/plugins").body["plugins"] == json!([])
                && running_binding(&read_api, "race.tp").is_none()
        }),
        "the removal reached the other server"
    );
    let audit = read_api.get("/v1/audit?limit=5").body.to_string();
    assert!(
        audit.contains("plugin_delete") && audit.contains("plugin_unbind"),
        "{audit}"
    );
}

#[test]
fn a_store_outage_during_an_upload_is_a_503_and_leaves_nothing_half_written() {
    let redis = RedisServer::start_with(RedisOptions {
        appendonly: true,
        fsync_always: true,
        ..RedisOptions::default()
    });
    let server = start(&redis.url(), &[]);
    let api = Api::new(server.base_url());
    let kept = api.put_bytes("/v1/plugins/kept", plugin_bytes("pdp-ugc-gallery"));
    assert_eq!(kept.status, 200, "{}", kept.body);
    let bound = api.put(
        "/v1/touchpoints/pdp.gallery",
        &json!({"plugin": "kept", "config": gallery_config()}),
    );
    assert_eq!(bound.status, 200, "{}", bound.body);
    let before = api.get("/v1/touchpoints").body;

    redis.kill();
    let refused = api.put_bytes("/v1/plugins/lost", plugin_bytes("checkout-free-shipping"));
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.body["code"], "store_unavailable");
    let module =
        base64::engine::general_purpose::STANDARD.encode(plugin_bytes("checkout-free-shipping"));
    let refused = api.put(
        "/v1/touchpoints/pdp.gallery",
        &json!({"plugin": "kept", "config": {"countries": ["DE"]}, "module": module}),
    );
    assert_eq!(refused.status, 503, "{}", refused.body);
    let names = |api: &Api| -> Vec<String> {
        api.get("/v1/plugins").body["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .map(|plugin| plugin["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(
        names(&api),
        ["kept"],
        "nothing runs here that the store does not have"
    );
    assert_eq!(api.get("/v1/touchpoints").body, before);

    redis.restart();
    // Back up: the store has exactly what was acknowledged, and a new server runs just that.
    let fresh = start(&redis.url(), &[]);
    let fresh_api = Api::new(fresh.base_url());
    assert_eq!(names(&fresh_api), ["kept"]);
    assert_eq!(fresh_api.get("/v1/touchpoints").body, before);
    let modules = redis.cli(&["--scan", "--pattern", "{touchstone}:module:*"]);
    assert_eq!(
        modules.lines().filter(|line| !line.is_empty()).count(),
        1,
        "{modules}"
    );
}

#[test]
fn plugin_files_are_saved_when_their_content_is_new_and_the_last_change_wins() {
    let redis = RedisServer::start();
    let url = redis.url();
    let plugins_dir = TempDir::new("gitops-plugins");
    let bindings_dir = TempDir::new("gitops-bindings");
    std::fs::write(
        plugins_dir.path().join("gallery.wasm"),
        plugin_bytes("pdp-ugc-gallery"),
    )
    .expect("module file");
    let binding_file = bindings_dir.path().join("gallery.toml");
    let write_binding = |min_photos: u64| {
        std::fs::write(
            &binding_file,
            format!(
                "touchpoint = \"pdp.gallery\"\nplugin = \"gallery\"\n[config]\nmin_photos = {min_photos}\ndefault_photos = 3\n[config.photos_by_device]\nmobile = 2\n"
            ),
        )
        .expect("binding file");
    };
    write_binding(5);
    let (plugins_path, bindings_path) = (
        plugins_dir.path().display().to_string(),
        bindings_dir.path().display().to_string(),
    );
    let env = [
        ("TOUCHSTONE__PLUGINS__DIR", plugins_path.as_str()),
        ("TOUCHSTONE__PLUGINS__BINDINGS_DIR", bindings_path.as_str()),
        ("TOUCHSTONE__PLUGINS__CACHE_DIR", ""),
        ("TOUCHSTONE__PLUGINS__WATCH_INTERVAL_MS", "200"),
    ];
    let first = start(&url, &env);
    let api = Api::new(first.base_url());
    let min_photos = |api: &Api| {
        running_binding(api, "pdp.gallery").map(|(_, config)| config["min_photos"].clone())
    };
    assert_eq!(min_photos(&api), Some(json!(5)), "read at start");

    // An API change wins over files that did not change since they were imported ...
    let mut changed = gallery_config();
    changed["min_photos"] = json!(8);
    let reply = api.put(
        "/v1/touchpoints/pdp.gallery",
        &json!({"plugin": "gallery", "config": changed}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let second = start(&url, &env);
    let second_api = Api::new(second.base_url());
    assert_eq!(
        min_photos(&second_api),
        Some(json!(8)),
        "a restart with the same files reverts nothing"
    );

    // ... and a file that changes afterwards wins over the API change, on every server.
    write_binding(12);
    for api in [&api, &second_api] {
        assert!(
            eventually(FOLLOW_BOUND, || min_photos(api) == Some(json!(12))),
            "the changed file reached every server: {:?}",
            min_photos(api)
        );
    }
    let audit = api.get("/v1/audit?limit=10").body;
    assert!(audit.to_string().contains("plugin_bind"), "{audit}");
}
