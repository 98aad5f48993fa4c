pub mod bookings;
pub mod gate;
pub mod lots;
pub mod usage;
