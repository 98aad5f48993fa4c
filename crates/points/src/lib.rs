//! Points and time credits as people use them. The ledger (`points-ledger`) knows accounts
//! and transfers; this context knows who may move what: the district admin allocates from
//! the treasury, street staff to their communities, community and street staff award from
//! their budget to residents it serves, residents give time credits to each other.
//!
//! Each operation of the API is one function of [`use_cases`], taking the caller, a parsed
//! command (see [`values`]) and the connection of the unit of work it runs in.

pub mod error;
pub mod report;
pub mod use_cases;
pub mod values;

pub use error::PointsError;
