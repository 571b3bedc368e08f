//! Loading a plugins directory and hot-reloading it: every `NAME.wasm` is the plugin `NAME`.
//! A thread polls modification times and sizes (no inotify dependency; a second is plenty for
//! a deploy). A file that fails to load leaves the previous version in place — a half-copied
//! file is retried when it changes again; a removed file unloads its plugin.

use crate::error::error_chain;
use crate::host::PluginHost;
use crate::limits::Limits;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// What happened to one file during a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOutcome {
    pub name: String,
    pub path: PathBuf,
    /// The loaded version, or why the file was refused.
    pub result: Result<String, String>,
}

/// Watches a plugins directory until dropped.
pub struct DirWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

type Seen = HashMap<String, (Option<SystemTime>, u64)>;

impl DirWatcher {
    /// Loads every `*.wasm` in `dir` now (the outcomes are returned, so the server can report
    /// them at start), then reloads changed files every `interval` on a background thread.
    /// `limits` gives per-plugin limits by name; others get the host's defaults.
    pub fn start(
        host: PluginHost,
        dir: impl Into<PathBuf>,
        interval: Duration,
        limits: HashMap<String, Limits>,
    ) -> std::io::Result<(DirWatcher, Vec<LoadOutcome>)> {
        let dir = dir.into();
        let mut seen = Seen::new();
        let outcomes = scan(&host, &dir, &limits, &mut seen)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("plugin-watch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    if let Err(error) = scan(&host, &dir, &limits, &mut seen) {
                        tracing::warn!(dir = %dir.display(), %error, "cannot read the plugins directory");
                    }
                }
            })?;
        Ok((
            DirWatcher {
                stop,
                thread: Some(thread),
            },
            outcomes,
        ))
    }
}

impl Drop for DirWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One pass: (re)load new or changed files, unload plugins whose file is gone.
fn scan(
    host: &PluginHost,
    dir: &Path,
    limits: &HashMap<String, Limits>,
    seen: &mut Seen,
) -> std::io::Result<Vec<LoadOutcome>> {
    let mut outcomes = Vec::new();
    let mut present = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    entries.sort();
    for path in entries {
        let Some(name) = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .map(str::to_owned)
        else {
            continue;
        };
        present.push(name.clone());
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        let stamp = (metadata.modified().ok(), metadata.len());
        if seen.get(&name) == Some(&stamp) {
            continue;
        }
        seen.insert(name.clone(), stamp);
        let result = std::fs::read(&path)
            .map_err(|error| error.to_string())
            .and_then(|bytes| {
                let limits = limits.get(&name).copied().unwrap_or(host.default_limits());
                host.load_with_limits(&name, &bytes, limits)
                    .map(|plugin| plugin.version().to_owned())
                    .map_err(|error| error_chain(&error))
            });
        if let Err(reason) = &result {
            tracing::warn!(plugin = %name, path = %path.display(), %reason, "plugin refused; the previous version stays");
        }
        outcomes.push(LoadOutcome { name, path, result });
    }
    seen.retain(|name, _| {
        let keep = present.contains(name);
        if !keep && host.remove(name) {
            tracing::info!(plugin = %name, "plugin file removed; plugin unloaded");
        }
        keep
    });
    Ok(outcomes)
}
