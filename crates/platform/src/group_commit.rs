//! Group commit: the units of work of many concurrent requests run in one database
//! transaction, each behind its own savepoint, and are answered together after one commit.
//!
//! Why: a commit costs a disk flush and a round trip, and on a hot account (one community
//! budget paying a whole activity, one shop on a market day) concurrent transactions queue
//! on the account's row lock, each holding it across its own commit. Here a writer task
//! takes whatever units are waiting, runs them one after another on one connection, and
//! commits once; while it commits, the next batch gathers. Batch-mates never contend with
//! each other, so a hot account costs no more than a cold one.
//!
//! What each request keeps: its own idempotency record, answer and error (a unit that fails
//! rolls back to its savepoint and its batch-mates carry on), and the guarantee that its
//! answer is sent only after its effects are durable. If the commit itself fails, every unit
//! of the batch that had succeeded is told so and nothing of the batch is kept; a retry with
//! the same key runs again.
//!
//! **Lanes.** One writer runs its units one after another, so its throughput is one over a
//! unit's round trips. On PostgreSQL there are several writers ("lanes"), each with its own
//! connection and batches; a unit goes to the lane its *route* hashes to (the caller's
//! community, org or merchant), so that the requests that share rows (a community's budget,
//! its demand counts, a shop's stock) stay in one lane and meet in one batch instead of
//! waiting on each other's locks. Units of different lanes may still touch the same rows; a
//! batch waits at most [`LOCK_WAIT`] for one, and a unit that loses such a race (deadlock
//! victim, lock wait timed out) was rolled back to its savepoint: it is run again in a later
//! batch, up to [`ATTEMPTS`] times, before its caller hears `409 conflict`. SQLite has one
//! writer, so one lane.
//!
//! On PostgreSQL the same lane of every instance takes turns (an advisory lock held by each
//! batch): see [`WRITER_LOCK`].
//!
//! A unit must do all its reading and writing on the connection it is handed: on SQLite
//! the batch holds the only writer connection, so a query on the pool from inside a unit
//! would wait for itself.

use crate::problem::Problem;
use crate::unit_of_work::{settle, Answer, Request, Settled};
use crate::{batch_scope, idempotency};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde::Serialize;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How many units may wait for a writer before callers are held back, how many run in one
/// transaction at most (a bound on how long one batch holds its locks), and how many writers
/// run side by side on PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub queue: usize,
    pub batch: usize,
    pub lanes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            queue: 4096,
            batch: 128,
            lanes: 1,
        }
    }
}

/// How long a batch on PostgreSQL waits for a row another lane's batch holds before the
/// waiting unit gives up and is run again. Long enough for a batch to commit, short enough
/// that a deadlock between lanes costs far less than PostgreSQL's own one-second detection.
pub const LOCK_WAIT: Duration = Duration::from_millis(250);

/// How many times a unit runs when it keeps losing races to other lanes.
pub const ATTEMPTS: usize = 5;

/// What the writers have done so far, for `/metrics`.
#[derive(Debug, Default)]
pub struct Figures {
    pub batches: AtomicU64,
    pub units: AtomicU64,
    pub failed_commits: AtomicU64,
    /// Units run again after losing a race to another lane.
    pub reruns: AtomicU64,
    /// Batches committed (or failed at the commit) on the fast path, without savepoints.
    pub fast_batches: AtomicU64,
    /// Fast batches given back to run behind savepoints (a unit failed, or a key was taken).
    pub fallbacks: AtomicU64,
}

/// The handle requests submit their units to. Cheap to clone; the writer tasks live as long
/// as any handle does.
#[derive(Clone)]
pub struct Committer {
    lanes: Arc<[mpsc::Sender<Box<dyn Queued>>]>,
    /// For units without a route: spread over the lanes in turn.
    next: Arc<AtomicUsize>,
    figures: Arc<Figures>,
}

