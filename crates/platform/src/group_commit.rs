//! Group commit: the units of work of many concurrent requests run in one database
//! transaction, each behind its own savepoint, and are answered together after one commit.
//!
//! Why: a commit costs a disk flush and a round trip, and on a hot account (one community
//! budget paying a whole activity, one shop on a market day) concurrent transactions queue
//! on the account's row lock, each holding it across its own commit. Here one writer task
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
//! On PostgreSQL the writers of all instances take turns (an advisory lock held by each
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// How many units may wait for the writer before callers are held back, and how many run
/// in one transaction at most (a bound on how long one batch holds its locks).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub queue: usize,
    pub batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            queue: 4096,
            batch: 128,
        }
    }
}

/// What the writer has done so far, for `/metrics`.
#[derive(Debug, Default)]
pub struct Figures {
    pub batches: AtomicU64,
    pub units: AtomicU64,
    pub failed_commits: AtomicU64,
}

/// The handle requests submit their units to. Cheap to clone; the writer task lives as long
/// as any handle does.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Box<dyn Queued>>,
    figures: Arc<Figures>,
}

impl Committer {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(db: DatabaseConnection, limits: Limits) -> Self {
        let (queue, waiting) = mpsc::channel(limits.queue.max(1));
        let figures = Arc::new(Figures::default());
        tokio::spawn(write_batches(
            db,
            waiting,
            limits.batch.max(1),
            figures.clone(),
        ));
        Self { queue, figures }
    }

    pub fn figures(&self) -> &Figures {
        &self.figures
    }

    /// Units waiting for the writer right now.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Runs `work` as one unit of the next batch (the same steps as
    /// [`crate::unit_of_work::run`]) and waits for the batch's commit.
    pub async fn run<T, E, F>(
        &self,
        request: Request,
        status: u16,
        now: DateTime<Utc>,
        work: F,
    ) -> Result<Settled<T>, Problem>
    where
        T: Serialize + Send + 'static,
        E: Into<Problem> + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let unit = Pending {
            request,
            status,
            now,
            work,
            reply,
        };
        self.queue
            .send(Box::new(unit))
            .await
            .map_err(|_| Problem::internal("the group-commit writer has stopped"))?;
        answer
            .await
            .map_err(|_| Problem::internal("the group-commit writer dropped a unit"))?
    }
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

/// The writer: takes every unit waiting (up to `batch`), runs them in one transaction, commits,
/// answers them, and goes round again. Batches form by themselves: while one commits, the
/// next one's units queue.
async fn write_batches(
    db: DatabaseConnection,
    mut waiting: mpsc::Receiver<Box<dyn Queued>>,
    batch: usize,
    figures: Arc<Figures>,
) {
    let mut units = Vec::with_capacity(batch);
    while waiting.recv_many(&mut units, batch).await > 0 {
        figures.batches.fetch_add(1, Ordering::Relaxed);
        figures
            .units
            .fetch_add(units.len() as u64, Ordering::Relaxed);
        if !commit_batch(&db, std::mem::take(&mut units)).await {
            figures.failed_commits.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Taken by every batch on PostgreSQL for the length of its transaction, so that the writers
/// of several instances take turns. A batch locks rows in the order of its units, not in one
/// global order, so two batches running at once could deadlock each other; PostgreSQL would
/// then cancel a unit that cannot be re-run.
const WRITER_LOCK: i64 = 0x4C49_4E4C_4957; // "LINLIW"

async fn begin_batch(db: &DatabaseConnection) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    let txn = db.begin().await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({WRITER_LOCK})"))
            .await?;
    }
    Ok(txn)
}

/// One batch; false when its transaction could not be begun or committed.
async fn commit_batch(db: &DatabaseConnection, units: Vec<Box<dyn Queued>>) -> bool {
    let txn = match begin_batch(db).await {
        Ok(txn) => txn,
        Err(err) => {
            let problem = Problem::from(err);
            for unit in units {
                unit.refuse(problem.clone());
            }
            return false;
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
            return false;
        }
    };
    let commit = if ran.iter().any(|unit| unit.succeeded()) {
        txn.commit().await.map_err(Problem::from)
    } else {
        txn.rollback().await.map_err(Problem::from)
    };
    let committed = commit.is_ok();
    deliver(ran, commit);
    committed
}

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

    type Outcome = Result<Settled<serde_json::Value>, Problem>;

    /// A unit that writes one notification and answers `{"n": n}`, or refuses after
    /// writing when `fail`; it first waits for `hold`, if given.
    fn note(
        committer: &Committer,
        request: Request,
        n: i64,
        fail: bool,
        hold: Option<oneshot::Receiver<()>>,
    ) -> tokio::task::JoinHandle<Outcome> {
        let committer = committer.clone();
        tokio::spawn(async move {
            committer
                .run(request, 201, Utc::now(), move |conn| {
                    Box::pin(async move {
                        if let Some(hold) = hold {
                            let _ = hold.await;
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
        let (release, hold) = oneshot::channel();
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
        release.send(()).unwrap();
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
}
