//! First exposures go to Redis in batches: the exposures that one thread's concurrent requests
//! make are sent as one `record_exposure.lua` call per experiment phase. Each call costs Redis a fixed part (the command, the script's set-up, the
//! reply) besides the work per unit, and the server a command to encode, send and parse; a
//! batch pays them once (decision 016, "Exposures in batches"). Nothing waits to fill a batch:
//! an exposure that finds no flush under way starts one, which runs once the thread's other
//! ready requests have had their turn, so a lone request goes out at once; while a batch is at
//! Redis, the next one gathers, and goes out when the answer is in. Under load a batch is what
//! arrived during one round trip, and each costs one write and one read on either side.
//!
//! Queues are per thread for the reason connections are (connection.rs): the request, the
//! write and the reply stay on one worker. Each exposure still gets its own answer; the unit
//! is written or not as before (first exposure wins, the later of two in one batch finds the
//! earlier), and a failed call fails every exposure of its batch.

use super::RedisStore;
use super::connection::store_error;
use super::keys::{self, ExperimentKeys};
use super::script_call::{self, Args};
use crate::{Exposure, ExposureRecord, StoreError};
use redis::{Cmd, Script};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use tokio::sync::oneshot;
use touchstone_model::{Experiment, Timestamp};

static RECORD_EXPOSURE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/record_exposure.lua")));

/// At most this many exposures in one script call (a longer queue is sent in several), so one
/// call stays short for the other clients Redis serves between calls.
const MAX_BATCH: usize = 128;

/// The queues of one store, one per thread that records exposures through it.
pub(crate) struct ExposureQueues {
    id: u64,
}

static NEXT_QUEUES_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THREAD_QUEUES: RefCell<HashMap<u64, Arc<Queue>>> = RefCell::new(HashMap::new());
}

impl ExposureQueues {
    pub fn new() -> ExposureQueues {
        ExposureQueues {
            id: NEXT_QUEUES_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn this_thread(&self) -> Arc<Queue> {
        THREAD_QUEUES.with(|queues| {
            Arc::clone(
                queues
                    .borrow_mut()
                    .entry(self.id)
                    .or_insert_with(|| Arc::new(Queue::default())),
            )
        })
    }
}

impl Drop for ExposureQueues {
    fn drop(&mut self) {
        // Only this thread's entry can be reached; other threads' go with their threads.
        let _ = THREAD_QUEUES.try_with(|queues| queues.borrow_mut().remove(&self.id));
    }
}

/// Exposures waiting for the flush, and whether one is scheduled.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    waiting: Vec<Pending>,
    flush_scheduled: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding the lock cannot leave the queue half-changed (push and take
        // are single moves), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

type Answer = Result<ExposureRecord, StoreError>;

/// One exposure's script arguments, and where its answer goes.
struct Pending {
    /// The phase's keys and the segment cap: exposures sharing both share a call.
    keys: ExperimentKeys,
    max_values: u32,
    unit_key: String,
    /// The exposure's ARGV part.
    args: Args,
    answer: oneshot::Sender<Answer>,
}

/// Records one first exposure through this thread's queue.
pub(crate) async fn record(
    store: &RedisStore,
    experiment: &Experiment,
    exposure: &Exposure,
) -> Answer {
    let keys = ExperimentKeys::of(experiment);
    let (answer, answered) = oneshot::channel();
    let pending = Pending {
        unit_key: keys.unit(&exposure.unit_id),
        keys,
        max_values: experiment.spec().max_segment_values,
        args: exposure_args(experiment, exposure),
        answer,
    };
    let queue = store.exposure_queues.this_thread();
    let schedule = {
        let mut state = queue.lock();
        state.waiting.push(pending);
        !std::mem::replace(&mut state.flush_scheduled, true)
    };
    if schedule {
        tokio::spawn(flush(store.clone(), Flushing { queue, done: false }));
    }
    answered.await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(
            "the exposure's batch was dropped before Redis answered (the server is stopping)"
                .into(),
        ))
    })
}