impl Committer {
    /// Starts the writer tasks on the current tokio runtime: `limits.lanes` of them on
    /// PostgreSQL, one on SQLite.
    pub fn start(db: DatabaseConnection, limits: Limits) -> Self {
        let lanes = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => limits.lanes.max(1),
            _ => 1,
        };
        let figures = Arc::new(Figures::default());
        let senders: Vec<_> = (0..lanes)
            .map(|lane| {
                let (queue, waiting) = mpsc::channel(limits.queue.max(1));
                let writer = Writer {
                    db: db.clone(),
                    lane,
                    lanes,
                    figures: figures.clone(),
                };
                tokio::spawn(writer.write_batches(waiting, limits.batch.max(1)));
                queue
            })
            .collect();
        Self {
            lanes: senders.into(),
            next: Arc::new(AtomicUsize::new(0)),
            figures,
        }
    }

    pub fn figures(&self) -> &Figures {
        &self.figures
    }

    /// How many writers run side by side.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Units waiting for the writers right now.
    pub fn queued(&self) -> usize {
        self.lanes
            .iter()
            .map(|lane| lane.max_capacity() - lane.capacity())
            .sum()
    }

    /// Runs `work` as one unit of a coming batch (the same steps as
    /// [`crate::unit_of_work::run`]) and waits for the batch's commit. `route` names what the
    /// unit mostly writes to (see the module documentation); `None` spreads such units over
    /// the lanes. The work is cloned for each attempt, so that a unit that lost a race to
    /// another lane can run again.
    pub async fn run<T, E, F>(
        &self,
        route: Option<&str>,
        request: Request,
        status: u16,
        now: DateTime<Utc>,
        work: F,
    ) -> Result<Settled<T>, Problem>
    where
        T: Serialize + Send + 'static,
        E: Into<Problem> + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>>
            + Clone
            + Send
            + 'static,
    {
        let lane = &self.lanes[self.lane_of(route)];
        let mut attempt = 1;
        loop {
            let (reply, answer) = oneshot::channel();
            let unit = Pending {
                request: request.clone(),
                status,
                now,
                work: work.clone(),
                reply,
                attempted: None,
            };
            lane.send(Box::new(unit))
                .await
                .map_err(|_| Problem::internal("the group-commit writer has stopped"))?;
            let outcome = answer
                .await
                .map_err(|_| Problem::internal("the group-commit writer dropped a unit"))?;
            match outcome {
                Err(problem) if problem.lost_race && attempt < ATTEMPTS => {
                    self.figures.reruns.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    fn lane_of(&self, route: Option<&str>) -> usize {
        let lanes = self.lanes.len();
        match route {
            _ if lanes == 1 => 0,
            Some(route) => (stable_hash(route) % lanes as u64) as usize,
            None => self.next.fetch_add(1, Ordering::Relaxed) % lanes,
        }
    }
}

/// FNV-1a: the same route picks the same lane index in every instance (the standard
/// library's hasher is seeded per process), so that one community's units of two instances
/// take turns through the same advisory lock instead of racing each other.
fn stable_hash(route: &str) -> u64 {
    route.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A unit waiting for the writer, its types erased so that units of every use case share
/// one queue.
trait Queued: Send {
    /// Who asks with which key, when: for the fast path's idempotency records.
    fn request(&self) -> (&Request, u16, DateTime<Utc>);
    /// Fast path: runs (a copy of) the work alone, its key settled by the batch; keeps the
    /// value and returns the answer's body.
    fn attempt<'t>(
        &'t mut self,
        txn: &'t DatabaseTransaction,
    ) -> BoxFuture<'t, Result<String, Problem>>;
    /// Answers with the value its last attempt kept, once the batch has committed (or with
    /// the commit's error).
    fn deliver_attempt(self: Box<Self>, commit: Result<(), Problem>);
    /// Answers without running: a stored answer replayed, or a problem.
    fn answer(self: Box<Self>, outcome: Result<Answer, Problem>);
    /// Savepoint path: runs the unit on `txn` with its own key handling; the returned unit
    /// knows whether it succeeded and is told the batch's fate once the batch has committed
    /// or failed.
    fn run<'t>(self: Box<Self>, txn: &'t DatabaseTransaction) -> BoxFuture<'t, Box<dyn Ran>>;
    /// The batch could not even start (no connection): answer with `problem`.
    fn refuse(self: Box<Self>, problem: Problem) {
        self.answer(Err(problem));
    }
}

trait Ran: Send {
    fn succeeded(&self) -> bool;
    /// `commit` is the batch's outcome; a failed unit answers with its own error whatever it is.
    fn deliver(self: Box<Self>, commit: Result<(), Problem>);
}

type Reply<T> = oneshot::Sender<Result<Settled<T>, Problem>>;

struct Pending<T, F> {
    request: Request,
    status: u16,
    now: DateTime<Utc>,
    work: F,
    reply: Reply<T>,
    /// The value and answer body of the last fast-path attempt.
    attempted: Option<(T, String)>,
}

struct Finished<T> {
    result: Result<Settled<T>, Problem>,
    reply: Reply<T>,
}

impl<T, E, F> Queued for Pending<T, F>
where
    T: Serialize + Send + 'static,
    E: Into<Problem> + 'static,
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>>
        + Clone
        + Send
        + 'static,
{
    fn request(&self) -> (&Request, u16, DateTime<Utc>) {
        (&self.request, self.status, self.now)
    }

    fn attempt<'t>(
        &'t mut self,
        txn: &'t DatabaseTransaction,
    ) -> BoxFuture<'t, Result<String, Problem>> {
        let work = self.work.clone();
        Box::pin(async move {
            self.attempted = None;
            let ran = AssertUnwindSafe(async move { work(txn).await.map_err(Into::into) })
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(Problem::internal("a unit of work panicked")))?;
            let body = serde_json::to_string(&ran).map_err(Problem::internal)?;
            self.attempted = Some((ran, body.clone()));
            Ok(body)
        })
    }

    fn deliver_attempt(self: Box<Self>, commit: Result<(), Problem>) {
        let outcome = match (commit, self.attempted) {
            (Ok(()), Some((value, body))) => Ok(Settled::Fresh {
                value,
                answer: Answer {
                    status: self.status,
                    body,
                    replayed: false,
                },
            }),
            (Ok(()), None) => Err(Problem::internal("a unit was answered before it ran")),
            (Err(problem), _) => Err(problem),
        };
        let _ = self.reply.send(outcome);
    }

    fn answer(self: Box<Self>, outcome: Result<Answer, Problem>) {
        // The caller may have gone away (client disconnected); nobody to tell then.
        let _ = self.reply.send(outcome.map(Settled::Replayed));
    }

    fn run<'t>(self: Box<Self>, txn: &'t DatabaseTransaction) -> BoxFuture<'t, Box<dyn Ran>> {
        let Pending {
            request,
            status,
            now,
            work,
            reply,
            ..
        } = *self;
        Box::pin(async move {
            // A panicking use case fails its own request, not the writer and its batch.
            let result = AssertUnwindSafe(settle(txn, request, status, now, work))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(Problem::internal("a unit of work panicked")));
            Box::new(Finished { result, reply }) as Box<dyn Ran>
        })
    }
}

