//! Points for parking (积分停车): lots with opening hours in Beijing time, bookings that never
//! overlap on a slot (a PostgreSQL exclusion constraint; SQLite's single writer), points held
//! at booking and settled at the gate, signed gate-camera webhooks, no-shows and overstays.

pub mod booking_state;
pub mod entity;
mod error;
pub mod migration;
pub mod open_hours;
pub mod plate;
pub mod pricing;
pub mod report;
pub mod service;

pub use booking_state::{BookingAction, BookingStatus};
pub use error::ParkingError;
