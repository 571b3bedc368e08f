//! The load itself: a fixed number of workers, each owning one keep-alive HTTP/1.1 connection
//! and sending its next request as soon as the last answer is read (a closed loop, so the
//! latencies are those of a server kept exactly `concurrency` requests busy).
//!
//! Built on hyper's bare connection API rather than a pooling client: there is no pool to
//! lock and no per-request routing, which keeps the client's share of a small shared machine
//! as low as it goes.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connecting to {addr}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP/1.1 handshake with {addr}")]
    Handshake {
        addr: SocketAddr,
        #[source]
        source: hyper::Error,
    },
    #[error("sending a request")]
    Send(#[source] hyper::Error),
    #[error("building a request")]
    Request(#[source] hyper::http::Error),
    #[error("a worker task failed")]
    Worker(#[source] tokio::task::JoinError),
}

/// Where requests go and with which key.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    authority: HeaderValue,
    authorization: Option<HeaderValue>,
}

impl Target {
    pub fn new(addr: SocketAddr, bearer: Option<&str>) -> Result<Target, ClientError> {
        let authority =
            HeaderValue::try_from(addr.to_string()).map_err(|e| ClientError::Request(e.into()))?;
        let authorization = bearer
            .map(|key| HeaderValue::try_from(format!("Bearer {key}")))
            .transpose()
            .map_err(|e| ClientError::Request(e.into()))?;
        Ok(Target {
            addr,
            authority,
            authorization,
        })
    }
}

/// One keep-alive connection; requests on it go one after another.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    target: Target,
}

impl Connection {
    pub async fn open(target: &Target) -> Result<Connection, ClientError> {
        let addr = target.addr;
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect { addr, source })?;
        // Requests are small and answered at once: Nagle would only add delay.
        stream
            .set_nodelay(true)
            .map_err(|source| ClientError::Connect { addr, source })?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| ClientError::Handshake { addr, source })?;
        // The connection task ends when the sender is dropped or the peer closes; its error
        // then surfaces on the next `send`, so it needs no handling of its own here.
        tokio::spawn(async move {
            let _closed = connection.await;
        });
        Ok(Connection {
            sender,
            target: target.clone(),
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: &'static str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        self.sender.ready().await.map_err(ClientError::Send)?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.target.authority.clone())
            .header(CONTENT_TYPE, content_type);
        if let Some(authorization) = &self.target.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let request = request
            .body(Full::new(body))
            .map_err(ClientError::Request)?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(ClientError::Send)?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(ClientError::Send)?
            .to_bytes();
        Ok((status, body))
    }
}

/// What a scenario sends and how it judges an answer.
pub trait Workload: Send + Sync + 'static {
    fn path(&self) -> &str;
    /// The body of request number `n` (unique within the run).
    fn body(&self, n: u64) -> Bytes;
    /// Whether the answer is a success, and how many items (events) it stood for.
    fn check(&self, status: StatusCode, body: &[u8]) -> Verdict;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok { items: u64 },
    Failed,
}

/// What one stretch of load produced.
#[derive(Debug, Default)]
pub struct Run {
    pub succeeded: u64,
    pub failed: u64,
    pub items: u64,
    pub elapsed: Duration,
    /// Latency of every answered request, in microseconds (failures included: they loaded
    /// the server too).
    pub latencies_us: Vec<u32>,
    /// The first failure seen, to say what went wrong.
    pub first_failure: Option<String>,
}

/// Request numbers handed out across a scenario's warm-up and measured stretch, so that every
/// request (and the unit and event ids derived from it) is unique within the run.
#[derive(Debug, Default)]
pub struct Sequence(AtomicU64);

impl Sequence {
    /// The next number below `limit`, or none when the limit is reached (so `issued` counts
    /// exactly the requests sent, and the events scenario no unit that was never assigned).
    fn take(&self, limit: u64) -> Option<u64> {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
    }

