//! The unit of work: everything one request changes happens in one database transaction
//! that this module owns, in this order:
//!
//! 1. begin the transaction;
//! 2. claim the caller's `Idempotency-Key`, if any (a retry of a request that succeeded gets
//!    its stored answer back, and nothing runs again; the same key on a different request
//!    is refused);
//! 3. run the work: the use case, on the transaction's connection, with its notifications
//!    and outbox rows written on that same connection;
//! 4. store the answer for the key;
//! 5. commit.
//!
//! A failure anywhere rolls everything back (the transaction is dropped), so a refused
//! request leaves no trace and its retry runs afresh. Callers cannot forget a step or store
//! the answer after the commit, because they only hand over the work.
//!
//! The work is a `Send + 'static` closure over owned values. That is deliberate: it can be
//! queued and run later inside a transaction shared with other requests' units (a group
//! commit), each behind its own savepoint, keeping its own idempotency record, answer and
//! error.

use crate::idempotency::{self, Claim};
use crate::problem::Problem;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde::Serialize;

/// Who asks, with which key, for what: the request's identity for idempotency.
#[derive(Debug, Clone)]
pub struct Request {
    user_id: String,
    key: Option<String>,
    pub(crate) request_hash: String,
}

impl Request {
    /// `fingerprint` is what makes two requests "the same": the operation and its parsed
    /// command (not the raw body, so key order and spacing do not matter).
    pub fn new(user_id: &str, key: Option<String>, fingerprint: &impl Serialize) -> Self {
        // Serialising plain data (strings, numbers, derived structs) cannot fail; an empty
        // hash would only make two such requests look alike, never run one twice.
        let canonical = serde_json::to_string(fingerprint).unwrap_or_default();
        Self {
            user_id: user_id.to_owned(),
            key,
            request_hash: crate::ids::sha256_hex(&canonical),
        }
    }

    /// A request without an `Idempotency-Key`: it runs every time.
    pub fn unkeyed() -> Self {
        Self {
            user_id: String::new(),
            key: None,
            request_hash: String::new(),
        }
    }

    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

/// The answer to send: a status and a JSON body, and whether it is a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

/// How a unit of work ended.
#[derive(Debug)]
pub enum Settled<T> {
    /// The work ran and committed; `value` for what the caller does after the commit.
    Fresh { value: T, answer: Answer },
    /// The same request succeeded before; its stored answer, nothing ran.
    Replayed(Answer),
}

impl<T> Settled<T> {
    pub fn answer(&self) -> &Answer {
        match self {
            Settled::Fresh { answer, .. } | Settled::Replayed(answer) => answer,
        }
    }

    pub fn into_answer(self) -> Answer {
        match self {
            Settled::Fresh { answer, .. } | Settled::Replayed(answer) => answer,
        }
    }

    /// The fresh value, `None` for a replay.
    pub fn value(&self) -> Option<&T> {
        match self {
            Settled::Fresh { value, .. } => Some(value),
            Settled::Replayed(_) => None,
        }
    }
}

/// A work's result when the caller needs more after the commit than the answer holds (what
/// to tell the cache, say): only `answer` is serialised, stored and sent.
#[derive(Debug, Clone)]
pub struct Reply<R, A> {
    pub answer: R,
    pub after_commit: A,
}

impl<R: Serialize, A> Serialize for Reply<R, A> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.answer.serialize(serializer)
    }
}

/// Runs `work` as one unit, in a transaction of its own: see the module documentation.
/// `status` is the answer's status when the work succeeds (e.g. 201 for a creation).
/// Request handlers go through [`crate::group_commit::Committer`] instead, which runs the
/// same steps 2–4 for many requests in one transaction.
pub async fn run<T, E, F>(
    db: &DatabaseConnection,
    request: Request,
    status: u16,
    now: DateTime<Utc>,
    work: F,
) -> Result<Settled<T>, Problem>
where
    T: Serialize + Send + 'static,
    E: Into<Problem>,
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
{
    let txn = db.begin().await?;
    let settled = settle(&txn, request, status, now, work).await?;
    if matches!(settled, Settled::Fresh { .. }) {
        txn.commit().await?;
    }
    Ok(settled)
}

/// Steps 2–4 of the unit on a transaction (or savepoint) the caller begins and commits:
/// claim the key, run the work, store its answer. On `Err` the caller must roll back.
pub(crate) async fn settle<T, E, F>(
    txn: &DatabaseTransaction,
    request: Request,
    status: u16,
    now: DateTime<Utc>,
    work: F,
) -> Result<Settled<T>, Problem>
where
    T: Serialize + Send + 'static,
    E: Into<Problem>,
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
{
    if let Some(key) = request.key() {
        match idempotency::claim(txn, &request.user_id, key, &request.request_hash, now).await? {
            Claim::New => {}
            Claim::Replay { status, body } => {
                return Ok(Settled::Replayed(Answer {
                    status,
                    body,
                    replayed: true,
                }))
            }
            Claim::Mismatch => return Err(Problem::idempotency_key_reused()),
        }
    }
    let value = work(txn).await.map_err(Into::into)?;
    let body = serde_json::to_string(&value).map_err(Problem::internal)?;
    if let Some(key) = request.key() {
        idempotency::store(txn, &request.user_id, key, status, &body).await?;
    }
    Ok(Settled::Fresh {
        value,
        answer: Answer {
            status,
            body,
            replayed: false,
        },
    })
}

