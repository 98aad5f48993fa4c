//! The authenticated caller, as every use case receives it.

use crate::{OrgKind, Role};
use serde::{Deserialize, Serialize};

/// The part of an org a scope check needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRef {
    pub id: String,
    pub kind: OrgKind,
    /// Materialised path, `/<root>/.../<id>/`.
    pub path: String,
}

/// The district at the root of an org's materialised path (`/<district>/...`).
pub fn district_of(path: &str) -> Option<&str> {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
}

impl OrgRef {
    /// True when `other` is this org or lies below it.
    pub fn contains(&self, other_path: &str) -> bool {
        other_path.starts_with(&self.path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Binding {
    /// A government staff role over an org's subtree.
    Org { role: Role, org: OrgRef },
    /// Staff of a merchant.
    Merchant { merchant_id: String },
}

/// Serialisable so that it can be cached per user (`AuthService::authenticate`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub session_id: String,
    /// Logged in with WeChat at least once (has an openid).
    pub is_resident: bool,
    pub community_id: Option<String>,
    pub bindings: Vec<Binding>,
}

impl Actor {
    /// All roles, sorted, without repeats.
    pub fn roles(&self) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .bindings
            .iter()
            .map(|b| match b {
                Binding::Org { role, .. } => *role,
                Binding::Merchant { .. } => Role::MerchantStaff,
            })
            .collect();
        if self.is_resident {
            roles.push(Role::Resident);
        }
        roles.sort();
        roles.dedup();
        roles
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// The org-staff bindings (district admin, street and community staff).
    pub fn staff_scopes(&self) -> impl Iterator<Item = (Role, &OrgRef)> {
        self.bindings.iter().filter_map(|b| match b {
            Binding::Org { role, org } => Some((*role, org)),
            Binding::Merchant { .. } => None,
        })
    }

    pub fn is_org_staff(&self) -> bool {
        self.staff_scopes().next().is_some()
    }

    /// Refuses (403, with `why`) anyone who is not district, street or community staff.
    pub fn require_org_staff(&self, why: &'static str) -> Result<(), crate::IdentityError> {
        if self.is_org_staff() {
            Ok(())
        } else {
            Err(crate::IdentityError::Forbidden(why))
        }
    }

    /// The highest staff role the actor holds over the org at `org_path`, if any.
    pub fn staff_role_over(&self, org_path: &str) -> Option<Role> {
        self.staff_scopes()
            .filter(|(_, org)| org.contains(org_path))
            .map(|(role, _)| role)
            .max()
    }

    /// True when the actor is staff of an org that contains `org_path`.
    pub fn can_reach(&self, org_path: &str) -> bool {
        self.staff_role_over(org_path).is_some()
    }

    pub fn merchant_ids(&self) -> Vec<String> {
        self.bindings
            .iter()
            .filter_map(|b| match b {
                Binding::Merchant { merchant_id } => Some(merchant_id.clone()),
                Binding::Org { .. } => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn street_staff() -> Actor {
        Actor {
            user_id: "u".into(),
            session_id: "s".into(),
            is_resident: false,
            community_id: None,
            bindings: vec![Binding::Org {
                role: Role::StreetStaff,
                org: OrgRef {
                    id: "st".into(),
                    kind: OrgKind::Street,
                    path: "/d/st/".into(),
                },
            }],
        }
    }

    #[test]
    fn staff_reach_their_subtree_only() {
        let actor = street_staff();
        assert!(actor.can_reach("/d/st/"));
        assert!(actor.can_reach("/d/st/c1/"));
        assert!(!actor.can_reach("/d/"));
        assert!(!actor.can_reach("/d/other/"));
        // A sibling whose id starts with the same characters is not inside.
        assert!(!actor.can_reach("/d/st2/"));
        assert_eq!(actor.staff_role_over("/d/st/c1/"), Some(Role::StreetStaff));
    }

    #[test]
    fn the_district_is_the_first_path_segment() {
        assert_eq!(district_of("/d/st/c1/"), Some("d"));
        assert_eq!(district_of("/d/"), Some("d"));
        assert_eq!(district_of("/"), None);
    }

    #[test]
    fn roles_include_resident_and_merchant_staff() {
        let mut actor = street_staff();
        actor.is_resident = true;
        actor.bindings.push(Binding::Merchant {
            merchant_id: "m".into(),
        });
        assert_eq!(
            actor.roles(),
            vec![Role::Resident, Role::MerchantStaff, Role::StreetStaff]
        );
        assert_eq!(actor.merchant_ids(), vec!["m".to_owned()]);
    }
}
