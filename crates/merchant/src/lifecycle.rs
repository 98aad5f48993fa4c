//! The merchant lifecycle as a pure state machine: pending → active | rejected;
//! active ⇄ suspended; active | suspended → closed (exit). Rejected and closed are final.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum MerchantStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "suspended")]
    Suspended,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "closed")]
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantAction {
    Approve,
    Reject,
    Suspend,
    Reinstate,
    Close,
}

impl MerchantStatus {
    pub const ALL: [MerchantStatus; 5] = [
        Self::Pending,
        Self::Active,
        Self::Suspended,
        Self::Rejected,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Rejected => "rejected",
            Self::Closed => "closed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Where `action` leads from here, or `None` when it is not allowed.
    pub fn apply(self, action: MerchantAction) -> Option<Self> {
        use MerchantAction as A;
        use MerchantStatus as S;
        match (self, action) {
            (S::Pending, A::Approve) => Some(S::Active),
            (S::Pending, A::Reject) => Some(S::Rejected),
            (S::Active, A::Suspend) => Some(S::Suspended),
            (S::Suspended, A::Reinstate) => Some(S::Active),
            (S::Active | S::Suspended, A::Close) => Some(S::Closed),
            _ => None,
        }
    }
}

impl MerchantAction {
    pub const ALL: [MerchantAction; 5] = [
        Self::Approve,
        Self::Reject,
        Self::Suspend,
        Self::Reinstate,
        Self::Close,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
            Self::Close => "close",
        }
    }

    /// Whether staff must give a reason (everything but approval).
    pub fn needs_reason(self) -> bool {
        self != Self::Approve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_action_pair_follows_the_table() {
        use MerchantAction as A;
        use MerchantStatus as S;
        let allowed = [
            (S::Pending, A::Approve, S::Active),
            (S::Pending, A::Reject, S::Rejected),
            (S::Active, A::Suspend, S::Suspended),
            (S::Suspended, A::Reinstate, S::Active),
            (S::Active, A::Close, S::Closed),
            (S::Suspended, A::Close, S::Closed),
        ];
        for status in S::ALL {
            assert_eq!(S::parse(status.as_str()), Some(status));
            for action in A::ALL {
                let expected = allowed
                    .iter()
                    .find(|(s, a, _)| *s == status && *a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(status.apply(action), expected, "{status:?} × {action:?}");
            }
        }
    }

    #[test]
    fn rejected_and_closed_are_final() {
        for action in MerchantAction::ALL {
            assert_eq!(MerchantStatus::Rejected.apply(action), None);
            assert_eq!(MerchantStatus::Closed.apply(action), None);
        }
    }
}
