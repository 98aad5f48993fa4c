//! A redemption's life as a pure state machine: a reservation is `reserved` until it is
//! redeemed with a code (核销), cancelled (by the resident, or because the merchant can no
//! longer serve it) or lapses; the three ends are final. The service enforces each step with
//! a compare-and-set on the status, so of two concurrent steps one wins.

use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RedemptionStatus {
    #[sea_orm(string_value = "reserved")]
    Reserved,
    #[sea_orm(string_value = "redeemed")]
    Redeemed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    #[sea_orm(string_value = "expired")]
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedemptionAction {
    /// Show a (new) one-time code.
    IssueCode,
    /// The merchant's staff redeem the code.
    Redeem,
    /// The resident, or the merchant's exit, ends the reservation.
    Cancel,
    /// The reservation's time ran out.
    Lapse,
}

impl RedemptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Redeemed => "redeemed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Where `action` leads from here, or `None` when it does not apply.
    pub fn apply(self, action: RedemptionAction) -> Option<Self> {
        use RedemptionAction as A;
        use RedemptionStatus as S;
        match (self, action) {
            (S::Reserved, A::IssueCode) => Some(S::Reserved),
            (S::Reserved, A::Redeem) => Some(S::Redeemed),
            (S::Reserved, A::Cancel) => Some(S::Cancelled),
            (S::Reserved, A::Lapse) => Some(S::Expired),
            _ => None,
        }
    }

    /// Redeemed, cancelled and expired reservations never change again.
    pub fn is_final(self) -> bool {
        self != Self::Reserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;
    use RedemptionAction as A;
    use RedemptionStatus as S;

    #[test]
    fn every_status_and_action() {
        let table = [
            (S::Reserved, A::IssueCode, Some(S::Reserved)),
            (S::Reserved, A::Redeem, Some(S::Redeemed)),
            (S::Reserved, A::Cancel, Some(S::Cancelled)),
            (S::Reserved, A::Lapse, Some(S::Expired)),
        ];
        for status in S::iter() {
            for action in [A::IssueCode, A::Redeem, A::Cancel, A::Lapse] {
                let expected = table
                    .iter()
                    .find(|(s, a, _)| *s == status && *a == action)
                    .and_then(|(_, _, to)| *to);
                assert_eq!(status.apply(action), expected, "{status:?} + {action:?}");
            }
        }
    }

    #[test]
    fn only_a_reservation_moves_and_names_round_trip() {
        for status in S::iter() {
            assert_eq!(status.is_final(), status != S::Reserved);
            assert_eq!(status.to_value(), status.as_str());
        }
    }
}
