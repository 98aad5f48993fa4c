//! How far a round of the background jobs reaches: the whole district, as every instance's
//! timer runs it, or one org's subtree. The simulator runs each street's rounds on that
//! street's own clock, so its streets need not wait for one another at every simulated hour
//! (docs/simulation.md); each context's job narrows its query to the subtree with
//! [`Reach::path`].

/// The part of the district a job round works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Everything due, wherever it is.
    Everywhere,
    /// Only what belongs to the org with this path (e.g. `/d/s/`) or below it.
    Under(String),
}

impl Reach {
    /// The org path every row in reach starts with, or `None` for the whole district.
    pub fn path(&self) -> Option<&str> {
        match self {
            Reach::Everywhere => None,
            Reach::Under(path) => Some(path),
        }
    }

    /// Whether the whole district is in reach: the jobs that are not kept per org (the
    /// ledger's holds and expiry, the purge, the WeChat sender) run only then.
    pub fn is_everywhere(&self) -> bool {
        matches!(self, Reach::Everywhere)
    }
}
