pub mod applications;
pub mod offers;
