//! sea-orm models of the ledger tables.

pub mod account;
pub mod entry;
pub mod hold;
pub mod lot;
pub mod lot_draw;
pub mod transfer;
