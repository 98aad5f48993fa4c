//! A parking booking's life as a pure state machine. A booking is `booked` (points held)
//! until the car enters (`active`), the resident cancels before the start, or nobody comes
//! (`no_show`). Leaving ends it `completed`, or `unpaid_overstay` when the balance could not
//! cover the time past its end, until that is paid. The service enforces each step with a
//! compare-and-set on the status.

use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum BookingStatus {
    #[sea_orm(string_value = "booked")]
    Booked,
    /// The car is parked.
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    #[sea_orm(string_value = "no_show")]
    NoShow,
    #[sea_orm(string_value = "unpaid_overstay")]
    UnpaidOverstay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookingAction {
    /// The car drives in (gate or staff check-in).
    Enter,
    /// The resident cancels before the start.
    Cancel,
    /// Nobody drove in in time.
    MarkNoShow,
    /// The car leaves; `paid_in_full` when any overstay was covered.
    Exit { paid_in_full: bool },
    /// The resident pays what an overstay left unpaid.
    PayOverstay,
}

impl BookingAction {
    /// The verb for "cannot … a booking that is …".
    pub fn verb(self) -> &'static str {
        match self {
            Self::Enter => "check in",
            Self::Cancel => "cancel",
            Self::MarkNoShow => "mark as no-show",
            Self::Exit { .. } => "check out",
            Self::PayOverstay => "pay",
        }
    }
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
            Self::UnpaidOverstay => "unpaid_overstay",
        }
    }

    /// Where `action` leads from here, or `None` when it does not apply.
    pub fn apply(self, action: BookingAction) -> Option<Self> {
        use BookingAction as A;
        use BookingStatus as S;
        match (self, action) {
            (S::Booked, A::Enter) => Some(S::Active),
            (S::Booked, A::Cancel) => Some(S::Cancelled),
            (S::Booked, A::MarkNoShow) => Some(S::NoShow),
            (S::Active, A::Exit { paid_in_full: true }) => Some(S::Completed),
            (
                S::Active,
                A::Exit {
                    paid_in_full: false,
                },
            ) => Some(S::UnpaidOverstay),
            (S::UnpaidOverstay, A::PayOverstay) => Some(S::Completed),
            _ => None,
        }
    }

    /// Holding a slot: a booking that is booked or parked.
    pub fn holds_the_slot(self) -> bool {
        matches!(self, Self::Booked | Self::Active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;
    use BookingAction as A;
    use BookingStatus as S;

    const ACTIONS: [BookingAction; 6] = [
        A::Enter,
        A::Cancel,
        A::MarkNoShow,
        A::Exit { paid_in_full: true },
        A::Exit {
            paid_in_full: false,
        },
        A::PayOverstay,
    ];

    #[test]
    fn every_status_and_action() {
        let table = [
            (S::Booked, A::Enter, S::Active),
            (S::Booked, A::Cancel, S::Cancelled),
            (S::Booked, A::MarkNoShow, S::NoShow),
            (S::Active, A::Exit { paid_in_full: true }, S::Completed),
            (
                S::Active,
                A::Exit {
                    paid_in_full: false,
                },
                S::UnpaidOverstay,
            ),
            (S::UnpaidOverstay, A::PayOverstay, S::Completed),
        ];
        for status in S::iter() {
            for action in ACTIONS {
                let expected = table
                    .iter()
                    .find(|(s, a, _)| *s == status && *a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(status.apply(action), expected, "{status:?} + {action:?}");
            }
        }
    }

    #[test]
    fn completed_cancelled_and_no_shows_are_final() {
        for status in [S::Completed, S::Cancelled, S::NoShow] {
            assert!(
                ACTIONS.iter().all(|a| status.apply(*a).is_none()),
                "{status:?}"
            );
        }
        for status in S::iter() {
            assert_eq!(status.to_value(), status.as_str());
            assert_eq!(
                status.holds_the_slot(),
                matches!(status, S::Booked | S::Active)
            );
        }
    }
}
