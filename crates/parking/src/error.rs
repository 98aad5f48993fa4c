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

impl From<ParkingError> for platform::Problem {
    fn from(err: ParkingError) -> Self {
        use platform::{Code, FieldError, Problem};
        match err {
            ParkingError::Validation(errors) => Problem::validation(errors),
            ParkingError::NotFound(what) => Problem::not_found(what),
            ParkingError::Forbidden(why) => Problem::forbidden(why),
            e @ ParkingError::OutsideOpenHours => Problem::new(
                Code::OutsideOpenHours,
                format!("{e}; see the lot's open_hours (Beijing time)."),
            ),
            ParkingError::InvalidPlate => Problem::new(
                Code::InvalidPlate,
                "Not a mainland licence plate, e.g. 晋B12345 or 晋BD12345.",
            )
            .with_errors(vec![FieldError {
                field: "plate".to_owned(),
                message: "is not a mainland licence plate".to_owned(),
            }]),
            e @ ParkingError::NoSlotAvailable => Problem::new(Code::NoSlotAvailable, e.to_string()),
            ParkingError::InsufficientPoints { needed, available } => Problem::new(
                Code::InsufficientPoints,
                format!("Needs {needed} points; {available} available."),
            ),
            ParkingError::UnpaidOverstay { points } => Problem::new(
                Code::UnpaidOverstay,
                format!("An earlier overstay of {points} points is unpaid; pay it with POST /api/v1/parking/bookings/{{id}}/pay first."),
            ),
            e @ ParkingError::InvalidTransition { .. } => Problem::invalid_transition(e.to_string()),
            e @ ParkingError::BadSignature => Problem::new(Code::GateSignatureInvalid, e.to_string()),
            e @ ParkingError::StaleEvent => Problem::new(Code::GateEventStale, e.to_string()),
            e @ ParkingError::Changed => Problem::new(Code::Conflict, e.to_string()),
            e @ ParkingError::OutsideCheckInWindow { .. } => {
                Problem::new(Code::OutsideCheckInWindow, e.to_string())
            }
            ParkingError::Ledger(e) => e.into(),
            ParkingError::Db(e) => e.into(),
        }
    }
}
