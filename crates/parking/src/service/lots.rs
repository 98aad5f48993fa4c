//! Lots: created by district or street staff, or by a partner in its own community, with
//! their slots and a gate secret.

use crate::entity::{lot, slot};
use crate::open_hours::{self, Window};
use crate::ParkingError;
use chrono::{DateTime, Utc};
use identity::{Actor, Role};
use platform::ids::new_id;
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

/// 32 random bytes as hex: the lot camera's HMAC key.
fn secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub const MAX_SLOTS: i64 = 5_000;

#[derive(Debug, Clone)]
pub struct LotInput {
    /// An active partner (merchant) of the caller's that owns the lot, in its community.
    pub partner_id: Option<String>,
    pub name: String,
    pub org_id: String,
    pub address: String,
    pub slot_count: i64,
    pub points_per_hour: i64,
    pub billing_unit_minutes: Option<i64>,
    pub open_hours: Vec<Window>,
    pub max_booking_hours: i64,
    pub entry_grace_minutes: Option<i64>,
}

pub fn windows(lot: &lot::Model) -> Vec<Window> {
    serde_json::from_str(&lot.open_hours).unwrap_or_default()
}

fn partner_staff(actor: &Actor, lot: &lot::Model) -> bool {
    lot.partner_id
        .as_ref()
        .is_some_and(|partner| actor.merchant_ids().contains(partner))
}

/// Staff over the lot's org, or of the partner owning it, run it day to day.
pub fn operates(actor: &Actor, lot: &lot::Model) -> bool {
    actor.can_reach(&lot.org_path) || partner_staff(actor, lot)
}

/// The district admin and street staff over its org set lots up.
pub fn administers(actor: &Actor, org_path: &str) -> bool {
    matches!(
        actor.staff_role_over(org_path),
        Some(Role::StreetStaff | Role::DistrictAdmin)
    )
}

pub async fn create(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: LotInput,
    now: DateTime<Utc>,
) -> Result<lot::Model, ParkingError> {
    let partner = match &input.partner_id {
        None => None,
        Some(id) => Some(
            merchant::entity::merchant::Entity::find_by_id(id.clone())
                .one(conn)
                .await?
                .filter(|m| {
                    m.status == merchant::MerchantStatus::Active
                        && actor.merchant_ids().contains(&m.id)
                })
                .ok_or(ParkingError::Forbidden(
                    "Only staff of an active partner set up a lot in its name.",
                ))?,
        ),
    };
    if partner.is_none()
        && !actor
            .staff_scopes()
            .any(|(role, _)| matches!(role, Role::StreetStaff | Role::DistrictAdmin))
    {
        return Err(ParkingError::Forbidden(
            "Only the district admin, street staff and partners set up parking lots.",
        ));
    }
    let mut errors = ValidationErrors::new();
    let name = name_field(&mut errors, "name", &input.name, 100);
    let address = text_field(&mut errors, "address", &input.address, 0, 200);
    if !(1..=MAX_SLOTS).contains(&input.slot_count) {
        errors.add("slot_count", format!("must be from 1 to {MAX_SLOTS}"));
    }
    if !(0..=1000).contains(&input.points_per_hour) {
        errors.add("points_per_hour", "must be from 0 to 1000");
    }
    let unit = input.billing_unit_minutes.unwrap_or(30);
    if !(1..=240).contains(&unit) {
        errors.add("billing_unit_minutes", "must be from 1 to 240");
    }
    if !(1..=72).contains(&input.max_booking_hours) {
        errors.add("max_booking_hours", "must be from 1 to 72");
    }
    let grace = input.entry_grace_minutes.unwrap_or(15);
    if !(0..=120).contains(&grace) {
        errors.add("entry_grace_minutes", "must be from 0 to 120");
    }
    for (field, message) in open_hours::check(&input.open_hours) {
        errors.add(&field, message);
    }
    let org = identity::service::orgs::by_id(conn, &input.org_id)
        .await?
        .filter(|o| match &partner {
            Some(partner) => o.id == partner.community_id,
            None => administers(actor, &o.path),
        });
    if org.is_none() {
        errors.add(
            "org_id",
            if partner.is_some() {
                "must be the partner's own community"
            } else {
                "is not an org in your scope"
            },
        );
    }
    errors.into_result()?;
    let Some(org) = org else {
        return Err(ParkingError::NotFound("org"));
    };
    let created = lot::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org.id),
        org_path: Set(org.path),
        partner_id: Set(partner.map(|p| p.id)),
        name: Set(name),
        address: Set(address),
        slot_count: Set(input.slot_count),
        points_per_hour: Set(input.points_per_hour),
        billing_unit_minutes: Set(unit),
        open_hours: Set(serde_json::to_string(&input.open_hours).unwrap_or_else(|_| "[]".into())),
        max_booking_hours: Set(input.max_booking_hours),
        entry_grace_minutes: Set(grace),
        gate_secret: Set(secret()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    let slots: Vec<slot::ActiveModel> = (1..=input.slot_count)
        .map(|n| slot::ActiveModel {
            id: Set(new_id()),
            lot_id: Set(created.id.clone()),
            code: Set(format!("P{n:04}")),
        })
        .collect();
    for chunk in slots.chunks(500) {
        slot::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(created)
}

pub async fn find(conn: &impl ConnectionTrait, lot_id: &str) -> Result<lot::Model, ParkingError> {
    lot::Entity::find_by_id(lot_id.to_owned())
        .one(conn)
        .await?
        .ok_or(ParkingError::NotFound("parking lot"))
}

/// Lots under an org path (all without one), by name.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_path: Option<&str>,
) -> Result<Vec<lot::Model>, ParkingError> {
    let mut query = lot::Entity::find();
    if let Some(path) = org_path {
        query = query.filter(lot::Column::OrgPath.starts_with(path));
    }
    Ok(query.order_by_asc(lot::Column::Name).all(conn).await?)
}

/// A new gate secret (the old one stops working at once).
pub async fn rotate_secret(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    lot_id: &str,
    now: DateTime<Utc>,
) -> Result<lot::Model, ParkingError> {
    let lot = find(conn, lot_id).await?;
    if !(administers(actor, &lot.org_path) || partner_staff(actor, &lot)) {
        return Err(ParkingError::Forbidden(
            "Only staff over the lot's org rotate its secret.",
        ));
    }
    let mut row: lot::ActiveModel = lot.into();
    row.gate_secret = Set(secret());
    row.updated_at = Set(now);
    Ok(row.update(conn).await?)
}
