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
use crate::unit_of_work::{settle, Request, Settled};
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
    /// Runs the unit on `txn`; the returned unit knows whether it succeeded and is told the
    /// batch's fate once the batch has committed or failed.
    fn run<'t>(self: Box<Self>, txn: &'t DatabaseTransaction) -> BoxFuture<'t, Box<dyn Ran>>;
    /// The batch could not even start (no connection): answer with `problem`.
    fn refuse(self: Box<Self>, problem: Problem);
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
}

struct Finished<T> {
    result: Result<Settled<T>, Problem>,
    reply: Reply<T>,
}

impl<T, E, F> Queued for Pending<T, F>
where
    T: Serialize + Send + 'static,
    E: Into<Problem> + 'static,
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
{
    fn run<'t>(self: Box<Self>, txn: &'t DatabaseTransaction) -> BoxFuture<'t, Box<dyn Ran>> {
        let Pending {
            request,
            status,
            now,
            work,
            reply,
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

    fn refuse(self: Box<Self>, problem: Problem) {
        // The caller may have gone away (client disconnected); nobody to tell then.
        let _ = self.reply.send(Err(problem));
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

    /// One batch, and whether its transaction was begun and committed.
    async fn commit_batch(&self, units: Vec<Box<dyn Queued>>) -> Batch {
        let txn = match self.begin_batch().await {
            Ok(txn) => txn,
            Err(err) => {
                let unreachable = crate::db::is_connection_lost(&err);
                let problem = Problem::from(err);
                for unit in units {
                    unit.refuse(problem.clone());
                }
                return if unreachable {
                    Batch::DatabaseUnreachable(problem)
                } else {
                    Batch::Failed
                };
            }
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
        let reruns = committer.figures().reruns.load(Ordering::Relaxed);
        if committer.lanes() > 1 {
            assert!(reruns > 0, "the lanes raced and a loser ran again");
        } else {
            assert_eq!(reruns, 0);
        }
    }
}
