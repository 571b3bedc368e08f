//! A real `redis-server` (and a 3-master Redis Cluster) on free ports, torn down on drop.
//!
//! Each server runs in its own temporary directory. A small `sh` watchdog kills the server and
//! removes its directory when the test process dies without dropping it (statics from
//! `shared()` are never dropped; a panic may abort), so no test leaves a Redis behind.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a server is started.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// `appendonly yes`: every write goes to the append-only file.
    pub appendonly: bool,
    /// `appendfsync always` (with `appendonly`): fsync before acknowledging each write, so an
    /// acknowledged write survives SIGKILL.
    pub fsync_always: bool,
    /// Extra `--name value` arguments.
    pub extra_args: Vec<String>,
}

/// A running `redis-server` owned by a test.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
    child: Mutex<Option<Child>>,
}

static SHARED: OnceLock<RedisServer> = OnceLock::new();
static SHARED_CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Finds `binary` on PATH or fails with how to install it.
fn require(binary: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(binary))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{binary}` was not found on PATH; the Redis tests need a real Redis. Install it \
             with `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)."
        )
    })
}

fn unique_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "touchstone-redis-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
    dir
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A free port; with `bus`, `port + 10000` (the cluster bus) is free as well.
fn free_port(bus: bool) -> u16 {
    if !bus {
        return TcpListener::bind(("127.0.0.1", 0))
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap_or_else(|error| panic!("no free port: {error}"));
    }
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut candidate =
        20_000 + (seed.wrapping_add(COUNTER.fetch_add(7, Ordering::Relaxed)) % 20_000);
    for _ in 0..20_000 {
        let port = candidate as u16;
        if port_is_free(port) && port_is_free(port + 10_000) {
            return port;
        }
        candidate = 20_000 + (candidate - 20_000 + 1) % 20_000;
    }
    panic!("no free port pair for a cluster node in 20000..40000")
}

/// Sends PING over RESP; true on `+PONG` (a server still loading its AOF answers `-LOADING`).
fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 64];
    matches!(stream.read(&mut reply), Ok(n) if reply[..n].starts_with(b"+PONG"))
}

impl RedisServer {
    /// Starts a server without persistence.
    pub fn start() -> RedisServer {
        RedisServer::start_with(RedisOptions::default())
    }

    /// Starts a server with these options on a free port.
    pub fn start_with(options: RedisOptions) -> RedisServer {
        RedisServer::start_on(options, false)
    }

    fn start_on(options: RedisOptions, cluster_bus: bool) -> RedisServer {
        require("redis-server");
        let mut last_error = String::new();
        // A port found free may be taken before redis binds it: retry on another.
        for _ in 0..5 {
            let port = free_port(cluster_bus);
            let dir = unique_dir();
            let mut args = vec![
                "--port".to_owned(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                String::new(),
                "--appendonly".into(),
                if options.appendonly { "yes" } else { "no" }.into(),
                "--logfile".into(),
                "redis.log".into(),
            ];
            if options.fsync_always {
                args.extend(["--appendfsync".into(), "always".into()]);
            }
            args.extend(options.extra_args.iter().cloned());
            let server = RedisServer {
                port,
                dir,
                args,
                child: Mutex::new(None),
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(error) => last_error = error,
            }
        }
        panic!("redis-server did not start: {last_error}")
    }

    /// One server per test binary, started on first use.
    pub fn shared() -> &'static RedisServer {
        SHARED.get_or_init(RedisServer::start)
    }

    fn spawn(&self) -> Result<(), String> {
        let child = Command::new(require("redis-server"))
            .args(&self.args)
            .arg("--dir")
            .arg(&self.dir)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run redis-server: {error}"))?;
        let pid = child.id();
        *self.child.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
        self.spawn_watchdog(pid);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if answers_ping(self.port) {
                return Ok(());
            }
            let exited = self
                .child
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(format!(
                    "redis-server on port {} exited ({status}); log:\n{}",
                    self.port,
                    std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "redis-server on port {} did not answer PING",
            self.port
        ))
    }

    fn spawn_watchdog(&self, redis_pid: u32) {
        let script = format!(
            "while kill -0 {test} 2>/dev/null && kill -0 {redis} 2>/dev/null; do sleep 1; done; \
             if ! kill -0 {test} 2>/dev/null; then kill -9 {redis} 2>/dev/null; rm -rf '{dir}'; fi",
            test = std::process::id(),
            redis = redis_pid,
            dir = self.dir.display(),
        );
        // Best effort: without a watchdog the server still dies on Drop.
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// `redis://127.0.0.1:PORT/0`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (kept across `restart`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the server with SIGKILL (no shutdown save) and waits for it to die.
    pub fn kill(&self) {
        if let Some(mut child) = self
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server if running and starts it again on the same port and data directory.
    pub fn restart(&self) {
        self.kill();
        if let Err(error) = self.spawn() {
            panic!("redis-server did not restart: {error}");
        }
    }

    /// Runs `redis-cli -p PORT ARGS...` and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        run_cli(self.port, args)
    }
}

fn run_cli(port: u16, args: &[&str]) -> String {
    let output = Command::new(require("redis-cli"))
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run redis-cli: {error}"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of 3 masters (no replicas) on free ports.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts 3 cluster-enabled servers, joins them with `redis-cli --cluster create` and waits
    /// until every node reports `cluster_state:ok`.
    pub fn start() -> RedisCluster {
        require("redis-cli");
        let options = RedisOptions {
            extra_args: [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ]
            .into_iter()
            .chain(["--cluster-node-timeout", "5000"])
            .map(String::from)
            .collect(),
            ..RedisOptions::default()
        };
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| RedisServer::start_on(options.clone(), true))
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let output = Command::new(require("redis-cli"))
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|error| panic!("cannot run redis-cli --cluster create: {error}"));
        if !output.status.success() {
            panic!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = nodes.iter().all(|node| {
                let info = node.cli(&["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            });
            if ready {
                return RedisCluster { nodes };
            }
            if Instant::now() > deadline {
                panic!("the Redis Cluster on {addresses:?} did not reach cluster_state:ok");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One cluster per test binary, started on first use.
    pub fn shared() -> &'static RedisCluster {
        SHARED_CLUSTER.get_or_init(RedisCluster::start)
    }

    /// `redis-cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        format!("redis-cluster://{}", nodes.join(","))
    }

    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }
}
