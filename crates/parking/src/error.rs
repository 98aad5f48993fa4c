use platform::ValidationErrors;
use points_ledger::LedgerError;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum ParkingError {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the lot is not open for the whole of the booking")]
    OutsideOpenHours,
    #[error("not a mainland licence plate")]
    InvalidPlate,
    #[error("no slot is free for that time")]
    NoSlotAvailable,
    #[error("insufficient points: needed {needed}, available {available}")]
    InsufficientPoints { needed: i64, available: i64 },
    #[error("an earlier overstay of {points} points is unpaid")]
    UnpaidOverstay { points: i64 },
    #[error("cannot {action} a booking that is {from}")]
    InvalidTransition { action: &'static str, from: String },
    #[error("the gate event's signature is missing or wrong")]
    BadSignature,
    #[error("the gate event's time is more than 5 minutes from the server's clock")]
    StaleEvent,
    #[error("a booking can be checked in from {opens_at} until it ends at {ends_at}")]
    OutsideCheckInWindow {
        opens_at: chrono::DateTime<chrono::Utc>,
        ends_at: chrono::DateTime<chrono::Utc>,
    },
    #[error("the booking changed meanwhile")]
    Changed,
    #[error("ledger: {0}")]
    Ledger(LedgerError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<ValidationErrors> for ParkingError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<LedgerError> for ParkingError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::Insufficient {
                needed, available, ..
            } => Self::InsufficientPoints { needed, available },
            LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}
