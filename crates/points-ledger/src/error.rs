use crate::Asset;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("insufficient {asset:?}: needed {needed}, available {available}")]
    Insufficient {
        asset: Asset,
        needed: i64,
        available: i64,
    },
    #[error("the amount must be a positive integer, got {0}")]
    InvalidAmount(i64),
    #[error("a transfer needs two different accounts")]
    SameAccount,
    #[error("the accounts hold different assets")]
    AssetMismatch,
    #[error("idempotency key {0} was already used for a different request")]
    IdempotencyKeyReused(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("the hold is {0}, not pending")]
    HoldNotPending(String),
    #[error("the hold has expired")]
    HoldExpired,
    #[error("cannot post {requested} from a hold of {held}")]
    PostExceedsHold { requested: i64, held: i64 },
    #[error("the transfer was already reversed")]
    AlreadyReversed,
    #[error("a reversal cannot itself be reversed")]
    CannotReverseReversal,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<LedgerError> for platform::Problem {
    /// The ledger's own view; a context that knows better (a budget that ran out, not a
    /// wallet) maps `Insufficient` itself before it gets here.
    fn from(err: LedgerError) -> Self {
        use platform::{Code, Problem, ValidationErrors};
        match err {
            LedgerError::Insufficient {
                asset,
                needed,
                available,
            } => Problem::new(
                match asset {
                    Asset::Points => Code::InsufficientPoints,
                    Asset::TimeCredits => Code::InsufficientTimeCredits,
                },
                format!("Needed {needed}, only {available} available."),
            ),
            LedgerError::InvalidAmount(_) => {
                ValidationErrors::single("amount", "must be a positive whole number").into()
            }
            LedgerError::SameAccount => {
                ValidationErrors::single("to_user_id", "cannot be yourself").into()
            }
            LedgerError::IdempotencyKeyReused(_) => Problem::idempotency_key_reused(),
            LedgerError::NotFound(what) => Problem::not_found(what),
            LedgerError::Db(e) => e.into(),
            other => Problem::invalid_transition(other.to_string()),
        }
    }
}
