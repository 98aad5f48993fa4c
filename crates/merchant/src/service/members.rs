//! A merchant's people: the owner invites staff with one-time codes and can remove them.

use crate::entity::{merchant_invite, merchant_member};
use crate::service::applications::add_member;
use crate::service::offers::merchant_of_member;
use crate::{MerchantError, MerchantStatus};
use chrono::{DateTime, Duration, Utc};
use identity::entity::role_binding;
use identity::{Actor, Role};
use platform::ids::{new_id, random_token, sha256_hex};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

pub const INVITE_VALIDITY_DAYS: i64 = 7;

async fn active_membership(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    user_id: &str,
) -> Result<Option<merchant_member::Model>, MerchantError> {
    Ok(merchant_member::Entity::find()
        .filter(merchant_member::Column::MerchantId.eq(merchant_id))
        .filter(merchant_member::Column::UserId.eq(user_id))
        .filter(merchant_member::Column::RemovedAt.is_null())
        .one(conn)
        .await?)
}

async fn require_owner(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
) -> Result<(), MerchantError> {
    merchant_of_member(conn, actor, merchant_id).await?;
    let is_owner = active_membership(conn, merchant_id, &actor.user_id)
        .await?
        .is_some_and(|m| m.member_role == "owner");
    if is_owner {
        Ok(())
    } else {
        Err(MerchantError::Forbidden(
            "Only the merchant's owner manages its staff.",
        ))
    }
}

/// A new invite code (shown once) and when it lapses.
pub async fn invite(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), MerchantError> {
    require_owner(conn, actor, merchant_id).await?;
    let code = random_token(12);
    let expires_at = now + Duration::days(INVITE_VALIDITY_DAYS);
    merchant_invite::ActiveModel {
        id: Set(new_id()),
        merchant_id: Set(merchant_id.to_owned()),
        code_hash: Set(sha256_hex(&code)),
        created_by: Set(actor.user_id.clone()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        accepted_by: Set(None),
        accepted_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok((code, expires_at))
}

/// The actor joins the merchant's staff with an invite code; the code works once.
pub async fn accept(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
    now: DateTime<Utc>,
) -> Result<String, MerchantError> {
    let invite = merchant_invite::Entity::find()
        .filter(merchant_invite::Column::CodeHash.eq(sha256_hex(code.trim())))
        .one(conn)
        .await?
        .filter(|i| i.accepted_at.is_none() && i.expires_at > now)
        .ok_or(MerchantError::NotFound("invite"))?;
    let merchant = crate::entity::merchant::Entity::find_by_id(invite.merchant_id.clone())
        .one(conn)
        .await?
        .ok_or(MerchantError::NotFound("merchant"))?;
    if !matches!(
        merchant.status,
        MerchantStatus::Active | MerchantStatus::Suspended
    ) {
        return Err(MerchantError::NotFound("invite"));
    }
    if active_membership(conn, &invite.merchant_id, &actor.user_id)
        .await?
        .is_some()
    {
        return Err(MerchantError::InvalidTransition {
            action: "join",
            from: "already staff of this merchant",
        });
    }
    let claimed = merchant_invite::Entity::update_many()
        .col_expr(
            merchant_invite::Column::AcceptedBy,
            Expr::value(actor.user_id.clone()),
        )
        .col_expr(merchant_invite::Column::AcceptedAt, Expr::value(now))
        .filter(merchant_invite::Column::Id.eq(invite.id.as_str()))
        .filter(merchant_invite::Column::AcceptedAt.is_null())
        .exec(conn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(MerchantError::NotFound("invite"));
    }
    add_member(conn, &invite.merchant_id, &actor.user_id, "staff", now).await?;
    Ok(invite.merchant_id)
}

/// The user ids of a merchant's current members (whom to tell about its business).
pub async fn current_member_ids(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
) -> Result<Vec<String>, MerchantError> {
    Ok(merchant_member::Entity::find()
        .filter(merchant_member::Column::MerchantId.eq(merchant_id))
        .filter(merchant_member::Column::RemovedAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

/// Current members, owner first.
pub async fn list(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
) -> Result<Vec<merchant_member::Model>, MerchantError> {
    merchant_of_member(conn, actor, merchant_id).await?;
    Ok(merchant_member::Entity::find()
        .filter(merchant_member::Column::MerchantId.eq(merchant_id))
        .filter(merchant_member::Column::RemovedAt.is_null())
        .order_by_asc(merchant_member::Column::MemberRole)
        .order_by_asc(merchant_member::Column::AddedAt)
        .all(conn)
        .await?)
}

/// The owner removes a staff member: they lose the merchant at once.
pub async fn remove(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<(), MerchantError> {
    require_owner(conn, actor, merchant_id).await?;
    let member = active_membership(conn, merchant_id, user_id)
        .await?
        .ok_or(MerchantError::NotFound("staff member"))?;
    if member.member_role == "owner" {
        return Err(MerchantError::InvalidTransition {
            action: "remove",
            from: "the owner",
        });
    }
    merchant_member::Entity::update_many()
        .col_expr(merchant_member::Column::RemovedAt, Expr::value(now))
        .filter(merchant_member::Column::Id.eq(member.id.as_str()))
        .exec(conn)
        .await?;
    role_binding::Entity::delete_many()
        .filter(role_binding::Column::UserId.eq(user_id))
        .filter(role_binding::Column::Role.eq(Role::MerchantStaff.as_str()))
        .filter(role_binding::Column::MerchantId.eq(merchant_id))
        .exec(conn)
        .await?;
    Ok(())
}
