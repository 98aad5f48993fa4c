//! Care recipients: registered with consent by community staff; listed masked to the staff
//! of their community and street; read in full (still masked, but with needs and visits)
//! only with a purpose; seen by the resident themself; erased when they withdraw consent.

use super::access::{self, purpose, reach, Reach};
use crate::entity::{recipient, visit};
use crate::sealed::Sealer;
use crate::words::{mask_id_number, mask_phone, Colour, GROUPS};
use crate::CareError;
use chrono::{DateTime, Utc};
use identity::service::orgs;
use identity::{Actor, OrgKind};
use platform::ids::new_id;
use platform::validation::name_field;
use platform::ValidationErrors;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub user_id: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub compound_id: String,
    pub groups: Vec<String>,
    pub colour: String,
    pub needs: Vec<String>,
    pub visit_every_days: Option<i64>,
    pub consent: bool,
}

/// A record as it may be shown: contact data masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub record: recipient::Model,
    pub phone_masked: Option<String>,
    pub id_number_masked: Option<String>,
    pub groups: Vec<String>,
    pub needs: Vec<String>,
    /// When the next visit is due.
    pub visit_due_at: DateTime<Utc>,
}

fn due(record: &recipient::Model) -> DateTime<Utc> {
    record.last_visit_at.unwrap_or(record.consent_at)
        + chrono::Duration::days(record.visit_every_days)
}

/// Opens and masks a record's sealed fields.
pub fn show(sealer: &Sealer, record: recipient::Model) -> Result<Shown, CareError> {
    let open = |sealed: &Option<String>| -> Result<Option<String>, CareError> {
        sealed
            .as_deref()
            .map(|s| sealer.open(s).map_err(|_| CareError::Unreadable))
            .transpose()
    };
    let phone = open(&record.phone_sealed)?;
    let id_number = open(&record.id_number_sealed)?;
    Ok(Shown {
        phone_masked: phone.as_deref().map(mask_phone),
        id_number_masked: id_number.as_deref().map(mask_id_number),
        groups: serde_json::from_str(&record.groups).unwrap_or_default(),
        needs: serde_json::from_str(&record.needs).unwrap_or_default(),
        visit_due_at: due(&record),
        record,
    })
}

fn digits(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&str>,
    ok: fn(&str) -> bool,
) -> Option<String> {
    let value = value?.trim().to_owned();
    if !ok(&value) {
        errors.add(field, "is not valid");
    }
    Some(value)
}

fn is_phone(v: &str) -> bool {
    v.len() == 11 && v.starts_with('1') && v.chars().all(|c| c.is_ascii_digit())
}

/// Mainland resident ID: 17 digits and a digit or X.
fn is_id_number(v: &str) -> bool {
    v.len() == 18
        && v[..17].chars().all(|c| c.is_ascii_digit())
        && v[17..].chars().all(|c| c.is_ascii_digit() || c == 'X')
}

