//! Locating and starting the built `touchstone` binary, as a user would run it: a real
//! process on a free loopback port, driven over HTTP, killed when the handle drops.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound, then released for the caller to take).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding an ephemeral loopback port");
    listener
        .local_addr()
        .expect("local address of a bound socket")
        .port()
}

/// The `touchstone` binary of this build: `$TOUCHSTONE_BIN`, else next to the test executable
/// (`target/<profile>/touchstone`). Panics with the command to build it when it is missing, or
/// when it is older than the sources it is built from: a stale binary must not pass the
/// end-to-end tests (cargo builds no binary of a dependency for a test).
pub fn touchstone_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TOUCHSTONE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("path of the running test executable");
    // target/<profile>/deps/<test-binary> → target/<profile>/touchstone
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let binary = profile_dir.join("touchstone");
    let build = "run `cargo build -p touchstone-server --bin touchstone` first (scripts/test.sh does), \
                 or set TOUCHSTONE_BIN";
    let built = std::fs::metadata(&binary)
        .and_then(|metadata| metadata.modified())
        .unwrap_or_else(|_| {
            panic!(
                "the touchstone binary is missing at {}: {build}",
                binary.display()
            )
        });
    if let Some((source, changed)) = newest_source()
        && changed > built
    {
        panic!(
            "the touchstone binary at {} is older than {}: {build}",
            binary.display(),
            source.display()
        );
    }
    binary
}

/// The most recently changed source file the binary is built from (the server and the crates
/// below it, and the embedded default configuration), with its time.
fn newest_source() -> Option<(PathBuf, std::time::SystemTime)> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let roots = [
        "crates/server/src",
        "crates/model/src",
        "crates/stats/src",
        "crates/store/src",
        "crates/plugin-host/src",
        "crates/plugin-sdk/src",
        "config",
    ];
    let mut newest: Option<(PathBuf, std::time::SystemTime)> = None;
    let mut pending: Vec<PathBuf> = roots.iter().map(|root| workspace.join(root)).collect();
    while let Some(path) = pending.pop() {
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            // Hidden entries are the server's own caches (`config/plugins/.compiled`, written
            // by any `touchstone serve` run from the checkout), not sources it is built from.
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(
                    entries
                        .flatten()
                        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
                        .map(|entry| entry.path()),
                );
            }
        } else if let Ok(modified) = metadata.modified()
            && newest.as_ref().is_none_or(|(_, time)| modified > *time)
        {
            newest = Some((path, modified));
        }
    }
    newest
}

/// A running `touchstone serve` process.
pub struct TouchstoneServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
    _dir: TempDir,
}

impl TouchstoneServer {
    /// Starts `touchstone serve` on a free port with the given extra environment
    /// (`TOUCHSTONE__…` settings) and waits until `/healthz` answers. A free port is only free
    /// until someone takes it: when another process took it between [`free_port`] and the
    /// server's bind, the start is retried on a new port.
    pub fn start(env: &[(&str, &str)]) -> TouchstoneServer {
        const ATTEMPTS: usize = 5;
        for _ in 1..ATTEMPTS {
            match TouchstoneServer::try_start(env) {
                Ok(server) => return server,
                Err(logs) if logs.contains("binding server.bind") => continue,
                Err(logs) => panic!("touchstone exited during start:\n{logs}"),
            }
        }
        TouchstoneServer::try_start(env)
            .unwrap_or_else(|logs| panic!("touchstone exited during start:\n{logs}"))
    }

    /// One start on a fresh free port: the server, or its logs when it exited during start.
    fn try_start(env: &[(&str, &str)]) -> Result<TouchstoneServer, String> {
        let dir = TempDir::new("touchstone-server");
        let port = free_port();
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).expect("creating the server log file");
        let mut command = Command::new(touchstone_binary());
        command
            .arg("serve")
            .current_dir(dir.path())
            .env("TOUCHSTONE__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("TOUCHSTONE__SERVER__WORKERS", "2")
            .env("TOUCHSTONE__LOG__FORMAT", "json")
            .env("TOUCHSTONE__LOG__LEVEL", "info")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawning the touchstone binary");
        let mut server = TouchstoneServer {
            child,
            port,
            log_path,
            _dir: dir,
        };
        server.wait_until_healthy(Duration::from_secs(30))?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Waits for `/healthz`; the logs (with the exit status) when the process exited first.
    fn wait_until_healthy(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("({status})\n{}", self.logs()));
            }
            if http_get_status(self.port, "/healthz") == Some(200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "touchstone did not answer /healthz within {within:?}:\n{}",
            self.logs()
        );
    }
}

impl Drop for TouchstoneServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status code of a plain HTTP/1.1 GET on loopback, or `None` if nothing answered.
fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// A temporary directory removed on drop (kept small: std only).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{unique}", std::process::id()));
        std::fs::create_dir_all(&path).expect("creating a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
