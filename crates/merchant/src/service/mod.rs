pub mod applications;
pub mod export;
pub mod members;
pub mod offers;
pub mod redemptions;
