//! Writes a group-commit batch may gather from its units and make once, at its end.
//!
//! A context whose units all write the same few rows (the ledger: one community budget
//! debited by every award of a batch) can keep those writes in memory while the batch runs
//! and write them with a few multi-row statements just before the commit, instead of a
//! round trip per unit for each row. It keeps them in a *slot* of the batch, found by type:
//! [`slot`] gives the running batch's slot of a type (made on first use), or `None` outside
//! such a batch, where the context writes at once as usual. The group-commit writer calls
//! [`flush_all`] before it commits.
//!
//! Only batches that can be rolled back as a whole open a scope (the writer's fast path,
//! whose units run without savepoints): a unit that fails there sends the whole batch back
//! to run again unit by unit, each behind its savepoint and outside any scope, so a slot
//! never has to forget one unit's writes and keep another's.
//!
//! What a slot holds is not in the database yet: the context that owns it must write it
//! (its own `flush`) before anything reads or changes those rows by SQL.
//!
//! One rule for units: a savepoint of their own (a nested `begin`) that they may roll back
//! must not contain an operation of a context that defers (a ledger transfer, hold or
//! balance read): the rollback would not take back what a slot keeps, and would undo writes
//! of earlier units that the slot has already let go. The one nested savepoint of today (a
//! staff account's creation) contains none.

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseTransaction, DbErr};
use std::any::{Any, TypeId};
use std::future::Future;
use std::sync::{Arc, Mutex as StdMutex};

/// What a context keeps in a batch's slot.
pub trait Deferred: Default + Send + 'static {
    /// Writes what was kept, on the batch's transaction, and empties the slot.
    fn flush<'c>(&'c mut self, txn: &'c DatabaseTransaction) -> BoxFuture<'c, Result<(), DbErr>>;
}

/// A slot's contents behind an async lock: a unit awaits the database while it holds it.
pub type Slot<T> = Arc<tokio::sync::Mutex<T>>;

type FlushErased = for<'c> fn(
    &'c (dyn Any + Send + Sync),
    &'c DatabaseTransaction,
) -> BoxFuture<'c, Result<(), DbErr>>;

/// A slot of some type: its contents (a `tokio::sync::Mutex<T>`) and how to flush them.
type ErasedSlot = (TypeId, Arc<dyn Any + Send + Sync>, FlushErased);

#[derive(Default)]
struct Scope {
    /// In the order the slots were first used, so that flushes happen in a stable order.
    slots: StdMutex<Vec<ErasedSlot>>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// Runs `batch` (the units and then [`flush_all`]) with a scope of its own.
pub async fn deferring<F: Future>(batch: F) -> F::Output {
    SCOPE.scope(Scope::default(), batch).await
}

/// The running batch's slot of type `T`, or `None` when no batch with a scope runs on this
/// task.
pub fn slot<T: Deferred>() -> Option<Slot<T>> {
    SCOPE
        .try_with(|scope| {
            let mut slots = scope.slots.lock().unwrap_or_else(|e| e.into_inner());
            let wanted = TypeId::of::<T>();
            if let Some((_, any, _)) = slots.iter().find(|(id, _, _)| *id == wanted) {
                return Arc::clone(any).downcast::<tokio::sync::Mutex<T>>().ok();
            }
            let slot: Slot<T> = Arc::default();
            slots.push((wanted, slot.clone(), flush_slot::<T>));
            Some(slot)
        })
        .ok()
        .flatten()
}

fn flush_slot<'c, T: Deferred>(
    any: &'c (dyn Any + Send + Sync),
    txn: &'c DatabaseTransaction,
) -> BoxFuture<'c, Result<(), DbErr>> {
    Box::pin(async move {
        match any.downcast_ref::<tokio::sync::Mutex<T>>() {
            Some(slot) => slot.lock().await.flush(txn).await,
            None => Err(DbErr::Custom("a batch slot of the wrong type".into())),
        }
    })
}

/// Writes every slot of the running batch (nothing outside one), in the order they were
/// first used. A slot whose flush keeps something in a slot not used before (a flushed
/// write that notifies someone) is flushed too: slots made meanwhile join the end.
pub async fn flush_all(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    let mut next = 0;
    loop {
        let slot = SCOPE.try_with(|scope| {
            let slots = scope.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots
                .get(next)
                .map(|(_, any, flush)| (Arc::clone(any), *flush))
        });
        let Ok(Some((any, flush))) = slot else {
            return Ok(());
        };
        flush(any.as_ref(), txn).await?;
        next += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::plumbed_database;
    use sea_orm::TransactionTrait;

    /// Notes kept in memory, written as notifications when the batch flushes.
    #[derive(Default)]
    struct Kept {
        notes: Vec<String>,
        flushes: usize,
    }

    impl Deferred for Kept {
        fn flush<'c>(
            &'c mut self,
            txn: &'c DatabaseTransaction,
        ) -> BoxFuture<'c, Result<(), DbErr>> {
            Box::pin(async move {
                self.flushes += 1;
                for title in std::mem::take(&mut self.notes) {
                    let note = crate::notifications::NewNotification {
                        user_id: "u1",
                        kind: "test",
                        title,
                        body: String::new(),
                        reference: None,
                    };
                    crate::notifications::notify(txn, note, chrono::Utc::now()).await?;
                }
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_slot_exists_only_inside_a_scope_and_is_written_by_flush_all() {
        assert!(slot::<Kept>().is_none(), "no slot outside a batch");
        let db = plumbed_database().await;
        let txn = db.begin().await.unwrap();
        let flushes = deferring(async {
            for n in 0..3 {
                let slot = slot::<Kept>().expect("a slot inside the batch");
                slot.lock().await.notes.push(format!("note {n}"));
            }
            // Nothing written yet: the notes are only kept.
            let unread = crate::notifications::unread_count(&txn, "u1")
                .await
                .unwrap();
            assert_eq!(unread, 0);
            flush_all(&txn).await.unwrap();
            let slot = slot::<Kept>().unwrap();
            let flushes = slot.lock().await.flushes;
            flushes
        })
        .await;
        assert_eq!(flushes, 1, "one slot, flushed once");
        assert_eq!(
            crate::notifications::unread_count(&txn, "u1")
                .await
                .unwrap(),
            3
        );
        txn.commit().await.unwrap();
        // A scope's slots end with it.
        assert!(slot::<Kept>().is_none());
    }
}
