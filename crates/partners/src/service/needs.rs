//! The 需求清单: needs raised by community staff (from visits, surveys, or a cluster of
//! residents' demands, whose links are kept), with status and history.

use super::history::{self, Change};
use super::scope::{community_in_reach, list_paths, page, reach, require_staff, under};
use crate::entity::{need, need_demand};
use crate::lists::{NeedCategory, NeedSource, NeedStatus};
use crate::PartnerError;
use chrono::{DateTime, Utc};
use identity::Actor;
use platform::ids::new_id;
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

/// A need as staff write it.
#[derive(Debug, Clone)]
pub struct NewNeed {
    pub community_id: String,
    pub category: String,
    pub title: String,
    pub description: String,
    pub households: Option<i64>,
    pub source: String,
    pub demand_ids: Vec<String>,
}

/// How many demands one need may be raised from.
const MAX_DEMANDS: usize = 100;

pub async fn raise(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewNeed,
    now: DateTime<Utc>,
) -> Result<(need::Model, Vec<String>), PartnerError> {
    require_staff(actor)?;
    let mut errors = ValidationErrors::new();
    let title = name_field(&mut errors, "title", &input.title, 100);
    let description = text_field(&mut errors, "description", &input.description, 0, 2000);
    let category = NeedCategory::parse(&input.category);
    if category.is_none() {
        errors.add("category", NeedCategory::choices());
    }
    let source = NeedSource::parse(&input.source);
    if source.is_none() {
        errors.add("source", NeedSource::choices());
    }
    if input
        .households
        .is_some_and(|h| !(1..=1_000_000).contains(&h))
    {
        errors.add("households", "must be between 1 and 1000000");
    }
    let mut demand_ids = input.demand_ids.clone();
    demand_ids.sort();
    demand_ids.dedup();
    if demand_ids.len() > MAX_DEMANDS {
        errors.add("demand_ids", format!("at most {MAX_DEMANDS} demands"));
    }
    if source == Some(NeedSource::Demand) && demand_ids.is_empty() {
        errors.add("demand_ids", "a need raised from demands names them");
    }
    errors.into_result()?;
    let community = community_in_reach(conn, actor, &input.community_id).await?;
    if !demand_ids.is_empty() {
        let found = demands::entity::demand::Entity::find()
            .filter(demands::entity::demand::Column::Id.is_in(demand_ids.clone()))
            .filter(demands::entity::demand::Column::CommunityId.eq(community.id.as_str()))
            .count(conn)
            .await?;
        if found != demand_ids.len() as u64 {
            return Err(ValidationErrors::single(
                "demand_ids",
                "every demand must exist and belong to this community",
            )
            .into());
        }
    }
    let row = need::Model {
        id: new_id(),
        community_id: community.id,
        org_path: community.path,
        category: category.map_or("other", |c| c.as_str()).to_owned(),
        title,
        description,
        households: input.households,
        source: source.map_or("visit", |s| s.as_str()).to_owned(),
        status: NeedStatus::Open.as_str().to_owned(),
        created_by: actor.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    need::Entity::insert(need::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    if !demand_ids.is_empty() {
        need_demand::Entity::insert_many(demand_ids.iter().map(|demand_id| {
            need_demand::ActiveModel {
                need_id: Set(row.id.clone()),
                demand_id: Set(demand_id.clone()),
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    let change = Change {
        list: "need",
        item_id: &row.id,
        action: "raise",
        from: None,
        to: &row.status,
        note: "",
    };
    history::record(conn, change, &actor.user_id, now).await?;
    Ok((row, demand_ids))
}

/// Filters of the staff list.
#[derive(Debug, Clone, Default)]
pub struct NeedFilter {
    pub org_id: Option<String>,
    pub category: Option<NeedCategory>,
    pub status: Option<NeedStatus>,
}

/// Needs under the actor's scope (or the org named), newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    filter: &NeedFilter,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<need::Model>, Option<String>), PartnerError> {
    let paths = list_paths(conn, actor, filter.org_id.as_deref()).await?;
    let mut query = need::Entity::find().filter(under(&paths, need::Column::OrgPath));
    if let Some(category) = filter.category {
        query = query.filter(need::Column::Category.eq(category.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(need::Column::Status.eq(status.as_str()));
    }
    page(
        conn,
        query,
        need::Column::Id,
        limit,
        before,
        |r: &need::Model| r.id.clone(),
    )
    .await
}

/// One need in the actor's scope, with the demands it was raised from.
pub async fn find(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    need_id: &str,
) -> Result<(need::Model, Vec<String>), PartnerError> {
    let row = need::Entity::find_by_id(need_id.to_owned())
        .one(conn)
        .await?
        .ok_or(PartnerError::NotFound("need"))?;
    reach(actor, &row.org_path, "need")?;
    let demand_ids = need_demand::Entity::find()
        .filter(need_demand::Column::NeedId.eq(need_id))
        .order_by_asc(need_demand::Column::DemandId)
        .all(conn)
        .await?
        .into_iter()
        .map(|link| link.demand_id)
        .collect();
    Ok((row, demand_ids))
}

/// Moves a need to `to` for `action`, when the move is allowed from where it stands.
pub async fn change_status(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    need_id: &str,
    action: NeedAction,
    note: &str,
    now: DateTime<Utc>,
) -> Result<need::Model, PartnerError> {
    let (mut row, _) = find(conn, actor, need_id).await?;
    let from = NeedStatus::parse(&row.status).unwrap_or(NeedStatus::Open);
    let to = action.from(from).ok_or(PartnerError::InvalidTransition {
        action: action.as_str(),
        from: row.status.clone(),
    })?;
    let moved = need::Entity::update_many()
        .col_expr(need::Column::Status, to.as_str().into())
        .col_expr(need::Column::UpdatedAt, now.into())
        .filter(need::Column::Id.eq(need_id))
        .filter(need::Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(PartnerError::InvalidTransition {
            action: action.as_str(),
            from: "changing".to_owned(),
        });
    }
    let change = Change {
        list: "need",
        item_id: need_id,
        action: action.as_str(),
        from: Some(from.as_str()),
        to: to.as_str(),
        note,
    };
    history::record(conn, change, &actor.user_id, now).await?;
    row.status = to.as_str().to_owned();
    row.updated_at = now;
    Ok(row)
}

/// What may happen to a need: staff drop one that is no longer wanted or reopen it; a
/// project serving it matches it, and its close marks it met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedAction {
    Drop,
    Reopen,
    Match,
    Meet,
}

impl NeedAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Drop => "drop",
            Self::Reopen => "reopen",
            Self::Match => "match",
            Self::Meet => "meet",
        }
    }

    /// The status after this action from `from`, or `None` when it is not allowed.
    pub fn from(self, from: NeedStatus) -> Option<NeedStatus> {
        use NeedStatus as S;
        match (self, from) {
            (Self::Drop, S::Open | S::Matched) => Some(S::Dropped),
            (Self::Reopen, S::Dropped) => Some(S::Open),
            (Self::Match, S::Open) => Some(S::Matched),
            (Self::Meet, S::Open | S::Matched) => Some(S::Met),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_moves_follow_the_table_and_every_other_is_refused() {
        use NeedAction as A;
        use NeedStatus as S;
        let allowed = [
            (A::Drop, S::Open, S::Dropped),
            (A::Drop, S::Matched, S::Dropped),
            (A::Reopen, S::Dropped, S::Open),
            (A::Match, S::Open, S::Matched),
            (A::Meet, S::Open, S::Met),
            (A::Meet, S::Matched, S::Met),
        ];
        for action in [A::Drop, A::Reopen, A::Match, A::Meet] {
            for from in NeedStatus::ALL {
                let expected = allowed
                    .iter()
                    .find(|(a, f, _)| *a == action && f == from)
                    .map(|(_, _, to)| *to);
                assert_eq!(action.from(*from), expected, "{action:?} from {from:?}");
            }
        }
    }
}
