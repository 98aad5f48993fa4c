//! Ledger use cases. Each takes the caller's connection or transaction.

pub mod accounts;
pub mod batch;
mod deferred;
pub mod expiry;
pub mod holds;
mod lots;
pub mod reversal;
pub mod statement;
pub mod transfers;
pub mod verify;
mod writes;

pub use accounts::{account_by_ref, ensure_account, Balance};
pub use transfers::{transfer, Posted, TransferCode, TransferRequest};

use sha2::{Digest, Sha256};

/// A stable fingerprint of a request's fields, stored beside its idempotency key.
pub(crate) fn request_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
