use serde::{Deserialize, Serialize};

/// What a ledger counts. The two never mix: a transfer moves one asset between two accounts
/// of that asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Asset {
    /// Integer points.
    Points,
    /// Integer minutes of volunteer service.
    TimeCredits,
}

impl Asset {
    pub const ALL: [Asset; 2] = [Self::Points, Self::TimeCredits];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Points => "points",
            Self::TimeCredits => "time_credits",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// Points earned by residents expire by lot; time credits never do.
    pub fn expires(self) -> bool {
        matches!(self, Self::Points)
    }
}
