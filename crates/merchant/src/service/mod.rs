pub mod applications;
pub mod members;
pub mod offers;
pub mod redemptions;
