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
