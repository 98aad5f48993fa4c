//! Staff accounts: username and password, bound to one org with one role.

use crate::entity::{org, role_binding, staff_account, user};
use crate::password::{hash_password, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
use crate::service::auth::run_blocking;
use crate::service::orgs;
use crate::{Actor, IdentityError, OrgKind, Role};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use platform::ValidationErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};

/// A validated request for a new staff account.
#[derive(Clone)]
pub struct NewStaff {
    pub username: String,
    pub password: String,
    /// The password's Argon2 hash when the caller made it already ([`hash_for_account`]): a
    /// roster import hashes its rows before opening its transaction, so that the database's
    /// writer is not held while Argon2 works.
    pub password_hash: Option<String>,
    pub role: Role,
    pub org_id: String,
}

/// Without the password or its hash: a request may end up in a log line.
impl std::fmt::Debug for NewStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStaff")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

impl NewStaff {
    pub fn parse(
        username: &str,
        password: &str,
        role: &str,
        org_id: &str,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let username = username.trim().to_lowercase();
        if !(3..=32).contains(&username.len())
            || !username
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            errors.add(
                "username",
                "must be 3 to 32 characters of a-z, 0-9, '.', '_' or '-'",
            );
        }
        let password_len = password.chars().count();
        if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&password_len) {
            errors.add(
                "password",
                format!("must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
            );
        }
        let role = Role::parse(role).filter(|r| r.is_org_staff());
        if role.is_none() {
            errors.add(
                "role",
                "must be one of community_staff, street_staff, district_admin",
            );
        }
        if org_id.trim().is_empty() {
            errors.add("org_id", "is required");
        }
        errors.into_result()?;
        Ok(Self {
            username,
            password: password.to_owned(),
            password_hash: None,
            role: role.unwrap_or(Role::CommunityStaff),
            org_id: org_id.trim().to_owned(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct StaffCreated {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub org_id: String,
}

/// Creates a staff account within the actor's scope: the org must be inside an org the actor
/// is staff of, and the new role may not outrank the actor's own role there.
const MANAGE_STAFF: &str = "Only district, street and community staff manage staff accounts.";

pub async fn create_staff<C>(
    conn: &C,
    actor: &Actor,
    new: NewStaff,
    now: DateTime<Utc>,
) -> Result<StaffCreated, IdentityError>
where
    C: ConnectionTrait + TransactionTrait,
{
    actor.require_org_staff(MANAGE_STAFF)?;
    let org = find_org(conn, &new.org_id).await?;
    match actor.staff_role_over(&org.path) {
        None => return Err(IdentityError::Forbidden("the org is outside your scope")),
        Some(own) if own < new.role => {
            return Err(IdentityError::Forbidden(
                "you cannot grant a role above your own",
            ))
        }
        Some(_) => {}
    }
    insert_staff(conn, new, org, now).await
}

/// The Argon2 hash of a new account's password, made on a blocking thread.
pub async fn hash_for_account(password: String) -> Result<String, IdentityError> {
    run_blocking(move || hash_password(&password))
        .await?
        .map_err(|e| IdentityError::Internal(format!("hashing password: {e}")))
}

/// Creates the account without a scope check (the CLI bootstrap and the demo seed).
pub async fn add_staff_account<C>(
    conn: &C,
    new: NewStaff,
    now: DateTime<Utc>,
) -> Result<StaffCreated, IdentityError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let org = find_org(conn, &new.org_id).await?;
    insert_staff(conn, new, org, now).await
}

async fn find_org(conn: &impl ConnectionTrait, org_id: &str) -> Result<org::Model, IdentityError> {
    orgs::find(conn, org_id)
        .await?
        .ok_or_else(|| IdentityError::Validation(ValidationErrors::single("org_id", "no such org")))
}

async fn insert_staff<C>(
    conn: &C,
    new: NewStaff,
    org: org::Model,
    now: DateTime<Utc>,
) -> Result<StaffCreated, IdentityError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let expected_kind = new.role.staff_org_kind();
    if expected_kind.map(OrgKind::as_str) != Some(org.kind.as_str()) {
        return Err(IdentityError::Validation(ValidationErrors::single(
            "org_id",
            format!(
                "a {} must be bound to a {}",
                new.role.as_str(),
                expected_kind.map_or("org", OrgKind::as_str)
            ),
        )));
    }
    if username_exists(conn, &new.username).await? {
        return Err(IdentityError::UsernameTaken);
    }
    let password_hash = match new.password_hash.clone() {
        Some(hash) => hash,
        None => hash_for_account(new.password.clone()).await?,
    };

    let user_id = new_id();
    let txn = conn.begin().await?;
    user::ActiveModel {
        id: Set(user_id.clone()),
        openid: Set(None),
        unionid: Set(None),
        nickname: Set(Some(new.username.clone())),
        phone: Set(None),
        community_id: Set(None),
        compound_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let account = staff_account::ActiveModel {
        user_id: Set(user_id.clone()),
        username: Set(new.username.clone()),
        password_hash: Set(password_hash),
        created_at: Set(now),
        disabled_at: Set(None),
    }
    .insert(&txn)
    .await;
    match account {
        Err(e) if platform::db::is_unique_violation(&e) => {
            return Err(IdentityError::UsernameTaken)
        }
        other => other?,
    };
    role_binding::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id.clone()),
        role: Set(new.role.as_str().to_owned()),
        org_id: Set(Some(org.id.clone())),
        merchant_id: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(
        user_id,
        role = new.role.as_str(),
        org_id = org.id,
        "staff account created"
    );
    Ok(StaffCreated {
        user_id,
        username: new.username,
        role: new.role,
        org_id: org.id,
    })
}

/// Marks a staff account disabled (or enabled again). The actor must hold, over every org the
/// account is bound to, a role at least as high as the account's; nobody disables themself.
/// Sessions are ended by the caller (`AuthService::disable_staff`), after the commit.
pub async fn set_disabled(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    user_id: &str,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<(), IdentityError> {
    actor.require_org_staff(MANAGE_STAFF)?;
    let account = staff_account::Entity::find_by_id(user_id.to_owned())
        .one(conn)
        .await?
        .ok_or(IdentityError::NotFound("staff account"))?;
    let bindings = role_binding::Entity::find()
        .filter(role_binding::Column::UserId.eq(user_id))
        .all(conn)
        .await?;
    let mut in_scope = !bindings.is_empty();
    for binding in &bindings {
        let (Some(role), Some(org_id)) = (Role::parse(&binding.role), &binding.org_id) else {
            in_scope = false;
            continue;
        };
        let reach = match orgs::find(conn, org_id).await? {
            Some(org) => actor.staff_role_over(&org.path),
            None => None,
        };
        in_scope &= reach.is_some_and(|own| own >= role);
    }
    if !in_scope {
        // Staff outside the actor's reach are not revealed.
        return Err(IdentityError::NotFound("staff account"));
    }
    if account.user_id == actor.user_id {
        return Err(IdentityError::Forbidden(
            "you cannot disable your own account",
        ));
    }
    staff_account::Entity::update_many()
        .col_expr(
            staff_account::Column::DisabledAt,
            sea_orm::sea_query::Expr::value(disabled.then_some(now)),
        )
        .filter(staff_account::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    platform::audit::record(
        conn,
        platform::audit::AuditEntry {
            actor_id: Some(&actor.user_id),
            action: if disabled {
                "staff_disabled"
            } else {
                "staff_enabled"
            },
            subject: ("staff", user_id),
            detail: serde_json::json!({ "username": account.username }),
        },
        now,
    )
    .await?;
    tracing::info!(
        user_id,
        by = actor.user_id,
        disabled,
        "staff account status changed"
    );
    Ok(())
}

pub async fn username_exists(
    conn: &impl ConnectionTrait,
    username: &str,
) -> Result<bool, IdentityError> {
    Ok(staff_account::Entity::find()
        .filter(staff_account::Column::Username.eq(username))
        .one(conn)
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staff_request_prints_without_its_password() {
        let mut new =
            NewStaff::parse("wang.li", "a-secret-password", "street_staff", "org").unwrap();
        new.password_hash = Some("$argon2id$v=19$secret-hash".to_owned());
        let shown = format!("{new:?}");
        assert!(shown.contains("wang.li"), "{shown}");
        assert!(
            !shown.contains("a-secret-password") && !shown.contains("argon2"),
            "{shown}"
        );
    }

    #[test]
    fn staff_requests_are_validated() {
        let err = NewStaff::parse("A!", "short", "resident", "").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["username", "password", "role", "org_id"]);
        let ok = NewStaff::parse(" Wang.Li ", "long-enough", "street_staff", "org").unwrap();
        assert_eq!(
            (ok.username.as_str(), ok.role),
            ("wang.li", Role::StreetStaff)
        );
    }
}