/// The per-exposure arguments of `record_exposure.lua`, in its order.
fn exposure_args(experiment: &Experiment, exposure: &Exposure) -> Args {
    let covariates = crate::counting::exposure_covariates(experiment, exposure);
    let mut args = Args::with_capacity(6 + 3 * (covariates.len() + exposure.segments.len()));
    let at = exposure.at.as_millis();
    args.push_display(exposure.variant)
        .push_display(at)
        .push_display(touchstone_model::exposure_hour(at))
        .push(exposure.plugin_version.as_deref().unwrap_or(""))
        .push_display(covariates.len())
        .push_display(exposure.segments.len());
    for (attribute, x) in &covariates {
        args.push(attribute)
            .push(keys::attribute_in_key(attribute).as_ref());
        match x {
            // Rust's shortest round-trip form: Lua's tonumber reads back the same double.
            Some(x) => args.push_display(x),
            None => args.push(""),
        };
    }
    for (attribute, value) in &exposure.segments {
        args.push(attribute)
            .push(keys::attribute_in_key(attribute).as_ref())
            .push(value);
    }
    args
}

/// Sends everything queued on this thread, one call per experiment phase (and per
/// `MAX_BATCH` exposures), all at once; then, until the queue is found empty, what queued
/// meanwhile.
async fn flush(store: RedisStore, mut flushing: Flushing) {
    loop {
        let waiting = {
            let mut state = flushing.queue.lock();
            if state.waiting.is_empty() {
                state.flush_scheduled = false;
                flushing.done = true;
                return;
            }
            std::mem::take(&mut state.waiting)
        };
        let calls = batches(waiting)
            .into_iter()
            .map(|batch| send(&store, batch));
        futures::future::join_all(calls).await;
    }
}

/// The queue a flush works on. A flush the runtime drops before it is done (a runtime shutting
/// down) lets the next exposure start another, and drops the waiting exposures' answers: they
/// report the store unavailable instead of waiting for ever.
struct Flushing {
    queue: Arc<Queue>,
    done: bool,
}

impl Drop for Flushing {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.queue.lock();
            state.flush_scheduled = false;
            state.waiting.clear();
        }
    }
}

/// Groups exposures by phase and segment cap, in arrival order within each group.
fn batches(waiting: Vec<Pending>) -> Vec<Vec<Pending>> {
    let mut batches: Vec<Vec<Pending>> = Vec::new();
    for pending in waiting {
        let open = batches.iter_mut().find(|batch| {
            batch.len() < MAX_BATCH
                && batch[0].keys == pending.keys
                && batch[0].max_values == pending.max_values
        });
        match open {
            Some(batch) => batch.push(pending),
            None => batches.push(vec![pending]),
        }
    }
    batches
}

/// One script call for a batch of one phase; every exposure gets its answer.
async fn send(store: &RedisStore, batch: Vec<Pending>) {
    let answers = call(store, &eval_command(&batch), batch.len()).await;
    match answers {
        Ok(records) => {
            for (pending, (variant, at, new)) in batch.into_iter().zip(records) {
                // A request that gave up no longer listens; its exposure stands.
                let _ = pending.answer.send(Ok(ExposureRecord {
                    variant,
                    exposed_at: Timestamp::from_millis(at),
                    new: new == 1,
                }));
            }
        }
        Err(error) => {
            for pending in batch {
                let _ = pending.answer.send(Err(error.to_store_error()));
            }
        }
    }
}

/// `EVALSHA` of `record_exposure.lua` for a batch of one phase, packed straight into one
/// command (a `ScriptInvocation` would copy every argument into a buffer of its own first).
fn eval_command(batch: &[Pending]) -> Cmd {
    let first = &batch[0];
    let mut command = redis::cmd("EVALSHA");
    command
        .arg(RECORD_EXPOSURE.get_hash())
        .arg(batch.len() + 1)
        .arg(first.keys.counters());
    for pending in batch {
        command.arg(&pending.unit_key);
    }
    command.arg(first.keys.prefix()).arg(first.max_values);
    for pending in batch {
        command.arg(&pending.args);
    }
    command
}

