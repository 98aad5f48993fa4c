//! Disclosure and supervision (信息公开): partners publish their finances and major matters
//! per period; a street (or the district) requires them for a period, and every active
//! partner under it that has not disclosed is listed as missing.

use super::resources::own_active_partner;
use super::scope::{list_paths, require_staff};
use crate::entity::{disclosure, disclosure_requirement};
use crate::lists::DisclosureKind;
use crate::PartnerError;
use ::merchant::entity::merchant;
use ::merchant::MerchantStatus;
use chrono::{DateTime, Utc};
use identity::entity::org;
use identity::service::orgs;
use identity::{Actor, OrgKind};
use platform::ids::new_id;
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashSet;

#[derive(Debug, Clone)]
pub struct NewDisclosure {
    pub kind: String,
    pub period: String,
    pub title: String,
    pub body: String,
    pub amount_fen: Option<i64>,
}

fn parse_kind(errors: &mut ValidationErrors, kind: &str) -> DisclosureKind {
    DisclosureKind::parse(kind).unwrap_or_else(|| {
        errors.add("kind", DisclosureKind::choices());
        DisclosureKind::Finance
    })
}

/// Periods are `YYYY`, `YYYY-Qn` or `YYYY-MM`.
fn parse_period(errors: &mut ValidationErrors, period: &str) -> String {
    let period = period.trim();
    let ok = match period.split_once('-') {
        None => period.len() == 4 && period.chars().all(|c| c.is_ascii_digit()),
        Some((year, part)) => {
            year.len() == 4
                && year.chars().all(|c| c.is_ascii_digit())
                && (matches!(part, "Q1" | "Q2" | "Q3" | "Q4")
                    || part.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m)) && part.len() == 2)
        }
    };
    if !ok {
        errors.add("period", "must be YYYY, YYYY-Qn or YYYY-MM");
    }
    period.to_owned()
}

