//! The baseline: a bare actix-web endpoint that parses the same small JSON body an assign
//! request carries and answers a small JSON document. What the server does on top of that
//! (middleware, catalog, hashing, the store) is what the ratios measure.
//!
//! For a run it serves from a child process (this binary re-executed with `--serve-bare`), so
//! its CPU time is read from `/proc` exactly as the server's is; `start` keeps it in-process
//! for the client's own tests.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

pub const PATH: &str = "/echo";

#[derive(Debug, Deserialize)]
struct Probe {
    unit_id: String,
    touchpoint: String,
    #[serde(default)]
    attributes: Map<String, Value>,
}

#[derive(Debug, Serialize)]
struct Answer {
    unit_id: String,
    touchpoint: String,
    attributes: usize,
    variant: &'static str,
}

async fn echo(probe: web::Json<Probe>) -> HttpResponse {
    let probe = probe.into_inner();
    HttpResponse::Ok().json(Answer {
        attributes: probe.attributes.len(),
        unit_id: probe.unit_id,
        touchpoint: probe.touchpoint,
        variant: "control",
    })
}

/// Starts the endpoint with `workers` threads on a free loopback port, on a thread of its own
/// (actix runs its own system); it lives until the process exits.
pub fn start(workers: usize) -> std::io::Result<SocketAddr> {
    let (ready, address) = mpsc::channel();
    std::thread::Builder::new()
        .name("bare-endpoint".into())
        .spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let bound = TcpListener::bind("127.0.0.1:0").and_then(|listener| {
                    let addr = listener.local_addr()?;
                    let server = HttpServer::new(|| App::new().route(PATH, web::post().to(echo)))
                        .workers(workers)
                        .listen(listener)?
                        .run();
                    Ok((addr, server))
                });
                match bound {
                    Ok((addr, server)) => {
                        // The receiver waits for this; if it is gone there is no one to serve.
                        if ready.send(Ok(addr)).is_ok() {
                            let _stopped = server.await;
                        }
                    }
                    Err(error) => {
                        let _unheard = ready.send(Err(error));
                    }
                }
            });
        })?;
    address
        .recv()
        .map_err(|_| std::io::Error::other("the bare endpoint's thread ended before binding"))?
}

/// The endpoint in a child process; killed on drop.
pub struct BareChild {
    child: Child,
    pub addr: SocketAddr,
}

impl BareChild {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for BareChild {
    fn drop(&mut self) {
        // Best effort at exit; the child also exits when its stdin (this process) goes away.
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

/// Re-executes this binary with `--serve-bare` and reads the address it bound from its first
/// line of output.
pub fn spawn_child(workers: usize) -> std::io::Result<BareChild> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg("--serve-bare")
        .arg("--bare-workers")
        .arg(workers.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|stdout| BufReader::new(stdout).read_line(&mut line));
    let addr = match read {
        Some(Ok(_)) => line.trim().parse::<SocketAddr>().ok(),
        _ => None,
    };
    match addr {
        Some(addr) => Ok(BareChild { child, addr }),
        None => {
            let _killed = child.kill();
            let _reaped = child.wait();
            Err(std::io::Error::other(format!(
                "the bare endpoint's process printed no address (got {line:?})"
            )))
        }
    }
}

/// The child's side of [`spawn_child`]: serves, prints the bound address, and exits when its
/// stdin closes (the parent ended, however it ended).
pub fn serve_child(workers: usize) -> std::io::Result<()> {
    let addr = start(workers)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{addr}")?;
    stdout.flush()?;
    drop(stdout);
    let mut sink = Vec::new();
    // Returns at end of file (or on an error): either way the parent is gone or done.
    let _ended = std::io::stdin().lock().read_to_end(&mut sink);
    Ok(())
}
