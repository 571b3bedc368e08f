//! `--spawn`: the release `touchstone` binary on a free loopback port, logging to a file, killed
//! when the run ends.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(
        "no server binary at {0}; build it with `cargo build --release -p touchstone-server` or pass --server-bin"
    )]
    NoBinary(PathBuf),
    #[error("finding a free port")]
    Port(#[source] std::io::Error),
    #[error("creating {path}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting {path}")]
    Start {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the server exited before it was ready ({status}); its log: {log}")]
    Exited {
        status: std::process::ExitStatus,
        log: PathBuf,
    },
    #[error("the server was not ready within {0:?}; its log: {1}")]
    NotReady(Duration, PathBuf),
}

/// A running server process; killed on drop.
pub struct Spawned {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // Best effort at exit: a server left behind would be noticed by the next run's port.
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

/// `touchstone` beside this binary: `cargo build --release` puts both in one directory.
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("touchstone")))
        .unwrap_or_else(|| PathBuf::from("target/release/touchstone"))
}

pub fn spawn(binary: &Path, store_url: &str, log_level: &str) -> Result<Spawned, SpawnError> {
    if !binary.is_file() {
        return Err(SpawnError::NoBinary(binary.to_owned()));
    }
    // Taking a port from the kernel and releasing it leaves a short race with other programs;
    // a loopback port on a test machine is rarely taken in that window.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(SpawnError::Port)?
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log = std::env::temp_dir().join(format!("touchstone-loadgen-{}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).map_err(|source| SpawnError::Log {
        path: log.clone(),
        source,
    })?;
    let log_err = log_file.try_clone().map_err(|source| SpawnError::Log {
        path: log.clone(),
        source,
    })?;
    // Plugin uploads and bindings of this run stay in a directory of its own, not the
    // working directory's config/.
    let scratch = std::env::temp_dir().join(format!("touchstone-loadgen-{}", std::process::id()));
    for dir in ["plugins", "touchpoints"] {
        std::fs::create_dir_all(scratch.join(dir)).map_err(|source| SpawnError::Log {
            path: scratch.join(dir),
            source,
        })?;
    }
    let child = Command::new(binary)
        .arg("serve")
        .env("TOUCHSTONE__SERVER__BIND", addr.to_string())
        .env("TOUCHSTONE__STORE__URL", store_url)
        .env("TOUCHSTONE__LOG__LEVEL", log_level)
        // Only the experiment this tool defines: the example definitions would add running
        // experiments that every event is checked against.
        .env("TOUCHSTONE__EXPERIMENTS__DIR", scratch.join("experiments"))
        .env("TOUCHSTONE__PLUGINS__DIR", scratch.join("plugins"))
        .env(
            "TOUCHSTONE__PLUGINS__BINDINGS_DIR",
            scratch.join("touchpoints"),
        )
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .spawn()
        .map_err(|source| SpawnError::Start {
            path: binary.to_owned(),
            source,
        })?;
    let mut spawned = Spawned { child, addr, log };
    wait_until_listening(&mut spawned, Duration::from_secs(20))?;
    Ok(spawned)
}

fn wait_until_listening(spawned: &mut Spawned, patience: Duration) -> Result<(), SpawnError> {
    let started = Instant::now();
    while started.elapsed() < patience {
        if let Ok(Some(status)) = spawned.child.try_wait() {
            return Err(SpawnError::Exited {
                status,
                log: spawned.log.clone(),
            });
        }
        if TcpStream::connect(spawned.addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(SpawnError::NotReady(patience, spawned.log.clone()))
}
