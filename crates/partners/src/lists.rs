//! The words of the three lists: need categories, resource types, problem severities and
//! where a need came from. Pure: parsing and the validation message of each.

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// "must be one of a, b, c": the message of a refused value.
            pub fn choices() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            }
        }
    };
}

word_enum!(
    /// What a need is about (需求清单 categories).
    NeedCategory {
        ElderlyCare => "elderly_care",
        Childcare => "childcare",
        Convenience => "convenience",
        PublicSpace => "public_space",
        Mediation => "mediation",
        Employment => "employment",
        Health => "health",
        Culture => "culture",
        Other => "other",
    }
);

word_enum!(
    /// What a partner brings (资源清单 types).
    ResourceType {
        Venue => "venue",
        Service => "service",
        Skill => "skill",
        Goods => "goods",
        Funding => "funding",
        VolunteerTime => "volunteer_time",
    }
);

word_enum!(
    /// How a need became known.
    NeedSource {
        Visit => "visit",
        Demand => "demand",
        Survey => "survey",
    }
);

word_enum!(
    /// How bad a problem is (问题清单).
    Severity {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
);

word_enum!(
    /// Where a need stands: raised, matched to a project, met by it, or dropped.
    NeedStatus {
        Open => "open",
        Matched => "matched",
        Met => "met",
        Dropped => "dropped",
    }
);

word_enum!(
    /// What a partner project does.
    ProjectKind {
        ElderlyCare => "elderly_care",
        Childcare => "childcare",
        Convenience => "convenience",
        SpaceOperation => "space_operation",
        Employment => "employment",
        Other => "other",
    }
);

word_enum!(
    /// How the community and the partner cooperate on a project.
    Mechanism {
        ServicePurchase => "service_purchase",
        SpaceSharing => "space_sharing",
        TimeBankPoints => "time_bank_points",
        ResourceExchange => "resource_exchange",
        PublicBenefit => "public_benefit",
    }
);

word_enum!(
    /// What a partner discloses.
    DisclosureKind {
        Finance => "finance",
        MajorMatter => "major_matter",
    }
);

word_enum!(
    /// What the community gives a partner back (双向赋能).
    EmpowermentKind {
        Publicity => "publicity",
        PolicyPriority => "policy_priority",
        FreeVenue => "free_venue",
        Incubation => "incubation",
        SkillsPlatform => "skills_platform",
        Honour => "honour",
    }
);

word_enum!(
    /// Why a partner leaves (退出机制).
    ExitReason {
        Violation => "violation",
        HarmToPublicInterest => "harm_to_public_interest",
        Inactive => "inactive",
        OwnRequest => "own_request",
    }
);

/// Resource types that usually serve a need of `category`, for matching when the
/// partner did not name the category itself.
pub fn types_serving(category: NeedCategory) -> &'static [ResourceType] {
    use NeedCategory as N;
    use ResourceType as R;
    match category {
        N::ElderlyCare => &[R::Service, R::VolunteerTime, R::Skill],
        N::Childcare => &[R::Service, R::Skill, R::Venue, R::VolunteerTime],
        N::Convenience => &[R::Service, R::Goods],
        N::PublicSpace => &[R::Venue, R::Funding],
        N::Mediation => &[R::Skill, R::VolunteerTime],
        N::Employment => &[R::Skill, R::Funding, R::Service],
        N::Health => &[R::Service, R::Skill],
        N::Culture => &[R::Venue, R::Skill, R::VolunteerTime],
        N::Other => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_strangers_are_refused() {
        for c in NeedCategory::ALL {
            assert_eq!(NeedCategory::parse(c.as_str()), Some(*c));
        }
        for t in ResourceType::ALL {
            assert_eq!(ResourceType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(NeedCategory::parse("Elderly_care"), None);
        assert_eq!(Severity::parse("urgent"), None);
        assert!(ResourceType::choices().ends_with("volunteer_time"));
    }

    #[test]
    fn every_category_but_other_has_serving_types() {
        for c in NeedCategory::ALL {
            assert_eq!(types_serving(*c).is_empty(), *c == NeedCategory::Other);
        }
    }
}
