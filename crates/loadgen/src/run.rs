//! One run: start what is needed, set up the experiment, drive each scenario (warm-up, then
//! measured), and print the figures.

use crate::cli::{Args, Scenario};
use crate::client::{self, Connection, Sequence, Target, Workload};
use crate::cpu::{self, Spent, Watched};
use crate::report::{self, Figures, Report, Setting};
use crate::scenario::{self, AssignBodies, EventOrder, ExperimentSetup};
use crate::{bare, spawn};
use anyhow::{Context, bail};
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

pub fn run(args: Args) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let needs_server = args.scenarios.iter().any(|s| *s != Scenario::Bare);
    let spawned = if args.spawn && needs_server {
        let binary = args
            .server_bin
            .clone()
            .unwrap_or_else(spawn::default_binary);
        let spawned = spawn::spawn(&binary, &args.store_url, &args.server_log_level)?;
        eprintln!(
            "spawned {} on {} (store {}), log: {}",
            binary.display(),
            spawned.addr,
            args.store_url,
            spawned.log.display()
        );
        Some(spawned)
    } else {
        None
    };
    let server = match (&spawned, &args.server) {
        (Some(spawned), _) => Some(spawned.addr),
        (None, Some(url)) => Some(parse_server(url)?),
        (None, None) if needs_server => bail!("assign and events need --server URL or --spawn"),
        (None, None) => None,
    };
    let setup = match &args.experiment_file {
        Some(path) => ExperimentSetup::from_file(path)?,
        None => ExperimentSetup::builtin()?,
    };
    let touchpoint = args
        .assign_touchpoint
        .clone()
        .unwrap_or_else(|| setup.touchpoint.clone());
    // The processes whose CPU time each server scenario is charged with.
    let mut serving = Vec::new();
    if let Some(pid) = spawned
        .as_ref()
        .map(spawn::Spawned::pid)
        .or(args.server_pid)
    {
        serving.push(Watched {
            name: "server",
            pid,
        });
    }
    if let Some(pid) = cpu::local_redis_pid(&args.store_url) {
        eprintln!("reading Redis's CPU time from /proc/{pid}");
        serving.push(Watched { name: "redis", pid });
    }
    let runtime = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads)
            .enable_all()
            .build()
    }
    .context("starting the client runtime")?;
    let figures = runtime.block_on(drive_all(&args, server, &setup, &touchpoint, &serving))?;
    drop(spawned);
    let report = Report {
        setting: Setting {
            target: match (server, args.spawn) {
                (Some(addr), true) => format!("spawned touchstone on {addr}"),
                (Some(addr), false) => format!("touchstone at {addr}"),
                (None, _) => "bare endpoint only".into(),
            },
            store: args.spawn.then(|| args.store_url.clone()),
            concurrency: args.concurrency,
            client_threads: args.client_threads.max(1),
            duration_seconds: args.duration.as_secs_f64(),
            batch: args.batch,
            touchpoint,
            experiment: setup.key.clone(),
            plugin: args.plugin.as_ref().map(|wasm| wasm.display().to_string()),
            cores,
        },
        figures,
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        report.table()
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing the figures")?;
    Ok(())
}

