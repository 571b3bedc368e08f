//! The baseline: a bare actix-web endpoint, started in this process, that parses the same
//! small JSON body an assign request carries and answers a small JSON document. What the
//! server does on top of that (middleware, catalog, hashing, the store) is what the ratios
//! measure.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::net::{SocketAddr, TcpListener};
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