pub async fn register(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    actor: &Actor,
    input: NewRecipient,
    now: DateTime<Utc>,
) -> Result<Shown, CareError> {
    let compound = orgs::find(conn, &input.compound_id)
        .await?
        .filter(|o| o.kind == OrgKind::Compound.as_str())
        .ok_or_else(|| ValidationErrors::single("compound_id", "is not a compound"))?;
    match reach(actor, &compound.path) {
        Some(Reach::Write) => {}
        Some(Reach::Read) => {
            return Err(CareError::Forbidden(
                "Street staff read care records; the community's staff keep them.",
            ))
        }
        None => return Err(CareError::NotFound("compound")),
    }
    let mut errors = ValidationErrors::new();
    if !input.consent {
        errors.add("consent", "the resident's consent is required");
    }
    let name = name_field(&mut errors, "name", &input.name, 50);
    let phone = digits(&mut errors, "phone", input.phone.as_deref(), is_phone);
    let id_number = digits(
        &mut errors,
        "id_number",
        input.id_number.as_deref(),
        is_id_number,
    );
    let colour = Colour::parse(&input.colour);
    if colour.is_none() {
        errors.add("colour", "must be red, orange, yellow, blue or green");
    }
    if input.groups.is_empty() || input.groups.iter().any(|g| !GROUPS.contains(&g.as_str())) {
        errors.add("groups", format!("one or more of {}", GROUPS.join(", ")));
    }
    let mut needs = Vec::new();
    for need in &input.needs {
        needs.push(name_field(&mut errors, "needs", need, 50));
    }
    if input
        .visit_every_days
        .is_some_and(|d| !(1..=365).contains(&d))
    {
        errors.add("visit_every_days", "must be between 1 and 365");
    }
    errors.into_result()?;
    let colour = colour.unwrap_or(Colour::Green);
    let community_id = compound.parent_id.clone().unwrap_or_default();
    let row = recipient::Model {
        id: new_id(),
        community_id,
        compound_id: compound.id,
        org_path: compound.path,
        user_id: input.user_id,
        name,
        phone_sealed: phone.map(|p| sealer.seal(&p)),
        id_number_sealed: id_number.map(|i| sealer.seal(&i)),
        groups: serde_json::to_string(&input.groups).unwrap_or_else(|_| "[]".to_owned()),
        needs: serde_json::to_string(&needs).unwrap_or_else(|_| "[]".to_owned()),
        colour: colour.as_str().to_owned(),
        visit_every_days: input
            .visit_every_days
            .unwrap_or(colour.default_visit_days()),
        consent_at: now,
        last_visit_at: None,
        created_by: actor.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    recipient::Entity::insert(recipient::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    access::log(
        conn,
        &row.id,
        actor,
        "register",
        "registration with consent",
        now,
    )
    .await?;
    show(sealer, row)
}

#[derive(Debug, Clone, Default)]
pub struct RecipientFilter {
    pub org_id: Option<String>,
    pub colour: Option<Colour>,
    pub group: Option<String>,
    pub visit_overdue: bool,
}

/// Records under the caller's community or street (or the org named), most urgent colour
/// first, masked; each one listed is logged.
pub async fn list(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    actor: &Actor,
    filter: &RecipientFilter,
    now: DateTime<Utc>,
) -> Result<Vec<Shown>, CareError> {
    let mut paths: Vec<String> = actor
        .staff_scopes()
        .filter(|(role, _)| {
            matches!(
                role,
                identity::Role::CommunityStaff | identity::Role::StreetStaff
            )
        })
        .map(|(_, org)| org.path.clone())
        .collect();
    if paths.is_empty() {
        return Err(CareError::Forbidden(
            "Only the staff of a community and its street read its care records.",
        ));
    }
    if let Some(org_id) = &filter.org_id {
        let org = orgs::find(conn, org_id)
            .await?
            .ok_or_else(|| ValidationErrors::single("org_id", "no such org"))?;
        if reach(actor, &org.path).is_none() {
            return Err(CareError::Forbidden("That org is outside your scope."));
        }
        paths = vec![org.path];
    }
    let mut under = Condition::any();
    for path in &paths {
        under = under.add(recipient::Column::OrgPath.starts_with(path.as_str()));
    }
    let mut query = recipient::Entity::find().filter(under);
    if let Some(colour) = filter.colour {
        query = query.filter(recipient::Column::Colour.eq(colour.as_str()));
    }
    let rows = query
        .order_by_asc(recipient::Column::Id)
        .limit(1000)
        .all(conn)
        .await?;
    let mut shown = Vec::new();
    for row in rows {
        let s = show(sealer, row)?;
        if filter.group.as_ref().is_some_and(|g| !s.groups.contains(g)) {
            continue;
        }
        if filter.visit_overdue && s.visit_due_at > now {
            continue;
        }
        shown.push(s);
    }
    shown.sort_by_key(|s| (Colour::parse(&s.record.colour), s.visit_due_at));
    let records: Vec<recipient::Model> = shown.iter().map(|s| s.record.clone()).collect();
    access::log_many(conn, &records, actor, "list", "list", now).await?;
    Ok(shown)
}

/// One record with its visits, read for a stated purpose.
pub async fn read(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    actor: &Actor,
    recipient_id: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(Shown, Vec<visit::Model>), CareError> {
    // Whether the record is there for the caller comes first: a stranger learns nothing.
    let row = find_reachable(conn, actor, recipient_id).await?.0;
    let why = purpose(why)?;
    access::log(conn, &row.id, actor, "read", &why, now).await?;
    let visits = visit::Entity::find()
        .filter(visit::Column::RecipientId.eq(recipient_id))
        .order_by_desc(visit::Column::At)
        .all(conn)
        .await?;
    Ok((show(sealer, row)?, visits))
}

/// A record the caller reaches, with how; anyone else: not found.
pub async fn find_reachable(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    recipient_id: &str,
) -> Result<(recipient::Model, Reach), CareError> {
    let row = recipient::Entity::find_by_id(recipient_id.to_owned())
        .one(conn)
        .await?
        .ok_or(CareError::NotFound("care recipient"))?;
    let how = reach(actor, &row.org_path).ok_or(CareError::NotFound("care recipient"))?;
    Ok((row, how))
}

/// The resident's own record, when they have one.
pub async fn mine(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Shown, CareError> {
    let row = recipient::Entity::find()
        .filter(recipient::Column::UserId.eq(actor.user_id.as_str()))
        .one(conn)
        .await?
        .ok_or(CareError::NotFound("care record"))?;
    access::log(conn, &row.id, actor, "read", "own record", now).await?;
    show(sealer, row)
}

/// The resident withdraws consent: the record and its visits are erased; the access log,
/// which holds no personal data, stays with a last `withdraw` row.
pub async fn withdraw(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<String, CareError> {
    let row = recipient::Entity::find()
        .filter(recipient::Column::UserId.eq(actor.user_id.as_str()))
        .one(conn)
        .await?
        .ok_or(CareError::NotFound("care record"))?;
    visit::Entity::delete_many()
        .filter(visit::Column::RecipientId.eq(row.id.as_str()))
        .exec(conn)
        .await?;
    recipient::Entity::delete_by_id(row.id.clone())
        .exec(conn)
        .await?;
    access::log(
        conn,
        &row.id,
        actor,
        "withdraw",
        "consent withdrawn; record erased",
        now,
    )
    .await?;
    Ok(row.id)
}

/// Sets the record's last visit (a visit logged).
pub(crate) async fn visited(
    conn: &impl ConnectionTrait,
    recipient_id: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    recipient::Entity::update_many()
        .col_expr(recipient::Column::LastVisitAt, Expr::value(at))
        .col_expr(recipient::Column::UpdatedAt, Expr::value(now))
        .filter(recipient::Column::Id.eq(recipient_id))
        .filter(
            Condition::any()
                .add(recipient::Column::LastVisitAt.is_null())
                .add(recipient::Column::LastVisitAt.lt(at)),
        )
        .exec(conn)
        .await?;
    Ok(())
}
