pub mod category;
pub mod demand;
pub mod demand_event;
