//! A help request's life as a pure state machine: `open` until a neighbour accepts it, then
//! `completed` by the helper and `confirmed` by the requester (the held minutes go to the
//! helper); the requester may cancel while it is open; either party may dispute it once
//! accepted, and community staff resolve a dispute. Confirmed, cancelled and resolved are
//! final. The service enforces each step with a compare-and-set on the row's version.

use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum HelpStatus {
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    #[sea_orm(string_value = "disputed")]
    Disputed,
    #[sea_orm(string_value = "resolved")]
    Resolved,
}

/// The steps, without what they carry (a reason, an outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter)]
pub enum HelpStep {
    Accept,
    Complete,
    Confirm,
    Cancel,
    Dispute,
    Resolve,
}

impl HelpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Completed => "completed",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Disputed => "disputed",
            Self::Resolved => "resolved",
        }
    }

    /// Where `step` leads from here, or `None` when it does not apply.
    pub fn apply(self, step: HelpStep) -> Option<Self> {
        use HelpStatus as S;
        use HelpStep as A;
        match (self, step) {
            (S::Open, A::Accept) => Some(S::Accepted),
            (S::Accepted, A::Complete) => Some(S::Completed),
            (S::Completed, A::Confirm) => Some(S::Confirmed),
            (S::Open, A::Cancel) => Some(S::Cancelled),
            (S::Accepted | S::Completed, A::Dispute) => Some(S::Disputed),
            (S::Disputed, A::Resolve) => Some(S::Resolved),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;
    use HelpStatus as S;
    use HelpStep as A;

    #[test]
    fn every_status_and_step() {
        let table = [
            (S::Open, A::Accept, S::Accepted),
            (S::Accepted, A::Complete, S::Completed),
            (S::Completed, A::Confirm, S::Confirmed),
            (S::Open, A::Cancel, S::Cancelled),
            (S::Accepted, A::Dispute, S::Disputed),
            (S::Completed, A::Dispute, S::Disputed),
            (S::Disputed, A::Resolve, S::Resolved),
        ];
        for status in S::iter() {
            for step in A::iter() {
                let expected = table
                    .iter()
                    .find(|(s, a, _)| *s == status && *a == step)
                    .map(|(_, _, to)| *to);
                assert_eq!(status.apply(step), expected, "{status:?} + {step:?}");
            }
        }
    }

    #[test]
    fn confirmed_cancelled_and_resolved_are_final() {
        for status in [S::Confirmed, S::Cancelled, S::Resolved] {
            assert!(A::iter().all(|a| status.apply(a).is_none()), "{status:?}");
        }
        for status in S::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
    }
}
