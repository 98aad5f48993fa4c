pub mod applications;
pub mod offers;
pub mod redemptions;
