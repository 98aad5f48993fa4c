//! The life of a home-service order (家政订单), as a pure table: who may do what from where.
//!
//! ```text
//! requested ──dispatch──▶ dispatched ──complete──▶ completed ──confirm──▶ confirmed
//!     │   ▲                  │  │                                        (rate once)
//!     │   └──────────────────┘  └─ dispatch again: another verified worker
//!     └──cancel──▶ cancelled ◀──cancel──┘
//! ```
//!
//! The orderer (the resident, or staff for a care recipient) confirms, cancels and rates;
//! the partner's staff dispatch and complete, and may cancel before the work is done. A
//! completed order is neither cancelled nor re-dispatched: the work was done, and only the
//! orderer's confirmation moves the held payment to the partner.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum OrderStatus {
    #[sea_orm(string_value = "requested")]
    Requested,
    #[sea_orm(string_value = "dispatched")]
    Dispatched,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        Self::Requested,
        Self::Dispatched,
        Self::Completed,
        Self::Confirmed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Dispatched => "dispatched",
            Self::Completed => "completed",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the payment is still held (neither posted nor released).
    pub fn holds_payment(self) -> bool {
        matches!(self, Self::Requested | Self::Dispatched | Self::Completed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    Dispatch,
    Complete,
    Confirm,
    Cancel,
    Rate,
}

impl OrderAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispatch => "dispatch",
            Self::Complete => "complete",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Rate => "rate",
        }
    }
}

/// Who acts on an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The resident who ordered, or the community staff who ordered for a care recipient.
    Orderer,
    /// Staff of the home-service partner.
    Partner,
}

/// Why an action does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The other party does this.
    NotYours,
    /// Not from this status.
    NotNow,
}

/// The status after `action` by `party` from `from`. Rating leaves a confirmed order
/// confirmed (whether it was rated already is the caller's check: a rating column).
pub fn next(from: OrderStatus, action: OrderAction, party: Party) -> Result<OrderStatus, Refusal> {
    use OrderAction as A;
    use OrderStatus as S;
    let allowed_party = match action {
        A::Dispatch | A::Complete => party == Party::Partner,
        A::Confirm | A::Rate => party == Party::Orderer,
        A::Cancel => true,
    };
    if !allowed_party {
        return Err(Refusal::NotYours);
    }
    match (from, action) {
        (S::Requested | S::Dispatched, A::Dispatch) => Ok(S::Dispatched),
        (S::Dispatched, A::Complete) => Ok(S::Completed),
        (S::Completed, A::Confirm) => Ok(S::Confirmed),
        (S::Requested | S::Dispatched, A::Cancel) => Ok(S::Cancelled),
        (S::Confirmed, A::Rate) => Ok(S::Confirmed),
        _ => Err(Refusal::NotNow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderAction as A;
    use OrderStatus as S;
    use Party as P;

    #[test]
    fn the_whole_table() {
        let ok = |s| Ok::<_, Refusal>(s);
        let cases: &[(S, A, P, Result<S, Refusal>)] = &[
            (S::Requested, A::Dispatch, P::Partner, ok(S::Dispatched)),
            (
                S::Requested,
                A::Dispatch,
                P::Orderer,
                Err(Refusal::NotYours),
            ),
            (S::Dispatched, A::Dispatch, P::Partner, ok(S::Dispatched)),
            (S::Completed, A::Dispatch, P::Partner, Err(Refusal::NotNow)),
            (S::Requested, A::Complete, P::Partner, Err(Refusal::NotNow)),
            (S::Dispatched, A::Complete, P::Partner, ok(S::Completed)),
            (
                S::Dispatched,
                A::Complete,
                P::Orderer,
                Err(Refusal::NotYours),
            ),
            (S::Completed, A::Confirm, P::Orderer, ok(S::Confirmed)),
            (S::Completed, A::Confirm, P::Partner, Err(Refusal::NotYours)),
            (S::Dispatched, A::Confirm, P::Orderer, Err(Refusal::NotNow)),
            (S::Confirmed, A::Confirm, P::Orderer, Err(Refusal::NotNow)),
            (S::Requested, A::Cancel, P::Orderer, ok(S::Cancelled)),
            (S::Dispatched, A::Cancel, P::Partner, ok(S::Cancelled)),
            (S::Completed, A::Cancel, P::Orderer, Err(Refusal::NotNow)),
            (S::Confirmed, A::Cancel, P::Partner, Err(Refusal::NotNow)),
            (S::Cancelled, A::Cancel, P::Orderer, Err(Refusal::NotNow)),
            (S::Confirmed, A::Rate, P::Orderer, ok(S::Confirmed)),
            (S::Completed, A::Rate, P::Orderer, Err(Refusal::NotNow)),
            (S::Confirmed, A::Rate, P::Partner, Err(Refusal::NotYours)),
            (S::Cancelled, A::Dispatch, P::Partner, Err(Refusal::NotNow)),
        ];
        for (from, action, party, expected) in cases {
            assert_eq!(
                next(*from, *action, *party),
                *expected,
                "{from:?} {action:?} by {party:?}"
            );
        }
    }

    #[test]
    fn nothing_leaves_a_final_status_but_a_rating() {
        for action in [A::Dispatch, A::Complete, A::Confirm, A::Cancel] {
            for party in [P::Orderer, P::Partner] {
                assert!(next(S::Cancelled, action, party).is_err());
                assert!(next(S::Confirmed, action, party).is_err());
            }
        }
    }

    #[test]
    fn the_payment_is_held_until_confirmed_or_cancelled() {
        let held: Vec<S> = S::ALL.into_iter().filter(|s| s.holds_payment()).collect();
        assert_eq!(held, vec![S::Requested, S::Dispatched, S::Completed]);
    }
}