async fn drive_all(
    args: &Args,
    server: Option<SocketAddr>,
    setup: &ExperimentSetup,
    touchpoint: &str,
    serving: &[Watched],
) -> anyhow::Result<Vec<Figures>> {
    let run_id = scenario::run_id();
    let bodies = || AssignBodies::new(&run_id, touchpoint, &args.attributes);
    let client_target = server
        .map(|addr| Target::new(addr, args.client_key.as_deref()))
        .transpose()?;
    if let Some(addr) = server {
        let admin = Target::new(addr, args.admin_key.as_deref())?;
        setup
            .apply(&admin)
            .await
            .with_context(|| format!("setting up experiment `{}`", setup.key))?;
        if let Some(wasm) = args.plugin.as_ref().filter(|_| !plugin_per_scenario(args)) {
            let name = scenario::bind_plugin(&admin, wasm, touchpoint, &args.plugin_config)
                .await
                .with_context(|| format!("binding plugin {} to `{touchpoint}`", wasm.display()))?;
            eprintln!("plugin `{name}` bound to `{touchpoint}`");
        }
    }
    // Units assigned so far, in every assign stretch: the events scenario sends their events.
    let assigned = Arc::new(Sequence::default());
    let mut assign_ran = false;
    // Event batches sent so far, in every events scenario: ids stay unique across them.
    let events_sent = Arc::new(Sequence::default());
    let mut figures = Vec::new();
    for scenario in &args.scenarios {
        eprintln!(
            "{scenario:?}: warm-up {:?}, then {:?}",
            args.warmup, args.duration
        );
        let run = match (scenario, &client_target) {
            (Scenario::Bare, _) => {
                let workers = args
                    .bare_workers
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
                let child =
                    bare::spawn_child(workers).context("starting the bare endpoint's process")?;
                let target = Target::new(child.addr, None)?;
                let workload = Arc::new(scenario::Bare(bodies()?));
                let watched = [Watched {
                    name: "bare",
                    pid: child.pid(),
                }];
                let sequence = Arc::new(Sequence::default());
                measure(args, &target, workload, sequence, &watched, true).await?
            }
            (Scenario::Assign, Some(target)) => {
                let workload = Arc::new(scenario::Assign(bodies()?));
                assign_ran = true;
                measure(args, target, workload, Arc::clone(&assigned), serving, true).await?
            }
            (Scenario::AssignPlugin, Some(target)) => {
                let (Some(wasm), Some(addr)) = (&args.plugin, server) else {
                    bail!("assign-plugin needs --plugin FILE.wasm");
                };
                let admin = Target::new(addr, args.admin_key.as_deref())?;
                scenario::bind_plugin(&admin, wasm, touchpoint, &args.plugin_config)
                    .await
                    .with_context(|| {
                        format!("binding plugin {} to `{touchpoint}`", wasm.display())
                    })?;
                let workload = Arc::new(scenario::Assign(bodies()?));
                assign_ran = true;
                let run =
                    measure(args, target, workload, Arc::clone(&assigned), serving, true).await?;
                scenario::unbind_plugin(&admin, touchpoint)
                    .await
                    .with_context(|| format!("unbinding the plugin from `{touchpoint}`"))?;
                run
            }
            (Scenario::Events | Scenario::EventsRandom, Some(target)) => {
                if !assign_ran {
                    // Events count only for exposed units: expose some first, unmeasured, for
                    // at least a second (with none, every event would take the cheap path of
                    // a unit that is in no experiment).
                    let workload = Arc::new(scenario::Assign(bodies()?));
                    let exposing = Args {
                        warmup: args.warmup.max(Duration::from_secs(1)),
                        ..args.clone()
                    };
                    let sequence = Arc::clone(&assigned);
                    measure(&exposing, target, workload, sequence, serving, false).await?;
                    assign_ran = true;
                }
                if assigned.issued() == 0 {
                    bail!("no unit was assigned, so no event would count; raise --warmup");
                }
                let order = match scenario {
                    Scenario::EventsRandom => EventOrder::Random {
                        units: args.event_units,
                    },
                    _ => EventOrder::Walk,
                };
                let workload = Arc::new(scenario::Events::new(
                    &run_id,
                    args.batch,
                    assigned.issued(),
                    order,
                    setup,
                ));
                // Event ids go on from where another events scenario of this run stopped.
                let sequence = Arc::clone(&events_sent);
                measure(args, target, workload, sequence, serving, true).await?
            }
            (Scenario::Ofrep, Some(target)) => {
                let workload = Arc::new(scenario::Ofrep {
                    path: format!("/ofrep/v1/evaluate/flags/{}", setup.key),
                    bodies: scenario::OfrepBodies::new(&run_id, &args.attributes)?,
                });
                let sequence = Arc::new(Sequence::default());
                measure(args, target, workload, sequence, serving, true).await?
            }
            (Scenario::OfrepBulk, Some(target)) => {
                if let Some(addr) = server {
                    let admin = Target::new(addr, args.admin_key.as_deref())?;
                    scenario::define_bulk_extras(&admin, args.bulk_extra)
                        .await
                        .context("defining the bulk evaluation's experiments")?;
                }
                let bodies = scenario::OfrepBodies::new(&run_id, &args.attributes)?;
                let workload = Arc::new(scenario::OfrepBulk(bodies));
                let sequence = Arc::new(Sequence::default());
                measure(args, target, workload, sequence, serving, true).await?
            }
            (_, None) => bail!("{scenario:?} needs --server URL or --spawn"),
        };
        if *scenario == Scenario::Assign {
            eprintln!("units assigned so far: {}", assigned.issued());
        }
        if let Some((run, spent)) = run {
            figures.push(Figures::from_run(*scenario, run, spent));
        }
    }
    report::add_ratios(&mut figures);
    Ok(figures)
}

/// Whether `--plugin` is bound only during `assign-plugin` scenarios (else for the whole run).
fn plugin_per_scenario(args: &Args) -> bool {
    args.scenarios.contains(&Scenario::AssignPlugin)
}

/// Warm-up, then (when `measured`) the measured stretch on the same connections, with the CPU
/// time `watched` (and this client) spent over it.
async fn measure(
    args: &Args,
    target: &Target,
    workload: Arc<dyn Workload>,
    sequence: Arc<Sequence>,
    watched: &[Watched],
    measured: bool,
) -> anyhow::Result<Option<(client::Run, Vec<Spent>)>> {
    let connections: Vec<Connection> =
        client::connect_all(target, args.concurrency.max(1))
            .await
            .with_context(|| format!("opening {} connections", args.concurrency))?;
    let (connections, _warm) = client::drive(
        connections,
        Arc::clone(&workload),
        Arc::clone(&sequence),
        args.warmup,
        args.max_requests,
    )
    .await?;
    if !measured {
        return Ok(None);
    }
    if connections.is_empty() {
        bail!(
            "every connection to {} was lost in the warm-up",
            target.addr
        );
    }
    let mut watched = watched.to_vec();
    watched.push(Watched {
        name: "client",
        pid: std::process::id(),
    });
    let before = cpu::Sample::take(&watched);
    let (_connections, run) = client::drive(
        connections,
        workload,
        sequence,
        args.duration,
        args.max_requests,
    )
    .await?;
    let spent = cpu::Sample::take(&watched).since(&before);
    Ok(Some((run, spent)))
}

/// `http://host:port` (a trailing slash or path is ignored).
fn parse_server(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("--server takes an http:// URL, got {url}"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_give_their_socket_address() {
        let addr = parse_server("http://127.0.0.1:8080/").expect("valid");
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert!(parse_server("https://127.0.0.1:8080").is_err());
    }
}
