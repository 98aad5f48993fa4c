//! Residents' accounts and profiles.

use crate::entity::{org, user};
use crate::{Actor, IdentityError, OrgKind, Role};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use platform::ValidationErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, Set,
};
use wechat::WechatClient;

pub const MAX_NICKNAME_CHARS: usize = 32;

/// The resident with this openid, created on first login. Two first logins racing each
/// other both end up with the same account.
pub async fn find_or_create_resident(
    conn: &impl ConnectionTrait,
    openid: &str,
    unionid: Option<String>,
    now: DateTime<Utc>,
) -> Result<user::Model, IdentityError> {
    if let Some(existing) = find_resident_by_openid(conn, openid).await? {
        return Ok(existing);
    }
    let inserted = user::ActiveModel {
        id: Set(new_id()),
        openid: Set(Some(openid.to_owned())),
        unionid: Set(unionid),
        nickname: Set(None),
        phone: Set(None),
        community_id: Set(None),
        compound_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await;
    match inserted {
        Ok(user) => Ok(user),
        Err(e) if platform::db::is_unique_violation(&e) => find_resident_by_openid(conn, openid)
            .await?
            .ok_or(IdentityError::NotFound("user")),
        Err(e) => Err(e.into()),
    }
}

/// The user who logs in with this WeChat openid, if they ever did.
pub async fn find_resident_by_openid(
    conn: &impl ConnectionTrait,
    openid: &str,
) -> Result<Option<user::Model>, IdentityError> {
    Ok(user::Entity::find()
        .filter(user::Column::Openid.eq(openid))
        .one(conn)
        .await?)
}

/// The ids of the users who live in a community under the org `path` (a query to narrow
/// another context's rows to them, e.g. the ledger's wallets in a street's job round).
pub fn ids_living_under(path: &str) -> sea_orm::sea_query::SelectStatement {
    let communities = org::Entity::find()
        .select_only()
        .column(org::Column::Id)
        .filter(org::Column::Path.starts_with(path));
    user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::CommunityId.in_subquery(communities.into_query()))
        .into_query()
}

/// The resident (a user who logged in with WeChat) with this id.
pub async fn find_resident(
    conn: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Option<user::Model>, IdentityError> {
    Ok(user::Entity::find_by_id(user_id.to_owned())
        .one(conn)
        .await?
        .filter(|u| u.openid.is_some()))
}

/// What `/me` shows (balances are added by the API from the ledger).
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    pub nickname: Option<String>,
    pub phone_masked: Option<String>,
    pub roles: Vec<Role>,
    pub community_id: Option<String>,
    pub compound_id: Option<String>,
    pub merchant_ids: Vec<String>,
}

pub async fn profile(conn: &impl ConnectionTrait, actor: &Actor) -> Result<Profile, IdentityError> {
    let user = user::Entity::find_by_id(actor.user_id.clone())
        .one(conn)
        .await?
        .ok_or(IdentityError::NotFound("user"))?;
    Ok(profile_of(user, actor))
}

/// What `/me` shows of `user`, whose roles and merchants are the actor's.
fn profile_of(user: user::Model, actor: &Actor) -> Profile {
    Profile {
        id: user.id,
        nickname: user.nickname,
        phone_masked: user.phone.as_deref().map(mask_phone),
        roles: actor.roles(),
        community_id: user.community_id,
        compound_id: user.compound_id,
        merchant_ids: actor.merchant_ids(),
    }
}

/// `13800001234` → `138****1234`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// A requested profile change; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub nickname: Option<String>,
    pub community_id: Option<String>,
    pub compound_id: Option<String>,
}

pub async fn update_profile(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    change: ProfileChange,
    now: DateTime<Utc>,
) -> Result<Profile, IdentityError> {
    let user = user::Entity::find_by_id(actor.user_id.clone())
        .one(conn)
        .await?
        .ok_or(IdentityError::NotFound("user"))?;
    let mut errors = ValidationErrors::new();
    let nickname = change
        .nickname
        .map(|n| platform::validation::name_field(&mut errors, "nickname", &n, MAX_NICKNAME_CHARS));
    let community_id = change.community_id.or(user.community_id.clone());
    if let Some(id) = &community_id {
        if !org_has_kind(conn, id, OrgKind::Community).await? {
            errors.add("community_id", "is not a community");
        }
    }
    let compound_id = match change.compound_id {
        Some(id) => {
            let compound = crate::service::orgs::by_id(conn, &id).await?;
            match compound {
                Some(c) if c.kind == OrgKind::Compound.as_str() && c.parent_id == community_id => {
                    Some(id)
                }
                Some(c) if c.kind == OrgKind::Compound.as_str() => {
                    errors.add("compound_id", "is not in the chosen community");
                    None
                }
                _ => {
                    errors.add("compound_id", "is not a compound");
                    None
                }
            }
        }
        // Moving to another community drops a compound that belongs to the old one.
        None if community_id != user.community_id => None,
        None => user.compound_id.clone(),
    };
    errors.into_result()?;
    let mut active: user::ActiveModel = user.into();
    if let Some(n) = nickname {
        active.nickname = Set(Some(n));
    }
    active.community_id = Set(community_id);
    active.compound_id = Set(compound_id);
    active.updated_at = Set(now);
    let updated = active.update(conn).await?;
    Ok(profile_of(updated, actor))
}

async fn org_has_kind(
    conn: &impl ConnectionTrait,
    id: &str,
    kind: OrgKind,
) -> Result<bool, IdentityError> {
    Ok(crate::service::orgs::by_id(conn, id)
        .await?
        .is_some_and(|o| o.kind == kind.as_str()))
}

/// Binds the phone number behind a `getPhoneNumber` code; returns it masked.
pub async fn bind_phone(
    conn: &impl ConnectionTrait,
    wechat: &WechatClient,
    actor: &Actor,
    code: &str,
    now: DateTime<Utc>,
) -> Result<String, IdentityError> {
    let phone = wechat.phone_number(code).await?;
    let user = user::Entity::find_by_id(actor.user_id.clone())
        .one(conn)
        .await?
        .ok_or(IdentityError::NotFound("user"))?;
    let mut active: user::ActiveModel = user.into();
    active.phone = Set(Some(phone.pure_number.clone()));
    active.updated_at = Set(now);
    active.update(conn).await?;
    Ok(mask_phone(&phone.pure_number))
}

/// The nicknames of these users (those without one map to `None`), in one query.
pub async fn nicknames(
    conn: &impl ConnectionTrait,
    user_ids: &[String],
) -> Result<std::collections::HashMap<String, Option<String>>, IdentityError> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u.nickname))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked_in_the_middle() {
        assert_eq!(mask_phone("13800001234"), "138****1234");
        assert_eq!(mask_phone("123"), "***");
    }
}
