use platform::ValidationErrors;
use points_ledger::{Asset, LedgerError};
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum TimebankError {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the activity is full")]
    ActivityFull,
    #[error("the activity has started")]
    ActivityStarted,
    #[error("the activity has not ended yet")]
    ActivityNotEnded,
    #[error(
        "a partner-run activity is settled by staff of its community, who confirm the attendance"
    )]
    CommunityConfirmationRequired,
    #[error("the activity was cancelled")]
    ActivityCancelled,
    #[error("check-in is open from 30 minutes before the start until the end")]
    CheckInClosed,
    #[error("the check-in code is wrong, expired, or for another activity")]
    CheckCodeInvalid,
    #[error("you have no confirmed place at this activity")]
    NotSignedUp,
    #[error("already checked in")]
    AlreadyCheckedIn,
    #[error("not checked in")]
    NotCheckedIn,
    #[error("already checked out")]
    AlreadyCheckedOut,
    #[error("cannot {action} a help request that is {from}")]
    InvalidTransition { action: &'static str, from: String },
    #[error("not enough time credits: needed {needed}, available {available}")]
    InsufficientTimeCredits { needed: i64, available: i64 },
    #[error("the org's points budget cannot cover this: needed {needed}, available {available}")]
    BudgetExhausted { needed: i64, available: i64 },
    #[error("the request changed meanwhile; reload it")]
    Changed,
    #[error("ledger: {0}")]
    Ledger(LedgerError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<ValidationErrors> for TimebankError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<LedgerError> for TimebankError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::Insufficient {
                asset: Asset::TimeCredits,
                needed,
                available,
            } => Self::InsufficientTimeCredits { needed, available },
            // Points only ever leave an org budget here.
            LedgerError::Insufficient {
                asset: Asset::Points,
                needed,
                available,
            } => Self::BudgetExhausted { needed, available },
            LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}

impl From<TimebankError> for platform::Problem {
    fn from(err: TimebankError) -> Self {
        use platform::{Code, Problem};
        match err {
            TimebankError::Validation(errors) => Problem::validation(errors),
            TimebankError::NotFound(what) => Problem::not_found(what),
            TimebankError::Forbidden(why) => Problem::forbidden(why),
            TimebankError::ActivityFull => Problem::new(
                Code::ActivityFull,
                "Every place is taken. Sign up with {\"waitlist\": true} to join the waiting list.",
            ),
            e @ TimebankError::ActivityStarted => Problem::new(
                Code::ActivityStarted,
                format!("{e}; sign-ups can no longer change."),
            ),
            e @ TimebankError::ActivityNotEnded => {
                Problem::new(Code::ActivityNotEnded, format!("{e}; settle it afterwards."))
            }
            e @ TimebankError::ActivityCancelled => {
                Problem::new(Code::ActivityCancelled, e.to_string())
            }
            e @ TimebankError::CommunityConfirmationRequired => Problem::new(
                Code::CommunityConfirmationRequired,
                format!("{e}; ask them to settle it."),
            ),
            e @ TimebankError::CheckInClosed => Problem::new(Code::CheckInClosed, e.to_string()),
            e @ TimebankError::CheckCodeInvalid => {
                Problem::new(Code::CheckCodeInvalid, e.to_string())
            }
            e @ TimebankError::NotSignedUp => Problem::new(Code::NotSignedUp, e.to_string()),
            e @ TimebankError::AlreadyCheckedIn => {
                Problem::new(Code::AlreadyCheckedIn, e.to_string())
            }
            e @ TimebankError::NotCheckedIn => Problem::new(Code::NotCheckedIn, e.to_string()),
            e @ TimebankError::AlreadyCheckedOut => {
                Problem::new(Code::AlreadyCheckedOut, e.to_string())
            }
            e @ TimebankError::InvalidTransition { .. } => {
                Problem::invalid_transition(e.to_string())
            }
            TimebankError::InsufficientTimeCredits { needed, available } => Problem::new(
                Code::InsufficientTimeCredits,
                format!("Needs {needed} minutes of time credits; {available} available."),
            ),
            TimebankError::BudgetExhausted { needed, available } => Problem::new(
                Code::BudgetExhausted,
                format!("The org's points budget has {available} points; this needs {needed}. Nothing was paid."),
            ),
            e @ TimebankError::Changed => Problem::new(Code::Conflict, e.to_string()),
            TimebankError::Ledger(e) => e.into(),
            TimebankError::Db(e) => e.into(),
        }
    }
}
