//! The tables of the partner scheme.

pub mod disclosure;
pub mod disclosure_requirement;
pub mod empowerment;
pub mod evaluation;
pub mod evaluation_result;
pub mod list_event;
pub mod need;
pub mod need_demand;
pub mod problem;
pub mod project;
pub mod project_goal;
pub mod project_need;
pub mod rating;
pub mod resource;
pub mod space;
pub mod space_booking;
