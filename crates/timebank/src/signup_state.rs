//! Activities and sign-ups as pure state machines. An activity is `scheduled` until it is
//! cancelled. A sign-up is `confirmed` when a place was free, or `waitlisted` when the
//! resident asked to wait; a waiting sign-up moves up when a confirmed one is cancelled;
//! either may be cancelled before the start, and a cancelled one may sign up again. Places
//! are taken by a conditional update on the activity, so the machine never overfills it.

use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ActivityStatus {
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl ActivityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Cancelled => "cancelled",
        }
    }

    /// Sign-ups, check-ins and settlement happen only at a scheduled activity.
    pub fn takes_part(self) -> bool {
        self == Self::Scheduled
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SignupStatus {
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    #[sea_orm(string_value = "waitlisted")]
    Waitlisted,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter)]
pub enum SignupStep {
    /// Sign up (again) with a place free.
    TakePlace,
    /// Sign up (again) to wait for a place.
    Wait,
    /// A freed place goes to the longest-waiting resident.
    MoveUp,
    Cancel,
}

impl SignupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Waitlisted => "waitlisted",
            Self::Cancelled => "cancelled",
        }
    }

    /// Where `step` leads from here, or `None` when it does not apply. A new sign-up
    /// starts as if it had been cancelled.
    pub fn apply(self, step: SignupStep) -> Option<Self> {
        use SignupStatus as S;
        use SignupStep as A;
        match (self, step) {
            (S::Cancelled, A::TakePlace) => Some(S::Confirmed),
            (S::Cancelled, A::Wait) => Some(S::Waitlisted),
            (S::Waitlisted, A::MoveUp) => Some(S::Confirmed),
            (S::Confirmed | S::Waitlisted, A::Cancel) => Some(S::Cancelled),
            _ => None,
        }
    }

    /// Holding or waiting for a place.
    pub fn is_live(self) -> bool {
        self != Self::Cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;
    use SignupStatus as S;
    use SignupStep as A;

    #[test]
    fn every_status_and_step() {
        let table = [
            (S::Cancelled, A::TakePlace, S::Confirmed),
            (S::Cancelled, A::Wait, S::Waitlisted),
            (S::Waitlisted, A::MoveUp, S::Confirmed),
            (S::Confirmed, A::Cancel, S::Cancelled),
            (S::Waitlisted, A::Cancel, S::Cancelled),
        ];
        for status in S::iter() {
            for step in A::iter() {
                let expected = table
                    .iter()
                    .find(|(s, a, _)| *s == status && *a == step)
                    .map(|(_, _, to)| *to);
                assert_eq!(status.apply(step), expected, "{status:?} + {step:?}");
            }
            assert_eq!(status.is_live(), status != S::Cancelled);
            assert_eq!(status.to_value(), status.as_str());
        }
    }

    #[test]
    fn only_a_scheduled_activity_takes_part() {
        for status in ActivityStatus::iter() {
            assert_eq!(status.takes_part(), status == ActivityStatus::Scheduled);
            assert_eq!(status.to_value(), status.as_str());
        }
    }
}
