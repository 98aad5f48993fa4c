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