/// A unit of work that answers no request (a background job's step, a repair from the
/// command line): the work in one transaction, committed, or rolled back on any error.
pub async fn atomically<T, E, F>(db: &DatabaseConnection, work: F) -> Result<T, Problem>
where
    T: Send + 'static,
    E: Into<Problem>,
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
{
    let txn = db.begin().await?;
    let value = work(&txn).await.map_err(Into::into)?;
    txn.commit().await?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::{self, NewNotification};
    use crate::problem::Code;
    use crate::testing::plumbed_database as database;

    /// A unit whose effect is one notification for `user`, answering `{"n": n}`; or failing
    /// after writing it, when `fail`.
    async fn note(
        db: &DatabaseConnection,
        request: Request,
        n: i64,
        fail: bool,
    ) -> Result<Settled<serde_json::Value>, Problem> {
        run(db, request, 201, Utc::now(), move |conn| {
            Box::pin(async move {
                notifications::notify(
                    conn,
                    NewNotification {
                        user_id: "u1",
                        kind: "test",
                        title: format!("note {n}"),
                        body: String::new(),
                        reference: None,
                    },
                    Utc::now(),
                )
                .await?;
                if fail {
                    return Err(Problem::invalid_transition("refused after writing"));
                }
                Ok::<_, Problem>(serde_json::json!({ "n": n }))
            })
        })
        .await
    }

    async fn notes(db: &DatabaseConnection) -> i64 {
        notifications::unread_count(db, "u1").await.unwrap()
    }

    #[tokio::test]
    async fn a_keyed_retry_gets_the_first_answer_and_changes_nothing() {
        let db = database().await;
        let keyed = || Request::new("u1", Some("k1".into()), &("note", 1));
        let first = note(&db, keyed(), 1, false).await.unwrap();
        assert!(matches!(first, Settled::Fresh { .. }));
        assert_eq!(first.answer().body, r#"{"n":1}"#);
        // The retry's own work would answer 2; the stored answer wins and nothing runs.
        let again = note(&db, keyed(), 2, false).await.unwrap();
        assert_eq!(
            again.into_answer(),
            Answer {
                status: 201,
                body: r#"{"n":1}"#.into(),
                replayed: true
            }
        );
        assert_eq!(notes(&db).await, 1);
    }

    #[tokio::test]
    async fn the_same_key_on_another_request_is_refused() {
        let db = database().await;
        note(
            &db,
            Request::new("u1", Some("k".into()), &("note", 1)),
            1,
            false,
        )
        .await
        .unwrap();
        let other = note(
            &db,
            Request::new("u1", Some("k".into()), &("note", 9)),
            9,
            false,
        )
        .await
        .unwrap_err();
        assert_eq!(other.code, Code::IdempotencyKeyReused);
        assert_eq!(notes(&db).await, 1);
        // Keys are per user: another user's "k" is a new request.
        let theirs = Request::new("u2", Some("k".into()), &("note", 9));
        assert!(matches!(
            note(&db, theirs, 9, false).await.unwrap(),
            Settled::Fresh { .. }
        ));
    }

    #[tokio::test]
    async fn a_failed_unit_leaves_no_trace_and_its_retry_runs() {
        let db = database().await;
        let keyed = || Request::new("u1", Some("k".into()), &("note", 1));
        let refused = note(&db, keyed(), 1, true).await.unwrap_err();
        assert_eq!(refused.code, Code::InvalidTransition);
        assert_eq!(notes(&db).await, 0, "the effect rolled back");
        let retried = note(&db, keyed(), 1, false).await.unwrap();
        assert!(matches!(retried, Settled::Fresh { .. }));
        assert_eq!(notes(&db).await, 1);
    }

    /// Two notifications, then a refusal when `fail`.
    async fn two_notes(conn: &DatabaseTransaction, fail: bool) -> Result<(), Problem> {
        for n in 0..2 {
            let note = NewNotification {
                user_id: "u1",
                kind: "test",
                title: format!("note {n}"),
                body: String::new(),
                reference: None,
            };
            notifications::notify(conn, note, Utc::now()).await?;
        }
        if fail {
            return Err(Problem::invalid_transition("refused after writing"));
        }
        Ok(())
    }

    #[tokio::test]
    async fn an_atomic_unit_commits_all_or_nothing() {
        let db = database().await;
        let refused = atomically(&db, |conn| Box::pin(two_notes(conn, true))).await;
        assert_eq!(refused.unwrap_err().code, Code::InvalidTransition);
        assert_eq!(notes(&db).await, 0, "the refused unit wrote nothing");
        atomically(&db, |conn| Box::pin(two_notes(conn, false)))
            .await
            .unwrap();
        assert_eq!(notes(&db).await, 2);
    }

    #[tokio::test]
    async fn without_a_key_every_request_runs() {
        let db = database().await;
        for n in 0..3 {
            let settled = note(&db, Request::unkeyed(), n, false).await.unwrap();
            assert_eq!(settled.value(), Some(&serde_json::json!({ "n": n })));
        }
        assert_eq!(notes(&db).await, 3);
    }
}
