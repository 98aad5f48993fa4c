//! Property test: random sequences of awards, spends, gifts, holds, posts, voids, clock
//! moves, expiries and reversals, applied both to the ledger (on a real database) and to a
//! plain in-memory model. After every step the balances, held amounts and outcomes must
//! agree, and the ledger must verify (zero-sum, balance = sum of entries, lots = balance).

use crate::support::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use points_ledger::service::accounts::balance_of;
use points_ledger::service::holds::{self, HoldRequest, PostRequest};
use points_ledger::service::transfers::TransferCode;
use points_ledger::service::{expiry, reversal};
use points_ledger::{AccountRef, ExpiryRule};
use proptest::prelude::*;
use sea_orm::{DatabaseConnection, TransactionTrait};
use std::collections::HashMap;

const USERS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Award {
        user: usize,
        amount: i64,
    },
    Spend {
        user: usize,
        amount: i64,
    },
    Gift {
        from: usize,
        to: usize,
        amount: i64,
    },
    Reserve {
        user: usize,
        amount: i64,
        minutes: i64,
    },
    Post {
        hold: usize,
        percent: i64,
    },
    Void {
        hold: usize,
    },
    Advance {
        minutes: i64,
    },
    Reverse {
        transfer: usize,
    },
    ExpireEverything,
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    prop_oneof![
        3 => (user.clone(), 1..200i64).prop_map(|(user, amount)| Op::Award { user, amount }),
        3 => (user.clone(), 1..150i64).prop_map(|(user, amount)| Op::Spend { user, amount }),
        2 => (user.clone(), user.clone(), 1..150i64).prop_map(|(from, to, amount)| Op::Gift { from, to, amount }),
        3 => (user.clone(), 1..150i64, 1..120i64).prop_map(|(user, amount, minutes)| Op::Reserve { user, amount, minutes }),
        2 => (0..8usize, 1..=100i64).prop_map(|(hold, percent)| Op::Post { hold, percent }),
        1 => (0..8usize).prop_map(|hold| Op::Void { hold }),
        1 => (1..90i64).prop_map(|minutes| Op::Advance { minutes }),
        2 => (0..12usize).prop_map(|transfer| Op::Reverse { transfer }),
        1 => Just(Op::ExpireEverything),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum HoldState {
    Pending,
    Done,
}

struct ModelHold {
    id: String,
    user: usize,
    amount: i64,
    expires_at: DateTime<Utc>,
    state: HoldState,
    posted: bool,
}

struct ModelTransfer {
    id: String,
    /// Account keys in the model's balance map.
    debit: String,
    credit: String,
    amount: i64,
    reversed: bool,
}

#[derive(Default)]
struct Model {
    balance: HashMap<String, i64>,
    held: HashMap<String, i64>,
    holds: Vec<ModelHold>,
    transfers: Vec<ModelTransfer>,
}

const TREASURY: &str = "treasury";
const MERCHANT: &str = "merchant";
const SINK: &str = "sink";

fn user_key(user: usize) -> String {
    format!("u{user}")
}

fn account(key: &str) -> AccountRef {
    match key {
        TREASURY => AccountRef::treasury(DISTRICT),
        MERCHANT => merchant("m"),
        SINK => AccountRef::expiry_sink(),
        user => wallet(user),
    }
}

impl Model {
    fn available(&self, key: &str) -> i64 {
        self.balance.get(key).copied().unwrap_or(0) - self.held.get(key).copied().unwrap_or(0)
    }

    fn can_debit(&self, key: &str, amount: i64) -> bool {
        key == TREASURY || self.available(key) >= amount
    }

    fn apply(&mut self, debit: &str, credit: &str, amount: i64) {
        *self.balance.entry(debit.to_owned()).or_default() -= amount;
        *self.balance.entry(credit.to_owned()).or_default() += amount;
    }

    fn release_expired(&mut self, now: DateTime<Utc>) {
        for hold in &mut self.holds {
            if hold.state == HoldState::Pending && hold.expires_at <= now {
                hold.state = HoldState::Done;
                *self.held.entry(user_key(hold.user)).or_default() -= hold.amount;
            }
        }
    }
}

struct Run {
    db: DatabaseConnection,
    model: Model,
    now: DateTime<Utc>,
    step: usize,
}

impl Run {
    fn key(&mut self, what: &str) -> String {
        self.step += 1;
        format!("{what}-{}", self.step)
    }

    async fn transfer(&mut self, debit: &str, credit: &str, amount: i64, code: TransferCode) {
        let key = self.key("t");
        let expected = self.model.can_debit(debit, amount) && debit != credit;
        let result = move_points(
            &self.db,
            &key,
            account(debit),
            account(credit),
            amount,
            code,
            self.now,
        )
        .await;
        assert_eq!(
            result.is_ok(),
            expected,
            "{debit}->{credit} {amount}: {result:?}"
        );
        if let Ok(posted) = result {
            self.model.apply(debit, credit, amount);
            self.model.transfers.push(ModelTransfer {
                id: posted.transfer.id,
                debit: debit.to_owned(),
                credit: credit.to_owned(),
                amount,
                reversed: false,
            });
        }
    }

    async fn step(&mut self, op: &Op) {
        match *op {
            Op::Award { user, amount } => {
                self.transfer(TREASURY, &user_key(user), amount, TransferCode::Award)
                    .await
            }
            Op::Spend { user, amount } => {
                self.transfer(&user_key(user), MERCHANT, amount, TransferCode::Redemption)
                    .await
            }
            Op::Gift { from, to, amount } => {
                if from != to {
                    self.transfer(&user_key(from), &user_key(to), amount, TransferCode::Gift)
                        .await;
                }
            }
            Op::Reserve {
                user,
                amount,
                minutes,
            } => {
                let key = self.key("h");
                let who = user_key(user);
                let expected = self.model.can_debit(&who, amount);
                let expires_at = self.now + Duration::minutes(minutes);
                let request = HoldRequest {
                    idempotency_key: key,
                    account: wallet(&who),
                    amount,
                    expires_at,
                    reference: None,
                };
                let result = holds::reserve(&self.db, request, self.now).await;
                assert_eq!(
                    result.is_ok(),
                    expected,
                    "reserve {amount} by {who}: {result:?}"
                );
                if let Ok(hold) = result {
                    *self.model.held.entry(who).or_default() += amount;
                    self.model.holds.push(ModelHold {
                        id: hold.id,
                        user,
                        amount,
                        expires_at,
                        state: HoldState::Pending,
                        posted: false,
                    });
                }
            }
            Op::Post { hold, percent } => {
                let Some(index) = pick(self.model.holds.len(), hold) else {
                    return;
                };
                let key = self.key("p");
                let h = &self.model.holds[index];
                let amount = ((h.amount * percent + 99) / 100).max(1);
                let expected = h.state == HoldState::Pending && h.expires_at > self.now;
                let (hold_id, user, held_amount) = (h.id.clone(), h.user, h.amount);
                let txn = self.db.begin().await.unwrap();
                let request = PostRequest {
                    hold_id,
                    to: merchant("m"),
                    amount,
                    code: TransferCode::Redemption,
                    memo: String::new(),
                    idempotency_key: key,
                };
                let result = holds::post(&txn, request, ExpiryRule::default(), self.now).await;
                txn.commit().await.unwrap();
                assert_eq!(
                    result.is_ok(),
                    expected,
                    "post {amount} of hold {index}: {result:?}"
                );
                if result.is_ok() {
                    let who = user_key(user);
                    *self.model.held.entry(who.clone()).or_default() -= held_amount;
                    self.model.apply(&who, MERCHANT, amount);
                    self.model.holds[index].state = HoldState::Done;
                    self.model.holds[index].posted = true;
                }
            }
            Op::Void { hold } => {
                let Some(index) = pick(self.model.holds.len(), hold) else {
                    return;
                };
                let h = &self.model.holds[index];
                let expected = !h.posted;
                let result = holds::void(&self.db, &h.id.clone(), self.now).await;
                assert_eq!(result.is_ok(), expected, "void hold {index}: {result:?}");
                let h = &mut self.model.holds[index];
                if result.is_ok() && h.state == HoldState::Pending {
                    h.state = HoldState::Done;
                    let (user, amount) = (h.user, h.amount);
                    *self.model.held.entry(user_key(user)).or_default() -= amount;
                }
            }
            Op::Advance { minutes } => {
                self.now += Duration::minutes(minutes);
                holds::release_expired(&self.db, self.now, 1000)
                    .await
                    .unwrap();
                self.model.release_expired(self.now);
            }
            Op::Reverse { transfer } => {
                let Some(index) = pick(self.model.transfers.len(), transfer) else {
                    return;
                };
                let key = self.key("r");
                let t = &self.model.transfers[index];
                // The reversal debits what the original credited.
                let expected = !t.reversed && self.model.can_debit(&t.credit, t.amount);
                let (id, debit, credit, amount) =
                    (t.id.clone(), t.debit.clone(), t.credit.clone(), t.amount);
                let result =
                    reversal::reverse(&self.db, &id, &key, "", ExpiryRule::default(), self.now)
                        .await;
                assert_eq!(
                    result.is_ok(),
                    expected,
                    "reverse transfer {index}: {result:?}"
                );
                if result.is_ok() {
                    self.model.apply(&credit, &debit, amount);
                    self.model.transfers[index].reversed = true;
                }
            }
            Op::ExpireEverything => {
                // Three years on, every lot that exists now has expired and every hold too.
                self.now += Duration::days(3 * 366);
                holds::release_expired(&self.db, self.now, 1000)
                    .await
                    .unwrap();
                self.model.release_expired(self.now);
                let expired = expiry::expire_lots(&self.db, self.now, 10_000)
                    .await
                    .unwrap();
                let mut expected = 0;
                for user in 0..USERS {
                    let key = user_key(user);
                    let amount = self.model.available(&key);
                    if amount > 0 {
                        self.model.apply(&key, SINK, amount);
                        expected += amount;
                    }
                }
                assert_eq!(expired, expected, "expired points");
            }
        }
    }

    async fn check(&self) {
        for key in [TREASURY, MERCHANT, SINK]
            .into_iter()
            .map(str::to_owned)
            .chain((0..USERS).map(user_key))
        {
            let actual = balance_of(&self.db, &account(&key)).await.unwrap();
            assert_eq!(
                actual.balance,
                self.model.balance.get(&key).copied().unwrap_or(0),
                "balance of {key}"
            );
            assert_eq!(
                actual.held,
                self.model.held.get(&key).copied().unwrap_or(0),
                "held of {key}"
            );
        }
        assert_verified(&self.db).await;
    }
}

/// Picks an existing item by a random index, if there is any.
fn pick(len: usize, index: usize) -> Option<usize> {
    (len > 0).then(|| index % len)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut run = Run {
                db: ledger_db().await,
                model: Model::default(),
                now: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
                step: 0,
            };
            for op in &ops {
                run.step(op).await;
                run.check().await;
            }
        });
    }
}