impl<T: Send + 'static> Ran for Finished<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn deliver(self: Box<Self>, commit: Result<(), Problem>) {
        let answer = match (self.result, commit) {
            (Ok(settled), Ok(())) => Ok(settled),
            (Ok(_), Err(problem)) | (Err(problem), _) => Err(problem),
        };
        let _ = self.reply.send(answer);
    }
}

/// One lane's writer.
struct Writer {
    db: DatabaseConnection,
    lane: usize,
    lanes: usize,
    figures: Arc<Figures>,
}

impl Writer {
    /// Takes every unit waiting (up to `batch`), runs them in one transaction, commits,
    /// answers them, and goes round again. Batches form by themselves: while one commits,
    /// the next one's units queue.
    async fn write_batches(self, mut waiting: mpsc::Receiver<Box<dyn Queued>>, batch: usize) {
        let mut units = Vec::with_capacity(batch);
        while waiting.recv_many(&mut units, batch).await > 0 {
            self.figures.batches.fetch_add(1, Ordering::Relaxed);
            self.figures
                .units
                .fetch_add(units.len() as u64, Ordering::Relaxed);
            match self.commit_batch(std::mem::take(&mut units)).await {
                Batch::Committed => {}
                Batch::Failed => {
                    self.figures.failed_commits.fetch_add(1, Ordering::Relaxed);
                }
                Batch::DatabaseUnreachable(problem) => {
                    self.figures.failed_commits.fetch_add(1, Ordering::Relaxed);
                    // Those queued meanwhile would only wait out the same connection wait
                    // again: they fail now, fast, and their callers may retry with their keys.
                    while let Ok(unit) = waiting.try_recv() {
                        unit.refuse(problem.clone());
                    }
                }
            }
        }
    }