/// Why a batch failed, given again to each of its exposures.
enum BatchError {
    Connect(String),
    Redis(redis::RedisError),
    Answers { expected: usize, got: usize },
}

impl BatchError {
    fn to_store_error(&self) -> StoreError {
        match self {
            BatchError::Connect(message) => StoreError::Unavailable(message.clone().into()),
            BatchError::Redis(error) => store_error(error.clone()),
            BatchError::Answers { expected, got } => StoreError::Corrupt {
                what: format!(
                    "record_exposure.lua answered {got} exposures for a batch of {expected}"
                ),
                source: None,
            },
        }
    }
}

/// The batch's command (`script_call::query`: the script is loaded again if Redis lost it).
async fn call(
    store: &RedisStore,
    command: &Cmd,
    expected: usize,
) -> Result<Vec<(usize, i64, i64)>, BatchError> {
    let mut handle = store
        .handle()
        .await
        .map_err(|error| BatchError::Connect(error.to_string()))?;
    let records: Vec<(usize, i64, i64)> =
        script_call::query(&RECORD_EXPOSURE, command, &mut handle)
            .await
            .map_err(BatchError::Redis)?;
    if records.len() != expected {
        return Err(BatchError::Answers {
            expected,
            got: records.len(),
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(experiment: &str, phase: u32, max_values: u32) -> Pending {
        let keys = ExperimentKeys::new(experiment, phase);
        Pending {
            unit_key: keys.unit("x"),
            keys,
            max_values,
            args: Args::default(),
            answer: oneshot::channel().0,
        }
    }

    #[test]
    fn batches_split_by_phase_and_segment_cap_and_keep_arrival_order() {
        let waiting = vec![
            pending("a", 1, 20),
            pending("b", 1, 20),
            pending("a", 1, 20),
            pending("a", 2, 20),
            pending("a", 1, 5),
        ];
        let shapes: Vec<Vec<(String, u32)>> = batches(waiting)
            .iter()
            .map(|batch| {
                batch
                    .iter()
                    .map(|pending| (pending.keys.prefix(), pending.max_values))
                    .collect()
            })
            .collect();
        let a1 = ("{exp:a}:p1:".to_owned(), 20);
        assert_eq!(
            shapes,
            vec![
                vec![a1.clone(), a1],
                vec![("{exp:b}:p1:".to_owned(), 20)],
                vec![("{exp:a}:p2:".to_owned(), 20)],
                vec![("{exp:a}:p1:".to_owned(), 5)],
            ]
        );
    }

    #[test]
    fn a_flush_dropped_before_it_is_done_frees_the_queue_and_its_waiters() {
        let queue = Arc::new(Queue::default());
        let (answer, mut answered) = oneshot::channel();
        {
            let mut state = queue.lock();
            state.waiting.push(Pending {
                answer,
                ..pending("a", 1, 20)
            });
            state.flush_scheduled = true;
        }
        drop(Flushing {
            queue: Arc::clone(&queue),
            done: false,
        });
        let state = queue.lock();
        assert!(!state.flush_scheduled, "the next exposure starts a flush");
        assert!(state.waiting.is_empty());
        assert!(
            matches!(
                answered.try_recv(),
                Err(oneshot::error::TryRecvError::Closed)
            ),
            "the waiter hears that no answer comes"
        );
    }

    #[test]
    fn a_long_queue_goes_out_in_calls_of_at_most_max_batch() {
        let waiting = (0..2 * MAX_BATCH + 1)
            .map(|_| pending("a", 1, 20))
            .collect();
        let sizes: Vec<usize> = batches(waiting).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![MAX_BATCH, MAX_BATCH, 1]);
    }
}
