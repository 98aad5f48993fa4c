use crate::OrgKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    MerchantStaff,
    CommunityStaff,
    StreetStaff,
    DistrictAdmin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Resident,
        Self::MerchantStaff,
        Self::CommunityStaff,
        Self::StreetStaff,
        Self::DistrictAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::MerchantStaff => "merchant_staff",
            Self::CommunityStaff => "community_staff",
            Self::StreetStaff => "street_staff",
            Self::DistrictAdmin => "district_admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// For the government staff roles, the kind of org they are bound to. Residents and
    /// merchant staff are not bound to an org.
    pub fn staff_org_kind(self) -> Option<OrgKind> {
        match self {
            Self::CommunityStaff => Some(OrgKind::Community),
            Self::StreetStaff => Some(OrgKind::Street),
            Self::DistrictAdmin => Some(OrgKind::District),
            Self::Resident | Self::MerchantStaff => None,
        }
    }

    pub fn is_org_staff(self) -> bool {
        self.staff_org_kind().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_rank_upwards() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(Role::DistrictAdmin > Role::StreetStaff);
        assert!(Role::StreetStaff > Role::CommunityStaff);
        assert_eq!(Role::StreetStaff.staff_org_kind(), Some(OrgKind::Street));
        assert!(!Role::MerchantStaff.is_org_staff());
    }
}
