//! Filing demands and reading them: residents see their own, staff those in their orgs.

use crate::entity::{category, demand, demand_event};
use crate::rules::{self, Location, MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use crate::service::{notify, rollup};
use crate::state_machine::DemandState;
use crate::DemandError;
use chrono::{DateTime, Duration, Utc};
use identity::entity::org;
use identity::{Actor, OrgKind, Role};
use platform::ids::new_id;
use platform::validation::text_field;
use platform::ValidationErrors;
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// Share of the SLA time after which the handler is warned.
pub const WARN_AT_FRACTION: f64 = 0.75;

#[derive(Debug, Clone)]
pub struct SubmitInput {
    pub category_id: String,
    pub title: String,
    pub description: String,
    pub community_id: String,
    pub location: Option<Location>,
    pub photos: Vec<String>,
}

/// The district, street and community ids along a community's path `/d/s/c/`.
pub(crate) fn levels(community: &org::Model) -> Option<(String, String)> {
    let segments: Vec<&str> = community
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        [district, .., street, _community] => Some(((*district).to_owned(), (*street).to_owned())),
        _ => None,
    }
}

pub(crate) fn photos_json(photos: &[String]) -> String {
    serde_json::to_string(photos).unwrap_or_else(|_| "[]".to_owned())
}

pub fn photos_of(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub async fn submit(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: SubmitInput,
    now: DateTime<Utc>,
) -> Result<demand::Model, DemandError> {
    let mut errors = ValidationErrors::new();
    let title = text_field(&mut errors, "title", &input.title, 1, MAX_TITLE_CHARS);
    let description = text_field(
        &mut errors,
        "description",
        &input.description,
        1,
        MAX_TEXT_CHARS,
    );
    let location = rules::location(&mut errors, input.location);
    let photos = rules::photos(&mut errors, "photos", &input.photos);
    let category = category::Entity::find_by_id(input.category_id.clone())
        .one(conn)
        .await?
        .filter(|c| c.active);
    if category.is_none() {
        errors.add("category_id", "is not an active demand category");
    }
    let community = identity::service::orgs::by_id(conn, &input.community_id)
        .await?
        .filter(|c| c.kind == OrgKind::Community.as_str());
    let levels = community.as_ref().and_then(levels);
    if levels.is_none() {
        errors.add("community_id", "is not a community");
    }
    errors.into_result()?;
    let (Some(category), Some(community), Some((district_id, street_id))) =
        (category, community, levels)
    else {
        return Err(DemandError::NotFound("category or community"));
    };

    let sla = Duration::hours(i64::from(category.sla_hours));
    let warn_after = Duration::seconds((sla.num_seconds() as f64 * WARN_AT_FRACTION) as i64);
    let id = new_id();
    let created = demand::ActiveModel {
        sample_slot: Set(rollup::sample_slot(&id)),
        id: Set(id),
        resident_id: Set(actor.user_id.clone()),
        category_id: Set(category.id),
        title: Set(title),
        description: Set(description),
        district_id: Set(district_id),
        street_id: Set(street_id),
        community_id: Set(community.id.clone()),
        community_path: Set(community.path.clone()),
        org_id: Set(community.id),
        org_path: Set(community.path),
        handler_id: Set(None),
        status: Set(DemandState::Submitted.as_str().to_owned()),
        location_lat: Set(location.as_ref().map(|l| l.lat)),
        location_lng: Set(location.as_ref().map(|l| l.lng)),
        location_address: Set(location.map(|l| l.address)),
        photos: Set(photos_json(&photos)),
        resolution: Set(None),
        submitted_at: Set(now),
        due_at: Set(now + sla),
        warn_at: Set(now + warn_after),
        accepted_at: Set(None),
        first_resolved_at: Set(None),
        resolved_at: Set(None),
        closed_at: Set(None),
        handling_seconds: Set(None),
        resolved_on_time: Set(None),
        sla_warned_at: Set(None),
        escalated_at: Set(None),
        rating_satisfied: Set(None),
        rating_score: Set(None),
        rating_comment: Set(None),
        rated_at: Set(None),
        version: Set(1),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    rollup::record(conn, None, Some(&created)).await?;
    record_event(
        conn,
        NewEvent {
            demand_id: &created.id,
            action: "submit",
            from: None,
            to: DemandState::Submitted,
            actor_id: Some(&actor.user_id),
            note: "",
            photos: &photos,
            internal: false,
        },
        now,
    )
    .await?;
    let staff = notify::staff_of(conn, &created.org_id, Role::CommunityStaff).await?;
    notify::staff(
        conn,
        &staff,
        "demand_submitted",
        "新诉求",
        &format!("居民提交了诉求「{}」，请及时受理。", created.title),
        &created.id,
        now,
    )
    .await?;
    Ok(created)
}

pub(crate) struct NewEvent<'a> {
    pub demand_id: &'a str,
    pub action: &'a str,
    pub from: Option<DemandState>,
    pub to: DemandState,
    pub actor_id: Option<&'a str>,
    pub note: &'a str,
    pub photos: &'a [String],
    pub internal: bool,
}

pub(crate) async fn record_event(
    conn: &impl ConnectionTrait,
    event: NewEvent<'_>,
    now: DateTime<Utc>,
) -> Result<demand_event::Model, DemandError> {
    Ok(demand_event::ActiveModel {
        id: Set(new_id()),
        demand_id: Set(event.demand_id.to_owned()),
        action: Set(event.action.to_owned()),
        from_status: Set(event.from.map(|s| s.as_str().to_owned())),
        to_status: Set(event.to.as_str().to_owned()),
        actor_id: Set(event.actor_id.map(str::to_owned)),
        note: Set(event.note.to_owned()),
        photos: Set(photos_json(event.photos)),
        internal: Set(event.internal),
        at: Set(now),
    }
    .insert(conn)
    .await?)
}

/// How the caller may see a demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Its resident: public events only.
    Resident,
    /// Staff over its community or its owning org: every event.
    Staff,
}

