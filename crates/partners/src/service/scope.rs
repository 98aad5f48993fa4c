//! Who reaches which entries: staff reach their org's subtree; an entry outside it is
//! answered as if it did not exist (404), so its existence does not leak.

use crate::PartnerError;
use identity::entity::org;
use identity::service::orgs;
use identity::{Actor, OrgKind};
use platform::ValidationErrors;
use sea_orm::ConnectionTrait;

/// The community `community_id`, which the staff `actor` must reach.
pub(crate) async fn community_in_reach(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    community_id: &str,
) -> Result<org::Model, PartnerError> {
    let community = orgs::find(conn, community_id)
        .await?
        .filter(|o| o.kind == OrgKind::Community.as_str())
        .ok_or_else(|| ValidationErrors::single("community_id", "is not a community"))?;
    if !actor.can_reach(&community.path) {
        return Err(PartnerError::NotFound("community"));
    }
    Ok(community)
}

/// The org paths a staff list covers: the org of `org_id` when given (which the actor must
/// reach), else every org the actor is staff of.
pub(crate) async fn list_paths(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    org_id: Option<&str>,
) -> Result<Vec<String>, PartnerError> {
    require_staff(actor)?;
    match org_id {
        Some(id) => {
            let org = orgs::find(conn, id)
                .await?
                .ok_or_else(|| ValidationErrors::single("org_id", "no such org"))?;
            if !actor.can_reach(&org.path) {
                return Err(PartnerError::Forbidden("That org is outside your scope."));
            }
            Ok(vec![org.path])
        }
        None => Ok(actor
            .staff_scopes()
            .map(|(_, org)| org.path.clone())
            .collect()),
    }
}

pub(crate) fn require_staff(actor: &Actor) -> Result<(), PartnerError> {
    if actor.is_org_staff() {
        Ok(())
    } else {
        Err(PartnerError::Forbidden(
            "Only street and community staff keep the community's lists.",
        ))
    }
}

/// An entry at `path` that the staff `actor` must reach; otherwise it does not exist.
pub(crate) fn reach(actor: &Actor, path: &str, what: &'static str) -> Result<(), PartnerError> {
    if actor.is_org_staff() && actor.can_reach(path) {
        Ok(())
    } else {
        Err(PartnerError::NotFound(what))
    }
}

/// The partner `partner_id` with its community's org path, which the staff `actor` must
/// reach; otherwise it does not exist.
pub(crate) async fn partner_in_reach(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
) -> Result<(::merchant::entity::merchant::Model, String), PartnerError> {
    use sea_orm::EntityTrait;
    let partner = ::merchant::entity::merchant::Entity::find_by_id(partner_id.to_owned())
        .one(conn)
        .await?
        .ok_or(PartnerError::NotFound("partner"))?;
    let path = orgs::find(conn, &partner.community_id)
        .await?
        .map(|c| c.path)
        .ok_or(PartnerError::NotFound("partner"))?;
    reach(actor, &path, "partner")?;
    Ok((partner, path))
}

/// Rows whose org path `column` lies under one of `paths`.
pub(crate) fn under(paths: &[String], column: impl sea_orm::ColumnTrait) -> sea_orm::Condition {
    let mut any = sea_orm::Condition::any();
    for path in paths {
        any = any.add(column.starts_with(path.as_str()));
    }
    any
}

/// One page of `query`, newest first by the id `column`, after the cursor `before`.
pub(crate) async fn page<E, M>(
    conn: &impl ConnectionTrait,
    query: sea_orm::Select<E>,
    column: E::Column,
    limit: u64,
    before: Option<&str>,
    key_of: impl Fn(&M) -> String,
) -> Result<(Vec<M>, Option<String>), PartnerError>
where
    E: sea_orm::EntityTrait<Model = M>,
    M: sea_orm::FromQueryResult + Send + Sync,
{
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = query;
    if let Some(before) = before {
        query = query.filter(column.lt(before));
    }
    let rows = query
        .order_by_desc(column)
        .limit(limit + 1)
        .all(conn)
        .await?;
    Ok(platform::paging::split_page(rows, limit, key_of))
}
