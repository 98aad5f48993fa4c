//! Home-service workers: a partner's own staff register them (phone sealed), staff of the
//! partner's community (or its street) verify them; only verified workers may be
//! dispatched to an order.

use crate::entity::worker;
use crate::sealed::Sealer;
use crate::words::mask_phone;
use crate::CareError;
use chrono::{DateTime, Utc};
use identity::service::orgs;
use identity::{Actor, Role};
use platform::ids::new_id;
use platform::validation::name_field;
use platform::ValidationErrors;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

#[derive(Debug, Clone)]
pub struct NewWorker {
    pub name: String,
    pub phone: String,
    pub certificate_no: String,
    pub skills: Vec<String>,
}

/// A worker as shown: the phone masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownWorker {
    pub worker: worker::Model,
    pub phone_masked: String,
    pub skills: Vec<String>,
}

fn show(sealer: &Sealer, w: worker::Model) -> Result<ShownWorker, CareError> {
    let phone = sealer
        .open(&w.phone_sealed)
        .map_err(|_| CareError::Unreadable)?;
    Ok(ShownWorker {
        phone_masked: mask_phone(&phone),
        skills: serde_json::from_str(&w.skills).unwrap_or_default(),
        worker: w,
    })
}

/// The partner's community path, when `actor` is one of its staff and it is active.
async fn own_partner_path(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
) -> Result<String, CareError> {
    let partner = merchant::service::offers::merchant_of_member(conn, actor, partner_id)
        .await
        .map_err(|e| match e {
            merchant::MerchantError::Db(db) => CareError::Db(db),
            _ => CareError::Forbidden("Only the partner's own staff register its workers."),
        })?;
    if partner.status != merchant::MerchantStatus::Active {
        return Err(CareError::Forbidden("The partner is not active."));
    }
    orgs::find(conn, &partner.community_id)
        .await?
        .map(|c| c.path)
        .ok_or(CareError::NotFound("partner"))
}

pub async fn register(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    actor: &Actor,
    partner_id: &str,
    input: NewWorker,
    now: DateTime<Utc>,
) -> Result<ShownWorker, CareError> {
    let org_path = own_partner_path(conn, actor, partner_id).await?;
    let mut errors = ValidationErrors::new();
    let name = name_field(&mut errors, "name", &input.name, 50);
    let phone = input.phone.trim().to_owned();
    if !(phone.len() == 11 && phone.starts_with('1') && phone.chars().all(|c| c.is_ascii_digit())) {
        errors.add("phone", "must be a mainland mobile number");
    }
    let certificate_no = name_field(&mut errors, "certificate_no", &input.certificate_no, 40);
    let mut skills = Vec::new();
    for skill in &input.skills {
        skills.push(name_field(&mut errors, "skills", skill, 30));
    }
    errors.into_result()?;
    let row = worker::Model {
        id: new_id(),
        partner_id: partner_id.to_owned(),
        org_path,
        name,
        phone_sealed: sealer.seal(&phone),
        certificate_no,
        skills: serde_json::to_string(&skills).unwrap_or_else(|_| "[]".to_owned()),
        verified_at: None,
        verified_by: None,
        created_at: now,
    };
    worker::Entity::insert(worker::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    show(sealer, row)
}

/// Community staff (or their street's) verify a worker of a partner in their scope, once.
pub async fn verify(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    actor: &Actor,
    worker_id: &str,
    now: DateTime<Utc>,
) -> Result<ShownWorker, CareError> {
    let mut row = worker::Entity::find_by_id(worker_id.to_owned())
        .one(conn)
        .await?
        .ok_or(CareError::NotFound("worker"))?;
    let allowed = matches!(
        actor.staff_role_over(&row.org_path),
        Some(Role::CommunityStaff | Role::StreetStaff)
    );
    if !allowed {
        return Err(CareError::NotFound("worker"));
    }
    let moved = worker::Entity::update_many()
        .col_expr(worker::Column::VerifiedAt, Expr::value(now))
        .col_expr(
            worker::Column::VerifiedBy,
            Expr::value(actor.user_id.clone()),
        )
        .filter(worker::Column::Id.eq(worker_id))
        .filter(worker::Column::VerifiedAt.is_null())
        .exec(conn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(CareError::AlreadyVerified);
    }
    row.verified_at = Some(now);
    row.verified_by = Some(actor.user_id.clone());
    show(sealer, row)
}

/// A partner's workers, for its own staff.
pub async fn of_partner(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    actor: &Actor,
    partner_id: &str,
) -> Result<Vec<ShownWorker>, CareError> {
    own_partner_path(conn, actor, partner_id).await?;
    worker::Entity::find()
        .filter(worker::Column::PartnerId.eq(partner_id))
        .order_by_asc(worker::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|w| show(sealer, w))
        .collect()
}
