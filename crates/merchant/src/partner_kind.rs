//! What kind of partner (社区合伙人) a merchant record is: the "1+3+N" scheme's three core
//! kinds and the extended ones, and its form. Every merchant is a partner; a partner that
//! sells no points services simply has no offers.

/// The kind of a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartnerKind {
    /// 驻社区企业, merchants included.
    Enterprise,
    /// 社会组织.
    SocialOrg,
    /// 居民能人.
    CapableResident,
    /// 党政机关、事业单位.
    PublicUnit,
    /// 公益团队.
    CharityTeam,
    /// 志愿队伍.
    VolunteerTeam,
}

impl PartnerKind {
    pub const ALL: [PartnerKind; 6] = [
        Self::Enterprise,
        Self::SocialOrg,
        Self::CapableResident,
        Self::PublicUnit,
        Self::CharityTeam,
        Self::VolunteerTeam,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enterprise => "enterprise",
            Self::SocialOrg => "social_org",
            Self::CapableResident => "capable_resident",
            Self::PublicUnit => "public_unit",
            Self::CharityTeam => "charity_team",
            Self::VolunteerTeam => "volunteer_team",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// What the district calls it (PRODUCT.md's 1+3+N), for spreadsheets and the page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Enterprise => "驻社区企业",
            Self::SocialOrg => "社会组织",
            Self::CapableResident => "居民能人",
            Self::PublicUnit => "党政机关、事业单位",
            Self::CharityTeam => "公益团队",
            Self::VolunteerTeam => "志愿队伍",
        }
    }

    /// The words of a validation message listing every kind.
    pub fn choices() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
        format!("must be one of {}", names.join(", "))
    }
}

/// `group` (团体型) or `independent` (独立型); stored as the merchant's `partner_type`.
pub fn parse_form(text: &str) -> Option<&'static str> {
    ["group", "independent"].into_iter().find(|f| *f == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_unknown_ones_are_refused() {
        for kind in PartnerKind::ALL {
            assert_eq!(PartnerKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(PartnerKind::parse("Enterprise"), None);
        assert_eq!(PartnerKind::parse(""), None);
        assert!(PartnerKind::choices().contains("volunteer_team"));
        assert_eq!(parse_form("group"), Some("group"));
        assert_eq!(parse_form("team"), None);
    }
}