    /// On PostgreSQL, takes this lane's turn among the instances and, when other lanes run
    /// beside it, bounds how long any statement of the batch waits for their locks.
    async fn begin_batch(&self) -> Result<DatabaseTransaction, sea_orm::DbErr> {
        let txn = self.db.begin().await?;
        if self.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let turn = WRITER_LOCK + self.lane as i64;
            let statements = if self.lanes > 1 {
                format!(
                    "SELECT pg_advisory_xact_lock({turn}); SET LOCAL lock_timeout = {}",
                    LOCK_WAIT.as_millis()
                )
            } else {
                format!("SELECT pg_advisory_xact_lock({turn})")
            };
            txn.execute_unprepared(&statements).await?;
        }
        Ok(txn)
    }

    /// One batch, and whether its transaction was begun and committed: on the fast path
    /// when it can, else (or when the fast path gives it back) behind savepoints.
    async fn commit_batch(&self, units: Vec<Box<dyn Queued>>) -> Batch {
        let units = if keys_are_distinct(&units) {
            match self.commit_fast(units).await {
                Fast::Done(batch) => return batch,
                Fast::GaveBack(units) => {
                    self.figures.fallbacks.fetch_add(1, Ordering::Relaxed);
                    units
                }
            }
        } else {
            units
        };
        self.commit_behind_savepoints(units).await
    }

    /// The fast path: the batch's keys looked up in one query and written with their
    /// answers in one statement, the units run one after another without savepoints, and
    /// what they deferred to the batch's end (`batch_scope`) written before the commit.
    /// A unit that fails, or a key another transaction used meanwhile, rolls the whole
    /// batch back and gives it back to run behind savepoints, where each unit keeps its own
    /// outcome: the fast path only ever commits batches in which every unit succeeded.
    async fn commit_fast(&self, units: Vec<Box<dyn Queued>>) -> Fast {
        let txn = match self.begin_batch().await {
            Ok(txn) => txn,
            Err(err) => return Fast::Done(refuse_all(units, err)),
        };
        let keys: Vec<(&str, &str)> = units
            .iter()
            .filter_map(|unit| {
                let (request, _, _) = unit.request();
                request.key().map(|key| (request.user_id(), key))
            })
            .collect();
        let stored = if keys.is_empty() {
            Default::default()
        } else {
            match idempotency::find_many(&txn, &keys).await {
                Ok(stored) => stored,
                Err(_) => {
                    let _ = txn.rollback().await;
                    return Fast::GaveBack(units);
                }
            }
        };
        // Keys used before answer now, whatever the batch does; the rest run.
        let mut running = Vec::with_capacity(units.len());
        let mut answered = Vec::new();
        for unit in units {
            let (request, _, _) = unit.request();
            let found = request
                .key()
                .and_then(|key| stored.get(&(request.user_id().to_owned(), key.to_owned())));
            match found {
                Some(stored) if stored.request_hash == request.request_hash => {
                    let replay = Answer {
                        status: stored.status,
                        body: stored.body.clone(),
                        replayed: true,
                    };
                    answered.push((unit, Ok(replay)));
                }
                Some(_) => answered.push((unit, Err(Problem::idempotency_key_reused()))),
                None => running.push(unit),
            }
        }
        let ran = batch_scope::deferring(async {
            let mut bodies = Vec::with_capacity(running.len());
            for unit in running.iter_mut() {
                bodies.push(unit.attempt(&txn).await.map_err(Failed::Unit)?);
            }
            batch_scope::flush_all(&txn)
                .await
                .map_err(Failed::Deferred)?;
            Ok::<_, Failed>(bodies)
        })
        .await;
        let bodies = match ran {
            Ok(bodies) => bodies,
            // A unit alone whose own work failed: that is its answer, as behind a savepoint
            // (a lost race still runs again, in `Committer::run`).
            Err(Failed::Unit(problem)) if running.len() == 1 && answered.is_empty() => {
                let _ = txn.rollback().await;
                for unit in running {
                    unit.deliver_attempt(Err(problem.clone()));
                }
                // Like a batch behind savepoints none of whose units succeeded: rolled back.
                return Fast::Done(Batch::Committed);
            }
            Err(failed) => {
                match &failed {
                    Failed::Unit(problem) => {
                        tracing::debug!(code = ?problem.code, "a unit failed: the batch runs behind savepoints")
                    }
                    Failed::Deferred(err) => {
                        tracing::debug!(error = %err, "deferred writes failed: the batch runs behind savepoints")
                    }
                }
                // Rolled back before the batch is run again: on PostgreSQL this also lets go
                // of the lane's turn, which the next attempt takes on another connection.
                let _ = txn.rollback().await;
                return Fast::GaveBack(rejoin(running, answered));
            }
        };
        let records: Vec<idempotency::Record> = running
            .iter()
            .zip(&bodies)
            .filter_map(|(unit, body)| {
                let (request, status, now) = unit.request();
                request.key().map(|key| idempotency::Record {
                    user_id: request.user_id(),
                    key,
                    request_hash: &request.request_hash,
                    status,
                    body,
                    created_at: now,
                })
            })
            .collect();
        if !records.is_empty() {
            match idempotency::record_many(&txn, &records).await {
                Ok(written) if written == records.len() => {}
                _ => {
                    drop(records);
                    let _ = txn.rollback().await;
                    return Fast::GaveBack(rejoin(running, answered));
                }
            }
        }
        let commit = if running.is_empty() {
            txn.rollback().await.map_err(Problem::from)
        } else {
            txn.commit().await.map_err(Problem::from)
        };
        let committed = commit.is_ok();
        for (unit, outcome) in answered {
            unit.answer(outcome);
        }
        for unit in running {
            unit.deliver_attempt(commit.clone());
        }
        self.figures.fast_batches.fetch_add(1, Ordering::Relaxed);
        Fast::Done(if committed {
            Batch::Committed
        } else {
            Batch::Failed
        })
    }

    /// Each unit behind its own savepoint, keeping its own key handling and outcome.
    async fn commit_behind_savepoints(&self, units: Vec<Box<dyn Queued>>) -> Batch {
        let txn = match self.begin_batch().await {
            Ok(txn) => txn,
            Err(err) => return refuse_all(units, err),
        };
        let ran = if units.len() == 1 {
            Ok(run_alone(&txn, units).await)
        } else {
            run_behind_savepoints(&txn, units).await
        };
        let ran = match ran {
            Ok(ran) => ran,
            Err((ran, problem)) => {
                drop(txn);
                deliver(ran, Err(problem));
                return Batch::Failed;
            }
        };
        let commit = if ran.iter().any(|unit| unit.succeeded()) {
            txn.commit().await.map_err(Problem::from)
        } else {
            txn.rollback().await.map_err(Problem::from)
        };
        let committed = commit.is_ok();
        deliver(ran, commit);
        if committed {
            Batch::Committed
        } else {
            Batch::Failed
        }
    }
}

