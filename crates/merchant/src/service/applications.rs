//! Applications, review and the rest of a merchant's lifecycle, each step audited.

use crate::entity::{merchant, merchant_event, merchant_member};
use crate::{MerchantAction, MerchantError, MerchantStatus};
use chrono::{DateTime, Utc};
use identity::entity::{org, role_binding};
use identity::{Actor, OrgKind, Role};
use platform::ids::new_id;
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// A merchant application as submitted.
#[derive(Debug, Clone)]
pub struct ApplicationInput {
    pub name: String,
    pub category: String,
    pub license_no: String,
    pub address: String,
    pub contact_phone: String,
    pub community_id: String,
    pub description: String,
    /// The form: `group` or `independent` (default).
    pub partner_type: Option<String>,
    /// The partner kind; `enterprise` (a merchant) when not given.
    pub kind: Option<String>,
}

/// Mainland mobile (1xxxxxxxxxx) or a landline with area code (0xxx-xxxxxxx).
fn is_phone(value: &str) -> bool {
    let digits: String = value.chars().filter(|c| *c != '-' && *c != ' ').collect();
    digits.chars().all(|c| c.is_ascii_digit())
        && ((digits.len() == 11 && digits.starts_with('1'))
            || ((10..=12).contains(&digits.len()) && digits.starts_with('0')))
}