pub async fn publish(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
    input: NewDisclosure,
    now: DateTime<Utc>,
) -> Result<disclosure::Model, PartnerError> {
    let partner = own_active_partner(conn, actor, partner_id).await?;
    let mut errors = ValidationErrors::new();
    let kind = parse_kind(&mut errors, &input.kind);
    let period = parse_period(&mut errors, &input.period);
    let title = name_field(&mut errors, "title", &input.title, 100);
    let body = text_field(&mut errors, "body", &input.body, 1, 10_000);
    if input.amount_fen.is_some_and(|a| a < 0) {
        errors.add("amount_fen", "must not be negative");
    }
    errors.into_result()?;
    let row = disclosure::Model {
        id: new_id(),
        partner_id: partner.id,
        kind: kind.as_str().to_owned(),
        period,
        title,
        body,
        amount_fen: input.amount_fen,
        created_by: actor.user_id.clone(),
        created_at: now,
    };
    disclosure::Entity::insert(disclosure::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    Ok(row)
}

/// An active partner's disclosures, newest first (public).
pub async fn of_partner(
    conn: &impl ConnectionTrait,
    partner_id: &str,
) -> Result<Vec<disclosure::Model>, PartnerError> {
    super::directory::profile(conn, partner_id).await?;
    Ok(disclosure::Entity::find()
        .filter(disclosure::Column::PartnerId.eq(partner_id))
        .order_by_desc(disclosure::Column::Id)
        .all(conn)
        .await?)
}

/// Street staff (or the district admin) require every active partner under their org to
/// disclose `kind` for `period`. Requiring it twice is the same requirement.
pub async fn require(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    org_id: &str,
    kind: &str,
    period: &str,
    now: DateTime<Utc>,
) -> Result<disclosure_requirement::Model, PartnerError> {
    require_staff(actor)?;
    let mut errors = ValidationErrors::new();
    let kind = parse_kind(&mut errors, kind);
    let period = parse_period(&mut errors, period);
    errors.into_result()?;
    let org = orgs::find(conn, org_id)
        .await?
        .filter(|o| {
            matches!(
                OrgKind::parse(&o.kind),
                Some(OrgKind::Street | OrgKind::District)
            )
        })
        .ok_or_else(|| ValidationErrors::single("org_id", "is not a street or the district"))?;
    if !actor.can_reach(&org.path) {
        return Err(PartnerError::Forbidden(
            "Only staff of that street or the district require its disclosures.",
        ));
    }
    if let Some(existing) = disclosure_requirement::Entity::find()
        .filter(disclosure_requirement::Column::OrgId.eq(org.id.as_str()))
        .filter(disclosure_requirement::Column::Kind.eq(kind.as_str()))
        .filter(disclosure_requirement::Column::Period.eq(period.as_str()))
        .one(conn)
        .await?
    {
        return Ok(existing);
    }
    let row = disclosure_requirement::Model {
        id: new_id(),
        org_id: org.id,
        org_path: org.path,
        kind: kind.as_str().to_owned(),
        period,
        created_by: actor.user_id.clone(),
        created_at: now,
    };
    disclosure_requirement::Entity::insert(disclosure_requirement::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    Ok(row)
}

/// A disclosure a partner owes and has not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub partner_id: String,
    pub partner_name: String,
    pub community_id: String,
    pub kind: String,
    pub period: String,
}

/// Every required disclosure not made by an active partner under the actor's scope (or the
/// org named), by partner name.
pub async fn missing(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    org_id: Option<&str>,
) -> Result<Vec<Missing>, PartnerError> {
    let paths = list_paths(conn, actor, org_id).await?;
    missing_under(conn, &paths).await
}

/// [`missing`] for the org paths given (the dashboard's figure).
pub async fn missing_under(
    conn: &impl ConnectionTrait,
    paths: &[String],
) -> Result<Vec<Missing>, PartnerError> {
    // Requirements that apply: made at one of these orgs, above them, or below them.
    let all_requirements = disclosure_requirement::Entity::find().all(conn).await?;
    let mut communities_in = Condition::any();
    for path in paths {
        communities_in = communities_in.add(org::Column::Path.starts_with(path.as_str()));
    }
    let communities: Vec<org::Model> = org::Entity::find()
        .filter(communities_in)
        .filter(org::Column::Kind.eq(OrgKind::Community.as_str()))
        .all(conn)
        .await?;
    let partners = merchant::Entity::find()
        .filter(merchant::Column::CommunityId.is_in(communities.iter().map(|c| c.id.clone())))
        .filter(merchant::Column::Status.eq(MerchantStatus::Active.as_str()))
        .order_by_asc(merchant::Column::Name)
        .all(conn)
        .await?;
    let done: HashSet<(String, String, String)> = disclosure::Entity::find()
        .filter(disclosure::Column::PartnerId.is_in(partners.iter().map(|p| p.id.clone())))
        .all(conn)
        .await?
        .into_iter()
        .map(|d| (d.partner_id, d.kind, d.period))
        .collect();
    let mut out = Vec::new();
    for partner in &partners {
        let Some(community) = communities.iter().find(|c| c.id == partner.community_id) else {
            continue;
        };
        for requirement in all_requirements
            .iter()
            .filter(|r| community.path.starts_with(&r.org_path))
        {
            let key = (
                partner.id.clone(),
                requirement.kind.clone(),
                requirement.period.clone(),
            );
            if !done.contains(&key) {
                out.push(Missing {
                    partner_id: partner.id.clone(),
                    partner_name: partner.name.clone(),
                    community_id: partner.community_id.clone(),
                    kind: requirement.kind.clone(),
                    period: requirement.period.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_years_quarters_or_months() {
        for good in ["2026", "2026-Q4", "2026-01", "2026-12"] {
            let mut errors = ValidationErrors::new();
            parse_period(&mut errors, good);
            assert!(errors.into_result().is_ok(), "{good}");
        }
        for bad in ["26", "2026-Q5", "2026-13", "2026-1", "Q4-2026", ""] {
            let mut errors = ValidationErrors::new();
            parse_period(&mut errors, bad);
            assert!(errors.into_result().is_err(), "{bad}");
        }
    }
}