/// The batch could not begin: every unit hears why.
fn refuse_all(units: Vec<Box<dyn Queued>>, err: sea_orm::DbErr) -> Batch {
    let unreachable = crate::db::is_connection_lost(&err);
    let problem = Problem::from(err);
    for unit in units {
        unit.refuse(problem.clone());
    }
    if unreachable {
        Batch::DatabaseUnreachable(problem)
    } else {
        Batch::Failed
    }
}

/// The same key twice in one batch (a retry sent before the first try was answered) needs
/// the savepoint path, where the second sees the first's record.
fn keys_are_distinct(units: &[Box<dyn Queued>]) -> bool {
    let mut seen = std::collections::HashSet::new();
    units.iter().all(|unit| {
        let (request, _, _) = unit.request();
        request
            .key()
            .is_none_or(|key| seen.insert((request.user_id(), key)))
    })
}

/// The units of a fast batch given back: those answered from stored records go too, so that
/// the savepoint path settles the whole batch (the others keep their order).
fn rejoin(
    running: Vec<Box<dyn Queued>>,
    answered: Vec<(Box<dyn Queued>, Result<Answer, Problem>)>,
) -> Vec<Box<dyn Queued>> {
    running
        .into_iter()
        .chain(answered.into_iter().map(|(unit, _)| unit))
        .collect()
}

/// Why a fast batch stopped: one of its units failed, or writing what they deferred did.
enum Failed {
    Unit(Problem),
    Deferred(sea_orm::DbErr),
}

/// How the fast path ended: done (committed, or failed with every unit answered), or the
/// units given back to run behind savepoints.
enum Fast {
    Done(Batch),
    GaveBack(Vec<Box<dyn Queued>>),
}

/// How a batch ended.
enum Batch {
    Committed,
    /// Begun but rolled back or not committed; each unit has its answer.
    Failed,
    /// No transaction could be begun: the database cannot be reached.
    DatabaseUnreachable(Problem),
}

/// Taken by every batch on PostgreSQL for the length of its transaction (the lane's index
/// added), so that the same lane of several instances takes turns. A batch locks rows in
/// the order of its units, not in one global order, so two batches of one route running at
/// once would often deadlock each other; batches of different lanes rarely meet, and when
/// they do, [`LOCK_WAIT`] and the re-run settle it.
const WRITER_LOCK: i64 = 0x4C49_4E4C_4957; // "LINLIW"

type Broken = (Vec<Box<dyn Ran>>, Problem);

/// A batch of one needs no savepoint: its failure rolls back the whole transaction.
async fn run_alone(txn: &DatabaseTransaction, units: Vec<Box<dyn Queued>>) -> Vec<Box<dyn Ran>> {
    let mut ran = Vec::with_capacity(1);
    for unit in units {
        ran.push(unit.run(txn).await);
    }
    ran
}

