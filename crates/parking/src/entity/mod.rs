pub mod booking;
pub mod gate_event;
pub mod lot;
pub mod slot;