/// Staff see a demand while they reach the community it is in or the org that owns it.
pub fn staff_sees(actor: &Actor, demand: &demand::Model) -> bool {
    actor.can_reach(&demand.community_path) || actor.can_reach(&demand.org_path)
}

pub fn view_of(actor: &Actor, demand: &demand::Model) -> Option<View> {
    if staff_sees(actor, demand) {
        Some(View::Staff)
    } else if actor.user_id == demand.resident_id {
        Some(View::Resident)
    } else {
        None
    }
}

/// The demand and its events as the caller may see them; others' demands are not found.
pub async fn find_for(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
) -> Result<(demand::Model, View, Vec<demand_event::Model>), DemandError> {
    let demand = demand::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or(DemandError::NotFound("demand"))?;
    let view = view_of(actor, &demand).ok_or(DemandError::NotFound("demand"))?;
    let mut query = demand_event::Entity::find()
        .filter(demand_event::Column::DemandId.eq(id))
        .order_by_asc(demand_event::Column::Id);
    if view == View::Resident {
        query = query.filter(demand_event::Column::Internal.eq(false));
    }
    let events = query.all(conn).await?;
    Ok((demand, view, events))
}

/// The resident's own demands, newest first.
pub async fn list_own(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<demand::Model>, Option<String>), DemandError> {
    let mut query = demand::Entity::find().filter(demand::Column::ResidentId.eq(&actor.user_id));
    if let Some(before) = before {
        query = query.filter(demand::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(demand::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    Ok(platform::paging::split_page(rows, limit, |d| d.id.clone()))
}

#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    pub status: Option<DemandState>,
    /// Open and past `due_at` (true), or everything else (false).
    pub overdue: Option<bool>,
    pub escalated: Option<bool>,
    pub category_id: Option<String>,
    /// Narrow to one org of the caller's subtree.
    pub org_id: Option<String>,
    pub handler_id: Option<String>,
}

const OPEN: [&str; 3] = ["submitted", "accepted", "in_progress"];

/// Demands in the caller's orgs, newest first.
pub async fn list_for_staff(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    filter: StaffFilter,
    now: DateTime<Utc>,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<demand::Model>, Option<String>), DemandError> {
    if !actor.is_org_staff() {
        return Err(DemandError::Forbidden(
            "Only street and community staff list demands.",
        ));
    }
    let scope_paths: Vec<String> = match &filter.org_id {
        Some(org_id) => {
            let org = identity::service::orgs::by_id(conn, org_id)
                .await?
                .filter(|o| actor.can_reach(&o.path))
                .ok_or_else(|| {
                    DemandError::from(ValidationErrors::single(
                        "org_id",
                        "is not an org in your scope",
                    ))
                })?;
            vec![org.path]
        }
        None => actor.staff_scopes().map(|(_, o)| o.path.clone()).collect(),
    };
    let mut scope = Condition::any();
    for path in &scope_paths {
        scope = scope
            .add(demand::Column::CommunityPath.starts_with(path.as_str()))
            .add(demand::Column::OrgPath.starts_with(path.as_str()));
    }
    let mut query = demand::Entity::find().filter(scope);
    if let Some(status) = filter.status {
        query = query.filter(demand::Column::Status.eq(status.as_str()));
    }
    match filter.overdue {
        Some(true) => {
            query = query
                .filter(demand::Column::Status.is_in(OPEN))
                .filter(demand::Column::DueAt.lt(now));
        }
        Some(false) => {
            query = query.filter(
                Condition::any()
                    .add(demand::Column::Status.is_not_in(OPEN))
                    .add(demand::Column::DueAt.gte(now)),
            );
        }
        None => {}
    }
    match filter.escalated {
        Some(true) => query = query.filter(demand::Column::EscalatedAt.is_not_null()),
        Some(false) => query = query.filter(demand::Column::EscalatedAt.is_null()),
        None => {}
    }
    if let Some(category_id) = &filter.category_id {
        query = query.filter(demand::Column::CategoryId.eq(category_id.as_str()));
    }
    if let Some(handler_id) = &filter.handler_id {
        query = query.filter(demand::Column::HandlerId.eq(handler_id.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(demand::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(demand::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    Ok(platform::paging::split_page(rows, limit, |d| d.id.clone()))
}

/// Whether a demand is open and past its due time.
pub fn is_overdue(demand: &demand::Model, now: DateTime<Utc>) -> bool {
    DemandState::parse(&demand.status).is_some_and(DemandState::is_open) && demand.due_at < now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(path: &str) -> org::Model {
        org::Model {
            id: "c".into(),
            kind: "community".into(),
            name: "c".into(),
            parent_id: None,
            path: path.into(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_community_path_names_its_district_and_street() {
        assert_eq!(
            levels(&org("/d/s/c/")),
            Some(("d".to_owned(), "s".to_owned()))
        );
        assert_eq!(levels(&org("/d/c/")), None);
    }

    #[test]
    fn photos_round_trip_through_json() {
        let photos = vec![
            "https://a.cn/1.jpg".to_owned(),
            "https://a.cn/二.jpg".to_owned(),
        ];
        assert_eq!(photos_of(&photos_json(&photos)), photos);
        assert!(photos_of("not json").is_empty());
    }
}
