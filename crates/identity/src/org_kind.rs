use serde::{Deserialize, Serialize};

/// The levels of the org tree, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    District,
    Street,
    Community,
    Compound,
}

impl OrgKind {
    pub const ALL: [OrgKind; 4] = [
        Self::District,
        Self::Street,
        Self::Community,
        Self::Compound,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Street => "street",
            Self::Community => "community",
            Self::Compound => "compound",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The kind an org of this kind must hang under; `None` for the root.
    pub fn parent_kind(self) -> Option<Self> {
        match self {
            Self::District => None,
            Self::Street => Some(Self::District),
            Self::Community => Some(Self::Street),
            Self::Compound => Some(Self::Community),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_nest_one_level_at_a_time() {
        for kind in OrgKind::ALL {
            assert_eq!(OrgKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(OrgKind::parse("city"), None);
        assert_eq!(OrgKind::Compound.parent_kind(), Some(OrgKind::Community));
        assert_eq!(OrgKind::District.parent_kind(), None);
    }
}