    /// How many numbers were handed out so far.
    pub fn issued(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Keeps `connections.len()` requests in flight until `duration` has passed or `max_requests`
/// were sent. The connections are handed back for the next stretch.
pub async fn drive(
    connections: Vec<Connection>,
    workload: Arc<dyn Workload>,
    sequence: Arc<Sequence>,
    duration: Duration,
    max_requests: u64,
) -> Result<(Vec<Connection>, Run), ClientError> {
    let started = Instant::now();
    let deadline = started + duration;
    let limit = sequence.issued().saturating_add(max_requests);
    let workers: Vec<_> = connections
        .into_iter()
        .map(|connection| {
            let workload = Arc::clone(&workload);
            let sequence = Arc::clone(&sequence);
            tokio::spawn(work(connection, workload, sequence, deadline, limit))
        })
        .collect();
    let mut connections = Vec::with_capacity(workers.len());
    let mut run = Run::default();
    for worker in workers {
        let (connection, part) = worker.await.map_err(ClientError::Worker)?;
        connections.extend(connection);
        run.succeeded += part.succeeded;
        run.failed += part.failed;
        run.items += part.items;
        run.latencies_us.extend_from_slice(&part.latencies_us);
        if run.first_failure.is_none() {
            run.first_failure = part.first_failure;
        }
    }
    run.elapsed = started.elapsed();
    Ok((connections, run))
}

async fn work(
    mut connection: Connection,
    workload: Arc<dyn Workload>,
    sequence: Arc<Sequence>,
    deadline: Instant,
    limit: u64,
) -> (Option<Connection>, Run) {
    let mut run = Run {
        latencies_us: Vec::with_capacity(4096),
        ..Run::default()
    };
    loop {
        if Instant::now() >= deadline {
            break;
        }
        let Some(n) = sequence.take(limit) else {
            break;
        };
        let body = workload.body(n);
        let sent = Instant::now();
        let answer = connection
            .send(Method::POST, workload.path(), "application/json", body)
            .await;
        let latency = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        match answer {
            Ok((status, body)) => {
                run.latencies_us.push(latency);
                match workload.check(status, &body) {
                    Verdict::Ok { items } => {
                        run.succeeded += 1;
                        run.items += items;
                    }
                    Verdict::Failed => {
                        run.failed += 1;
                        if run.first_failure.is_none() {
                            run.first_failure = Some(format!(
                                "{status}: {}",
                                String::from_utf8_lossy(&body[..body.len().min(300)])
                            ));
                        }
                    }
                }
            }
            Err(error) => {
                run.failed += 1;
                if run.first_failure.is_none() {
                    run.first_failure =
                        Some(format!("{error}: {:?}", std::error::Error::source(&error)));
                }
                // The connection is gone: open a new one, or stop this worker.
                match Connection::open(&connection.target).await {
                    Ok(fresh) => connection = fresh,
                    Err(_) => return (None, run),
                }
            }
        }
    }
    (Some(connection), run)
}

/// Opens `count` connections.
pub async fn connect_all(target: &Target, count: usize) -> Result<Vec<Connection>, ClientError> {
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        connections.push(Connection::open(target).await?);
    }
    Ok(connections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Assign, AssignBodies, Bare};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    }

    fn bodies() -> AssignBodies {
        AssignBodies::new("t", "loadgen.test", r#"{"device":"mobile"}"#).expect("valid")
    }

    #[test]
    fn the_bare_endpoint_answers_json_about_the_body_it_parsed() {
        let addr = crate::bare::start(1).expect("the bare endpoint");
        runtime().block_on(async {
            let target = Target::new(addr, None).expect("target");
            let mut connection = Connection::open(&target).await.expect("connects");
            let (status, body) = connection
                .send(
                    Method::POST,
                    crate::bare::PATH,
                    "application/json",
                    Bare(bodies()).body(3),
                )
                .await
                .expect("answered");
            assert_eq!(status, StatusCode::OK);
            let answer: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(answer["unit_id"], "t-3");
            assert_eq!(answer["attributes"], 1);
        });
    }

    #[test]
    fn a_run_bounded_by_count_sends_exactly_that_many_requests_over_kept_connections() {
        let addr = crate::bare::start(1).expect("the bare endpoint");
        runtime().block_on(async {
            let target = Target::new(addr, None).expect("target");
            let connections = connect_all(&target, 4).await.expect("connects");
            let sequence = Arc::new(Sequence::default());
            // The duration is only a cap: the count ends this run.
            let (connections, run) = drive(
                connections,
                Arc::new(Bare(bodies())),
                Arc::clone(&sequence),
                Duration::from_secs(120),
                200,
            )
            .await
            .expect("drives");
            assert_eq!(run.succeeded, 200);
            assert_eq!(run.failed, 0);
            assert_eq!(run.latencies_us.len(), 200);
            assert_eq!(connections.len(), 4);
            assert_eq!(sequence.issued(), 200);
            // A second stretch continues the numbering instead of reusing ids.
            let (_connections, again) = drive(
                connections,
                Arc::new(Bare(bodies())),
                Arc::clone(&sequence),
                Duration::from_secs(120),
                50,
            )
            .await
            .expect("drives");
            assert_eq!(again.succeeded, 50);
            assert_eq!(sequence.issued(), 250);
        });
    }

    #[test]
    fn refused_answers_count_as_failures_and_the_first_is_kept() {
        let addr = crate::bare::start(1).expect("the bare endpoint");
        runtime().block_on(async {
            let target = Target::new(addr, None).expect("target");
            let connections = connect_all(&target, 2).await.expect("connects");
            // The bare endpoint has no /v1/assign: every answer is a 404.
            let (_connections, run) = drive(
                connections,
                Arc::new(Assign(bodies())),
                Arc::new(Sequence::default()),
                Duration::from_secs(120),
                20,
            )
            .await
            .expect("drives");
            assert_eq!(run.succeeded, 0);
            assert_eq!(run.failed, 20);
            let failure = run.first_failure.expect("a failure is kept");
            assert!(failure.starts_with("404"), "{failure}");
        });
    }
}