/// Each unit behind its own savepoint, so that a failing one leaves no trace and its
/// batch-mates' effects stand. A savepoint that cannot be taken or released means the
/// transaction itself is broken: the batch fails as a whole.
async fn run_behind_savepoints(
    txn: &DatabaseTransaction,
    units: Vec<Box<dyn Queued>>,
) -> Result<Vec<Box<dyn Ran>>, Broken> {
    let mut ran = Vec::with_capacity(units.len());
    let mut units = units.into_iter();
    while let Some(unit) = units.next() {
        let savepoint = match txn.begin().await {
            Ok(savepoint) => savepoint,
            Err(err) => {
                let problem = Problem::from(err);
                unit.refuse(problem.clone());
                units.for_each(|unit| unit.refuse(problem.clone()));
                return Err((ran, problem));
            }
        };
        let done = unit.run(&savepoint).await;
        let closed = if done.succeeded() {
            savepoint.commit().await
        } else {
            savepoint.rollback().await
        };
        ran.push(done);
        if let Err(err) = closed {
            let problem = Problem::from(err);
            units.for_each(|unit| unit.refuse(problem.clone()));
            return Err((ran, problem));
        }
    }
    Ok(ran)
}

fn deliver(ran: Vec<Box<dyn Ran>>, commit: Result<(), Problem>) {
    for unit in ran {
        unit.deliver(commit.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::{self, NewNotification};
    use crate::problem::Code;
    use crate::testing::plumbed_database;
    use std::time::Duration;
    use tokio::sync::watch;

    type Outcome = Result<Settled<serde_json::Value>, Problem>;

    /// A unit that writes one notification and answers `{"n": n}`, or refuses after
    /// writing when `fail`; it first waits for `hold`, if given.
    fn note(
        committer: &Committer,
        request: Request,
        n: i64,
        fail: bool,
        hold: Option<watch::Receiver<bool>>,
    ) -> tokio::task::JoinHandle<Outcome> {
        let committer = committer.clone();
        tokio::spawn(async move {
            committer
                .run(None, request, 201, Utc::now(), move |conn| {
                    Box::pin(async move {
                        if let Some(mut hold) = hold {
                            let _ = hold.wait_for(|released| *released).await;
                        }
                        let note = NewNotification {
                            user_id: "u1",
                            kind: "test",
                            title: format!("note {n}"),
                            body: String::new(),
                            reference: None,
                        };
                        notifications::notify(conn, note, Utc::now()).await?;
                        if fail {
                            return Err(Problem::invalid_transition("refused after writing"));
                        }
                        Ok::<_, Problem>(serde_json::json!({ "n": n }))
                    })
                })
                .await
        })
    }

    async fn until_queued(committer: &Committer, n: usize) {
        while committer.queued() < n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    #[tokio::test]
    async fn batch_mates_keep_their_own_idempotency_answer_and_error() {
        let db = plumbed_database().await;
        let committer = Committer::start(db.clone(), Limits::default());

        // The first unit holds the writer inside its batch until the others have queued,
        // so that they form the next batch together, in this order.
        let (release, hold) = watch::channel(false);
        let first = note(&committer, Request::unkeyed(), 0, false, Some(hold));
        while committer.figures().batches.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let keyed = |n: i64| Request::new("u1", Some("k1".into()), &("note", n));
        let mut mates = Vec::new();
        for (request, n, fail) in [
            (keyed(1), 1, false),           // posts
            (Request::unkeyed(), 2, true),  // refuses after writing
            (keyed(9), 9, false),           // k1 again, another request
            (keyed(1), 1, false),           // k1 retried: replays the first answer
            (Request::unkeyed(), 3, false), // posts
        ] {
            mates.push(note(&committer, request, n, fail, None));
            until_queued(&committer, mates.len()).await;
        }
        release.send(true).unwrap();
        first.await.unwrap().unwrap();
        let mut outcomes = Vec::new();
        for mate in mates {
            outcomes.push(mate.await.unwrap());
        }

        assert_eq!(committer.figures().batches.load(Ordering::Relaxed), 2);
        assert_eq!(committer.figures().units.load(Ordering::Relaxed), 6);
        fn body(outcome: &Outcome) -> Option<String> {
            outcome.as_ref().ok().map(|s| s.answer().body.clone())
        }
        assert!(matches!(outcomes[0], Ok(Settled::Fresh { .. })));
        assert_eq!(body(&outcomes[0]).unwrap(), r#"{"n":1}"#);
        assert_eq!(
            outcomes[1].as_ref().unwrap_err().code,
            Code::InvalidTransition
        );
        assert_eq!(
            outcomes[2].as_ref().unwrap_err().code,
            Code::IdempotencyKeyReused
        );
        let replay = outcomes[3].as_ref().unwrap().answer();
        assert!(replay.replayed);
        assert_eq!(replay.body, r#"{"n":1}"#);
        assert_eq!(body(&outcomes[4]).unwrap(), r#"{"n":3}"#);
        // The blocker, note 1 and note 3: the refused unit's write rolled back to its
        // savepoint, and nothing ran twice.
        assert_eq!(notifications::unread_count(&db, "u1").await.unwrap(), 3);
    }

    /// Runs `mates` as one batch, in this order: a blocker unit (note 0) holds the writer
    /// until they have all queued. Their outcomes, in order.
    async fn one_batch(committer: &Committer, mates: Vec<(Request, i64, bool)>) -> Vec<Outcome> {
        let batches_before = committer.figures().batches.load(Ordering::Relaxed);
        let (release, hold) = watch::channel(false);
        let blocker = note(committer, Request::unkeyed(), 0, false, Some(hold));
        while committer.figures().batches.load(Ordering::Relaxed) == batches_before {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut handles = Vec::new();
        for (request, n, fail) in mates {
            handles.push(note(committer, request, n, fail, None));
            until_queued(committer, handles.len()).await;
        }
        release.send(true).unwrap();
        blocker.await.unwrap().unwrap();
        let mut outcomes = Vec::new();
        for handle in handles {
            outcomes.push(handle.await.unwrap());
        }
        assert_eq!(
            committer.figures().batches.load(Ordering::Relaxed),
            batches_before + 2,
            "the blocker's batch and the mates' one"
        );
        outcomes
    }

    #[tokio::test]
    async fn a_batch_of_distinct_keys_settles_them_together_and_falls_back_when_a_unit_fails() {
        let db = plumbed_database().await;
        let committer = Committer::start(db.clone(), Limits::default());
        let keyed = |key: &str, n: i64| Request::new("u1", Some(key.into()), &("note", n));
        let figures = committer.figures();

        // A unit fails after writing: the fast attempt is rolled back and the batch runs
        // behind savepoints, where the others post and the failure leaves nothing.
        let outcomes = one_batch(
            &committer,
            vec![
                (keyed("k1", 1), 1, false),
                (Request::unkeyed(), 2, true),
                (keyed("k2", 3), 3, false),
                (Request::unkeyed(), 4, false),
            ],
        )
        .await;
        assert_eq!(figures.fallbacks.load(Ordering::Relaxed), 1);
        let fast_after_first = figures.fast_batches.load(Ordering::Relaxed);
        assert!(matches!(outcomes[0], Ok(Settled::Fresh { .. })));
        assert_eq!(
            outcomes[1].as_ref().unwrap_err().code,
            Code::InvalidTransition
        );
        assert_eq!(outcomes[2].as_ref().unwrap().answer().body, r#"{"n":3}"#);
        assert_eq!(outcomes[3].as_ref().unwrap().answer().body, r#"{"n":4}"#);
        // The blocker and notes 1, 3 and 4.
        assert_eq!(notifications::unread_count(&db, "u1").await.unwrap(), 4);

        // Every unit succeeds or is answered from its record: the fast path commits it.
        let outcomes = one_batch(
            &committer,
            vec![
                (keyed("k1", 1), 1, false), // a retry: the stored answer
                (keyed("k2", 9), 9, false), // k2 for another request
                (keyed("k3", 5), 5, false),
                (Request::unkeyed(), 6, false),
            ],
        )
        .await;
        assert_eq!(figures.fallbacks.load(Ordering::Relaxed), 1, "no fallback");
        // The blocker's batch of one and the mates' batch.
        assert_eq!(
            figures.fast_batches.load(Ordering::Relaxed),
            fast_after_first + 2
        );
        let replay = outcomes[0].as_ref().unwrap().answer();
        assert!(replay.replayed);
        assert_eq!(replay.body, r#"{"n":1}"#);
        assert_eq!(
            outcomes[1].as_ref().unwrap_err().code,
            Code::IdempotencyKeyReused
        );
        assert!(matches!(outcomes[2], Ok(Settled::Fresh { .. })));
        assert_eq!(outcomes[3].as_ref().unwrap().answer().body, r#"{"n":6}"#);
        // A second blocker and notes 5 and 6; the replay and the refusal wrote nothing.
        assert_eq!(notifications::unread_count(&db, "u1").await.unwrap(), 7);

        // The fast path stored k3's answer with the batch: a retry replays it.
        let retry = note(&committer, keyed("k3", 5), 5, false, None)
            .await
            .unwrap();
        let answer = retry.unwrap().into_answer();
        assert!(answer.replayed);
        assert_eq!(answer.body, r#"{"n":5}"#);
        assert_eq!(notifications::unread_count(&db, "u1").await.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_lone_failing_unit_leaves_no_trace_and_the_writer_carries_on() {
        let db = plumbed_database().await;
        let committer = Committer::start(db.clone(), Limits::default());
        let refused = note(&committer, Request::unkeyed(), 1, true, None);
        assert_eq!(
            refused.await.unwrap().unwrap_err().code,
            Code::InvalidTransition
        );
        assert_eq!(notifications::unread_count(&db, "u1").await.unwrap(), 0);
        let posted = note(&committer, Request::unkeyed(), 2, false, None);
        assert!(posted.await.unwrap().is_ok());
        assert_eq!(notifications::unread_count(&db, "u1").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn many_concurrent_units_all_settle_once() {
        let db = plumbed_database().await;
        let committer = Committer::start(
            db.clone(),
            Limits {
                queue: 64,
                batch: 16,
                lanes: 4,
            },
        );
        let handles: Vec<_> = (0..200)
            .map(|n| {
                let request = Request::new("u1", Some(format!("k{n}")), &("note", n));
                note(&committer, request, n, n % 10 == 0, None)
            })
            .collect();
        let mut posted = 0;
        for handle in handles {
            if handle.await.unwrap().is_ok() {
                posted += 1;
            }
        }
        assert_eq!(posted, 180);
        assert_eq!(notifications::unread_count(&db, "u1").await.unwrap(), 180);
        let batches = committer.figures().batches.load(Ordering::Relaxed);
        assert!(
            batches < 200,
            "200 concurrent units shared transactions ({batches} batches)"
        );
    }

    /// Bumps both rows of `lane_race`, `first` first, holding it long enough for another
    /// lane to take the other.
    fn bump_both(conn: &DatabaseTransaction, first: i32) -> BoxFuture<'_, Result<(), Problem>> {
        use sea_orm::Statement;
        Box::pin(async move {
            for id in [first, 1 - first] {
                let sql = "UPDATE lane_race SET n = n + 1 WHERE id = $1";
                let update =
                    Statement::from_sql_and_values(conn.get_database_backend(), sql, [id.into()]);
                conn.execute(update).await?;
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            Ok(())
        })
    }

    /// Two lanes whose batches lock the same two rows in opposite orders: on PostgreSQL one
    /// of them must lose (a deadlock, or its lock wait timing out), be rolled back to its
    /// savepoint and run again; every unit still settles exactly once.
    #[tokio::test]
    async fn units_that_lose_a_lock_race_between_lanes_run_again_and_settle_once() {
        use sea_orm::{ConnectionTrait, Statement};
        let db = plumbed_database().await;
        db.execute_unprepared(
            "CREATE TABLE lane_race (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); \
             INSERT INTO lane_race (id, n) VALUES (0, 0), (1, 0)",
        )
        .await
        .unwrap();
        let committer = Committer::start(
            db.clone(),
            Limits {
                lanes: 2,
                ..Limits::default()
            },
        );
        // Two routes on different lanes (on SQLite there is one lane, and no race).
        let route_a = "community-a".to_owned();
        let route_b = (0..)
            .map(|n| format!("community-{n}"))
            .find(|route| {
                committer.lanes() == 1
                    || committer.lane_of(Some(route)) != committer.lane_of(Some(&route_a))
            })
            .unwrap();
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let committer = committer.clone();
                let (route, first) = if n % 2 == 0 {
                    (route_a.clone(), 0)
                } else {
                    (route_b.clone(), 1)
                };
                tokio::spawn(async move {
                    let request = Request::new("u1", Some(format!("k{n}")), &("bump", n));
                    committer
                        .run(Some(&route), request, 200, Utc::now(), move |conn| {
                            bump_both(conn, first)
                        })
                        .await
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap().unwrap();
        }
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT CAST(n AS BIGINT) AS n FROM lane_race ORDER BY id",
            ))
            .await
            .unwrap();
        let counts: Vec<i64> = rows.iter().map(|r| r.try_get("", "n").unwrap()).collect();
        assert_eq!(counts, vec![8, 8], "every unit bumped each row once");
        // A loser runs again: in a later batch, or (when it lost on the fast path) with its
        // batch behind savepoints.
        let figures = committer.figures();
        let again =
            figures.reruns.load(Ordering::Relaxed) + figures.fallbacks.load(Ordering::Relaxed);
        if committer.lanes() > 1 {
            assert!(again > 0, "the lanes raced and a loser ran again");
        } else {
            assert_eq!(again, 0);
        }
    }
}