pub async fn apply(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: ApplicationInput,
    now: DateTime<Utc>,
) -> Result<merchant::Model, MerchantError> {
    let mut errors = ValidationErrors::new();
    let name = name_field(&mut errors, "name", &input.name, 100);
    let category = name_field(&mut errors, "category", &input.category, 30);
    let license_no = text_field(&mut errors, "license_no", &input.license_no, 1, 40);
    let address = text_field(&mut errors, "address", &input.address, 1, 200);
    let contact_phone = input.contact_phone.trim().to_owned();
    if !is_phone(&contact_phone) {
        errors.add(
            "contact_phone",
            "must be a mainland mobile or landline number",
        );
    }
    let description = text_field(&mut errors, "description", &input.description, 0, 2000);
    let partner_type = input
        .partner_type
        .unwrap_or_else(|| "independent".to_owned());
    if crate::partner_kind::parse_form(&partner_type).is_none() {
        errors.add("form", "must be group or independent");
    }
    let kind = match input.kind.as_deref() {
        None => Some(crate::PartnerKind::Enterprise),
        Some(text) => crate::PartnerKind::parse(text),
    };
    if kind.is_none() {
        errors.add("kind", crate::PartnerKind::choices());
    }
    let community = identity::service::orgs::by_id(conn, &input.community_id).await?;
    if community.is_none_or(|c| c.kind != OrgKind::Community.as_str()) {
        errors.add("community_id", "is not a community");
    }
    errors.into_result()?;
    let merchant = merchant::ActiveModel {
        id: Set(new_id()),
        name: Set(name),
        category: Set(category),
        license_no: Set(license_no),
        address: Set(address),
        contact_phone: Set(contact_phone),
        community_id: Set(input.community_id),
        description: Set(description),
        partner_type: Set(partner_type),
        kind: Set(kind
            .unwrap_or(crate::PartnerKind::Enterprise)
            .as_str()
            .to_owned()),
        status: Set(MerchantStatus::Pending),
        applicant_user_id: Set(actor.user_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    record_event(
        conn,
        &merchant.id,
        "apply",
        None,
        MerchantStatus::Pending,
        &actor.user_id,
        "",
        now,
    )
    .await?;
    Ok(merchant)
}

#[allow(clippy::too_many_arguments)]
async fn record_event(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    action: &str,
    from: Option<MerchantStatus>,
    to: MerchantStatus,
    actor_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), MerchantError> {
    merchant_event::ActiveModel {
        id: Set(new_id()),
        merchant_id: Set(merchant_id.to_owned()),
        action: Set(action.to_owned()),
        from_status: Set(from.map(|s| s.as_str().to_owned())),
        to_status: Set(to.as_str().to_owned()),
        actor_id: Set(actor_id.to_owned()),
        reason: Set(reason.to_owned()),
        at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The merchant, if the actor is street or community staff over its community. Out of
/// scope reads as not found, so staff cannot probe other streets' merchants.
/// A merchant with its lifecycle events, for the staff who review it.
pub async fn detail_in_scope(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
) -> Result<(merchant::Model, Vec<merchant_event::Model>), MerchantError> {
    actor.require_org_staff("Only street and community staff review merchants.")?;
    let merchant = find_in_scope(conn, actor, merchant_id).await?;
    let events = events(conn, &merchant.id).await?;
    Ok((merchant, events))
}

pub async fn find_in_scope(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
) -> Result<merchant::Model, MerchantError> {
    let merchant = merchant::Entity::find_by_id(merchant_id.to_owned())
        .one(conn)
        .await?
        .ok_or(MerchantError::NotFound("merchant"))?;
    let community = identity::service::orgs::by_id(conn, &merchant.community_id)
        .await?
        .ok_or(MerchantError::NotFound("community"))?;
    if !actor.can_reach(&community.path) {
        return Err(MerchantError::NotFound("merchant"));
    }
    Ok(merchant)
}

/// Applies a lifecycle action by staff in scope; returns the merchant after it.
pub async fn transition(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    action: MerchantAction,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<merchant::Model, MerchantError> {
    if !actor.is_org_staff() {
        return Err(MerchantError::Forbidden(
            "Only street and community staff review merchants.",
        ));
    }
    let reason = reason.trim();
    if action.needs_reason() && reason.is_empty() {
        return Err(ValidationErrors::single("reason", "is required").into());
    }
    if reason.chars().count() > 500 {
        return Err(ValidationErrors::single("reason", "must be at most 500 characters").into());
    }
    let merchant = find_in_scope(conn, actor, merchant_id).await?;
    // Nobody reviews their own shop: not the applicant (who becomes its owner on approval),
    // not one of its staff. Otherwise a community's staff could approve a shop of their own
    // and pay it from the budget they award.
    if merchant.applicant_user_id == actor.user_id
        || is_member(conn, merchant_id, &actor.user_id).await?
    {
        return Err(MerchantError::Forbidden(
            "You cannot review a merchant you applied for or work for; another staff member must.",
        ));
    }
    let from = merchant.status;
    let to = from.apply(action).ok_or(MerchantError::InvalidTransition {
        action: action.as_str(),
        from: from.as_str(),
    })?;
    // Compare-and-set on the status, so two reviewers racing cannot both act.
    let changed = merchant::Entity::update_many()
        .col_expr(merchant::Column::Status, Expr::value(to))
        .col_expr(merchant::Column::UpdatedAt, Expr::value(now))
        .filter(merchant::Column::Id.eq(merchant_id))
        .filter(merchant::Column::Status.eq(from))
        .exec(conn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(MerchantError::InvalidTransition {
            action: action.as_str(),
            from: from.as_str(),
        });
    }
    record_event(
        conn,
        merchant_id,
        action.as_str(),
        Some(from),
        to,
        &actor.user_id,
        reason,
        now,
    )
    .await?;
    if action == MerchantAction::Approve {
        add_member(conn, merchant_id, &merchant.applicant_user_id, "owner", now).await?;
    }
    if matches!(to, MerchantStatus::Suspended | MerchantStatus::Closed) {
        // Residents get their points back rather than wait on a merchant that cannot serve.
        crate::service::redemptions::void_open_for_merchant(conn, merchant_id, now).await?;
    }
    Ok(merchant::Model {
        status: to,
        updated_at: now,
        ..merchant
    })
}

async fn is_member(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    user_id: &str,
) -> Result<bool, MerchantError> {
    Ok(merchant_member::Entity::find()
        .filter(merchant_member::Column::MerchantId.eq(merchant_id))
        .filter(merchant_member::Column::UserId.eq(user_id))
        .filter(merchant_member::Column::RemovedAt.is_null())
        .one(conn)
        .await?
        .is_some())
}

/// Makes `user_id` a member (and `merchant_staff`) of the merchant.
pub async fn add_member(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    user_id: &str,
    member_role: &str,
    now: DateTime<Utc>,
) -> Result<(), MerchantError> {
    merchant_member::ActiveModel {
        id: Set(new_id()),
        merchant_id: Set(merchant_id.to_owned()),
        user_id: Set(user_id.to_owned()),
        member_role: Set(member_role.to_owned()),
        added_at: Set(now),
        removed_at: Set(None),
    }
    .insert(conn)
    .await?;
    role_binding::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.to_owned()),
        role: Set(Role::MerchantStaff.as_str().to_owned()),
        org_id: Set(None),
        merchant_id: Set(Some(merchant_id.to_owned())),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Merchants under the actor's orgs, optionally with one status, newest first.
pub async fn list_in_scope(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    status: Option<MerchantStatus>,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<merchant::Model>, Option<String>), MerchantError> {
    actor.require_org_staff("Only street and community staff list merchants.")?;
    let mut community_ids: Vec<String> = Vec::new();
    for (_, scope) in actor.staff_scopes() {
        let communities = org::Entity::find()
            .filter(org::Column::Path.starts_with(scope.path.as_str()))
            .filter(org::Column::Kind.eq(OrgKind::Community.as_str()))
            .all(conn)
            .await?;
        community_ids.extend(communities.into_iter().map(|c| c.id));
    }
    if community_ids.is_empty() {
        return Ok((Vec::new(), None));
    }
    let mut query =
        merchant::Entity::find().filter(merchant::Column::CommunityId.is_in(community_ids));
    if let Some(status) = status {
        query = query.filter(merchant::Column::Status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(merchant::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(merchant::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    let (rows, next) = platform::paging::split_page(rows, limit, |row| row.id.clone());
    Ok((rows, next))
}

/// The merchant's audit trail, oldest first.
pub async fn events(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
) -> Result<Vec<merchant_event::Model>, MerchantError> {
    Ok(merchant_event::Entity::find()
        .filter(merchant_event::Column::MerchantId.eq(merchant_id))
        .order_by_asc(merchant_event::Column::Id)
        .all(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::is_phone;

    #[test]
    fn phones_are_mainland_mobiles_or_landlines() {
        for good in ["13800001111", "0352-1234567", "035212345678"] {
            assert!(is_phone(good), "{good}");
        }
        for bad in ["12345", "2380000111", "138000011112", "phone", ""] {
            assert!(!is_phone(bad), "{bad}");
        }
    }
}
