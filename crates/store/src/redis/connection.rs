//! The connections a `RedisStore` shares between requests: a reconnecting, multiplexed
//! `ConnectionManager` per thread for a single Redis, or a cluster connection (which follows slot moves
//! and reconnects nodes itself). Both are made lazily, so a server starts while Redis is down
//! and answers `Unavailable` until it comes back.

use crate::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::OnceCell;

/// How long one connection attempt may take: a dead Redis must turn into a 503 quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one command may wait for its answer (a batch script stays far below this).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// A cloneable handle on the shared connection.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(Arc<PerThread>),
    Cluster(Arc<LazyCluster>),
}

/// One multiplexed connection per thread that uses the store. A connection's driver task runs
/// on the runtime that first used it; sharing one between actix's per-core worker threads made
/// every command cross threads twice (measured: ~20 % of the server's CPU in context switches
/// and wake-ups during an assign load). Per thread, the request, the write and the reply stay
/// on one worker; Redis still sees few connections (one per worker and the main thread).
pub(crate) struct PerThread {
    id: u64,
    client: redis::Client,
    config: ConnectionManagerConfig,
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THREAD_CONNECTIONS: RefCell<HashMap<u64, ConnectionManager>> =
        RefCell::new(HashMap::new());
}

impl PerThread {
    fn manager(&self) -> Result<ConnectionManager, StoreError> {
        THREAD_CONNECTIONS.with(|connections| {
            let mut connections = connections.borrow_mut();
            if let Some(manager) = connections.get(&self.id) {
                return Ok(manager.clone());
            }
            let manager =
                ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                    .map_err(store_error)?;
            connections.insert(self.id, manager.clone());
            Ok(manager)
        })
    }
}

impl Drop for PerThread {
    fn drop(&mut self) {
        // Only this thread's entry can be reached; other threads' go with their threads.
        let _ =
            THREAD_CONNECTIONS.try_with(|connections| connections.borrow_mut().remove(&self.id));
    }
}

pub(crate) struct LazyCluster {
    client: ClusterClient,
    connection: OnceCell<ClusterConnection>,
}

/// What `Connection::handle` hands out for one request.
#[derive(Clone)]
pub(crate) enum Handle {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    /// `redis://host:port/db` or `redis-cluster://h1:p1,h2:p2`. Fails only on a malformed URL.
    pub fn open(url: &str) -> Result<Connection, StoreError> {
        if let Some(nodes) = url.strip_prefix("redis-cluster://") {
            let nodes: Vec<String> = nodes
                .split(',')
                .map(str::trim)
                .filter(|node| !node.is_empty())
                .map(|node| format!("redis://{node}"))
                .collect();
            if nodes.is_empty() {
                return Err(StoreError::Config(format!(
                    "`{url}` names no cluster node; expected redis-cluster://host1:port1,host2:port2"
                )));
            }
            let client = ClusterClient::builder(nodes)
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(RESPONSE_TIMEOUT)
                .retries(2)
                .min_retry_wait(50)
                .max_retry_wait(500)
                .build()
                .map_err(|error| config_error(url, error))?;
            return Ok(Connection::Cluster(Arc::new(LazyCluster {
                client,
                connection: OnceCell::new(),
            })));
        }
        let client = redis::Client::open(url).map_err(|error| config_error(url, error))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        // Fail on a bad URL now, not on the first request.
        ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
            .map_err(|error| config_error(url, error))?;
        Ok(Connection::Single(Arc::new(PerThread {
            id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
            client,
            config,
        })))
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, Connection::Cluster(_))
    }

    /// A handle for one request (cheap clones of the shared multiplexed connection).
    pub async fn handle(&self) -> Result<Handle, StoreError> {
        match self {
            Connection::Single(per_thread) => Ok(Handle::Single(per_thread.manager()?)),
            Connection::Cluster(lazy) => {
                let connection = lazy
                    .connection
                    .get_or_try_init(|| lazy.client.get_async_connection())
                    .await
                    .map_err(store_error)?;
                Ok(Handle::Cluster(connection.clone()))
            }
        }
    }
}

fn config_error(url: &str, error: RedisError) -> StoreError {
    StoreError::Config(format!("invalid Redis URL `{url}`: {error}"))
}

/// Maps a Redis failure: replies that do not parse mean corrupt data; everything else (refused,
/// timed out, dropped, cluster down, script error) is the backend being unavailable.
pub(crate) fn store_error(error: RedisError) -> StoreError {
    match error.kind() {
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => StoreError::Corrupt {
            what: "a Redis reply".into(),
            source: Some(Box::new(error)),
        },
        _ => StoreError::Unavailable(Box::new(error)),
    }
}

impl ConnectionLike for Handle {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Handle::Single(connection) => connection.req_packed_command(cmd),
            Handle::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Handle::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Handle::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Handle::Single(connection) => connection.get_db(),
            Handle::Cluster(connection) => connection.get_db(),
        }
    }
}
