//! Redemption (核销): a resident reserves an offer (points held on the ledger, stock taken,
//! per-resident limit checked), shows a short-lived one-time code, and the merchant's staff
//! verify it (the hold is posted to the merchant) — or the reservation is cancelled or
//! lapses (hold voided, stock back). Everything happens in the caller's transaction, so the
//! redemption and its points move together or not at all.

use crate::entity::{merchant, offer, redemption};
use crate::redemption_state::{RedemptionAction, RedemptionStatus};
use crate::service::offers::{public_offer, return_stock, take_stock};
use crate::{MerchantError, MerchantStatus};
use chrono::{DateTime, Duration, Utc};
use identity::Actor;
use platform::ids::{new_id, random_token, sha256_hex};
use platform::Reach;
use points_ledger::service::holds::{self, HoldRequest, PostRequest};
use points_ledger::service::transfers::TransferCode;
use points_ledger::{AccountRef, Asset, ExpiryRule};
use rand::Rng;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::QueryTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

#[derive(Debug, Clone, Copy)]
pub struct RedemptionSettings {
    /// How long a reservation waits to be redeemed (default 7 days).
    pub reservation_validity: Duration,
    /// How long a code shown for scanning stays valid (default 120 s).
    pub code_ttl: Duration,
    pub expiry_rule: ExpiryRule,
}

impl Default for RedemptionSettings {
    fn default() -> Self {
        Self {
            reservation_validity: Duration::days(7),
            code_ttl: Duration::seconds(120),
            expiry_rule: ExpiryRule::default(),
        }
    }
}

/// What to tell someone about a redemption.
struct Note<'a> {
    kind: &'a str,
    title: &'a str,
    body: String,
}

/// Tells every current member of the merchant (but `except`) in-app.
async fn notify_members(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    except: Option<&str>,
    note: &Note<'_>,
    redemption_id: &str,
    now: DateTime<Utc>,
) -> Result<(), MerchantError> {
    let members = crate::service::members::current_member_ids(conn, merchant_id).await?;
    for member in members.iter().filter(|m| Some(m.as_str()) != except) {
        notify(conn, member, note, redemption_id, now).await?;
    }
    Ok(())
}

async fn notify(
    conn: &impl ConnectionTrait,
    user_id: &str,
    note: &Note<'_>,
    redemption_id: &str,
    now: DateTime<Utc>,
) -> Result<(), MerchantError> {
    platform::notifications::notify(
        conn,
        platform::notifications::NewNotification {
            user_id,
            kind: note.kind,
            title: note.title.to_owned(),
            body: note.body.clone(),
            reference: Some(("redemption", redemption_id)),
        },
        now,
    )
    .await?;
    Ok(())
}

fn merchant_account(merchant_id: &str) -> AccountRef {
    AccountRef::merchant(merchant_id)
}

/// Reserves one unit of an offer for the actor.
pub async fn reserve(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    offer_id: &str,
    settings: &RedemptionSettings,
    now: DateTime<Utc>,
) -> Result<redemption::Model, MerchantError> {
    let offer = match public_offer(conn, offer_id, now).await {
        Ok(offer) => offer,
        Err(MerchantError::NotFound(_)) => {
            let exists = offer::Entity::find_by_id(offer_id.to_owned())
                .one(conn)
                .await?
                .is_some();
            return Err(if exists {
                MerchantError::OfferUnavailable
            } else {
                MerchantError::NotFound("offer")
            });
        }
        Err(e) => return Err(e),
    };
    if offer.kind == crate::offer_rules::OfferKind::HomeService.as_str() {
        return Err(MerchantError::HomeServiceOrderedNotReserved);
    }
    let id = new_id();
    let expires_at = now + settings.reservation_validity;
    // The hold comes first: its conditional update on the wallet row also serialises one
    // resident's concurrent reservations, so the limit count below sees the earlier ones.
    let hold = holds::reserve(
        conn,
        HoldRequest {
            idempotency_key: format!("redemption:{id}"),
            account: AccountRef::wallet(Asset::Points, &actor.user_id),
            amount: offer.points_price,
            // A day beyond the reservation: the redemption's own expiry releases it first.
            expires_at: expires_at + Duration::days(1),
            reference: Some(("redemption".to_owned(), id.clone())),
        },
        now,
    )
    .await?;
    if let Some(limit) = offer.per_user_limit {
        let taken = redemption::Entity::find()
            .filter(redemption::Column::OfferId.eq(offer_id))
            .filter(redemption::Column::UserId.eq(actor.user_id.as_str()))
            .filter(
                redemption::Column::Status
                    .is_in([RedemptionStatus::Reserved, RedemptionStatus::Redeemed]),
            )
            .count(conn)
            .await?;
        if i64::try_from(taken).unwrap_or(i64::MAX) >= limit {
            return Err(MerchantError::PerUserLimitReached);
        }
    }
    take_stock(conn, &offer).await?;
    let note = Note {
        kind: "redemption_reserved",
        title: "新的积分服务预约",
        body: format!(
            "{}：居民预约了一次服务（{} 积分），请在有效期内核销。",
            offer.title, offer.points_price
        ),
    };
    notify_members(conn, &offer.merchant_id, None, &note, &id, now).await?;
    Ok(redemption::ActiveModel {
        id: Set(id),
        offer_id: Set(offer.id),
        merchant_id: Set(offer.merchant_id),
        user_id: Set(actor.user_id.clone()),
        points: Set(offer.points_price),
        cash_value_fen: Set(offer.cash_value_fen),
        offer_title: Set(offer.title),
        status: Set(RedemptionStatus::Reserved),
        hold_id: Set(hold.id),
        expires_at: Set(expires_at),
        code_hash: Set(None),
        short_code_hash: Set(None),
        code_expires_at: Set(None),
        created_at: Set(now),
        redeemed_at: Set(None),
        redeemed_by: Set(None),
        ended_at: Set(None),
        end_reason: Set(None),
    }
    .insert(conn)
    .await?)
}

async fn own_redemption(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
) -> Result<redemption::Model, MerchantError> {
    redemption::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .filter(|r| r.user_id == actor.user_id)
        .ok_or(MerchantError::NotFound("redemption"))
}

fn short_code_hash(merchant_id: &str, digits: &str) -> String {
    sha256_hex(&format!("{merchant_id}:{digits}"))
}

/// A one-time code for the QR (128 random bits) and its 8-digit manual-entry fallback.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code: String,
    pub short_code: String,
    pub expires_at: DateTime<Utc>,
}

/// Issues a new code for a reservation; any earlier code stops working.
pub async fn issue_code(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    redemption_id: &str,
    settings: &RedemptionSettings,
    now: DateTime<Utc>,
) -> Result<IssuedCode, MerchantError> {
    let current = own_redemption(conn, actor, redemption_id).await?;
    if current.status.apply(RedemptionAction::IssueCode).is_none() || current.expires_at <= now {
        return Err(MerchantError::InvalidTransition {
            action: "show a code for",
            from: if current.status == RedemptionStatus::Reserved {
                "expired"
            } else {
                "no longer reserved"
            },
        });
    }
    let code = format!("LL{}", random_token(16));
    // A fresh 8-digit fallback that no live code of this merchant uses.
    let mut short_code = String::new();
    for _ in 0..5 {
        let candidate = format!("{:08}", rand::rng().random_range(0..100_000_000u32));
        let taken = redemption::Entity::find()
            .filter(
                redemption::Column::ShortCodeHash
                    .eq(short_code_hash(&current.merchant_id, &candidate)),
            )
            .count(conn)
            .await?;
        if taken == 0 {
            short_code = candidate;
            break;
        }
    }
    if short_code.is_empty() {
        return Err(MerchantError::Db(sea_orm::DbErr::Custom(
            "no free short code".into(),
        )));
    }
    let expires_at = (now + settings.code_ttl).min(current.expires_at);
    let updated = redemption::Entity::update_many()
        .col_expr(redemption::Column::CodeHash, Expr::value(sha256_hex(&code)))
        .col_expr(
            redemption::Column::ShortCodeHash,
            Expr::value(short_code_hash(&current.merchant_id, &short_code)),
        )
        .col_expr(redemption::Column::CodeExpiresAt, Expr::value(expires_at))
        .filter(redemption::Column::Id.eq(redemption_id))
        .filter(redemption::Column::Status.eq(RedemptionStatus::Reserved))
        .exec(conn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(MerchantError::InvalidTransition {
            action: "show a code for",
            from: "no longer reserved",
        });
    }
    Ok(IssuedCode {
        code,
        short_code,
        expires_at,
    })
}

/// What a live code of this merchant matches (QR payload or 8-digit fallback).
fn live_code(merchant_id: &str, code: &str, now: DateTime<Utc>) -> Condition {
    let code = code.trim();
    let mut matches = Condition::any().add(redemption::Column::CodeHash.eq(sha256_hex(code)));
    if code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()) {
        matches =
            matches.add(redemption::Column::ShortCodeHash.eq(short_code_hash(merchant_id, code)));
    }
    Condition::all()
        .add(matches)
        .add(redemption::Column::MerchantId.eq(merchant_id))
        .add(redemption::Column::Status.eq(RedemptionStatus::Reserved))
        .add(redemption::Column::CodeExpiresAt.gt(now))
        .add(redemption::Column::ExpiresAt.gt(now))
}

/// The actor must be staff of an active merchant; anything else reads as an invalid code,
/// so a code reveals nothing to someone who may not redeem it.
async fn check_verifier(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
) -> Result<(), MerchantError> {
    if !actor.merchant_ids().iter().any(|m| m == merchant_id) {
        return Err(MerchantError::CodeInvalid);
    }
    let active = merchant::Entity::find_by_id(merchant_id.to_owned())
        .one(conn)
        .await?
        .is_some_and(|m| m.status == MerchantStatus::Active);
    if active {
        Ok(())
    } else {
        Err(MerchantError::CodeInvalid)
    }
}

/// What a code would redeem; consumes nothing.
pub async fn preview(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<redemption::Model, MerchantError> {
    check_verifier(conn, actor, merchant_id).await?;
    redemption::Entity::find()
        .filter(live_code(merchant_id, code, now))
        .one(conn)
        .await?
        .ok_or(MerchantError::CodeInvalid)
}

/// Redeems the reservation behind a code, exactly once: a compare-and-set flips it to
/// `redeemed` and clears the code, then the held points go to the merchant.
pub async fn verify(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    code: &str,
    settings: &RedemptionSettings,
    now: DateTime<Utc>,
) -> Result<redemption::Model, MerchantError> {
    let found = preview(conn, actor, merchant_id, code, now).await?;
    let flipped = redemption::Entity::update_many()
        .col_expr(
            redemption::Column::Status,
            Expr::value(RedemptionStatus::Redeemed),
        )
        .col_expr(redemption::Column::RedeemedAt, Expr::value(now))
        .col_expr(
            redemption::Column::RedeemedBy,
            Expr::value(actor.user_id.clone()),
        )
        .col_expr(redemption::Column::EndedAt, Expr::value(now))
        .col_expr(
            redemption::Column::CodeHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            redemption::Column::ShortCodeHash,
            Expr::value(Option::<String>::None),
        )
        .filter(redemption::Column::Id.eq(found.id.as_str()))
        .filter(live_code(merchant_id, code, now))
        .exec(conn)
        .await?;
    if flipped.rows_affected != 1 {
        return Err(MerchantError::CodeInvalid);
    }
    holds::post(
        conn,
        PostRequest {
            hold_id: found.hold_id.clone(),
            to: merchant_account(merchant_id),
            amount: found.points,
            code: TransferCode::Redemption,
            memo: found.offer_title.clone(),
            idempotency_key: format!("redemption-post:{}", found.id),
        },
        settings.expiry_rule,
        now,
    )
    .await?;
    let body = format!("{} 已核销，使用 {} 积分。", found.offer_title, found.points);
    let to_resident = Note {
        kind: "redemption_verified",
        title: "核销成功",
        body: body.clone(),
    };
    notify(conn, &found.user_id, &to_resident, &found.id, now).await?;
    let to_staff = Note {
        kind: "redemption_verified",
        title: "已核销一笔",
        body,
    };
    notify_members(
        conn,
        merchant_id,
        Some(&actor.user_id),
        &to_staff,
        &found.id,
        now,
    )
    .await?;
    Ok(redemption::Model {
        status: RedemptionStatus::Redeemed,
        redeemed_at: Some(now),
        redeemed_by: Some(actor.user_id.clone()),
        ended_at: Some(now),
        code_hash: None,
        short_code_hash: None,
        ..found
    })
}

/// Ends a reservation without redeeming it: hold voided, stock back. `false` when it was no
/// longer reserved (someone else ended it first).
async fn end_reservation(
    conn: &impl ConnectionTrait,
    reservation: &redemption::Model,
    status: RedemptionStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, MerchantError> {
    let flipped = redemption::Entity::update_many()
        .col_expr(redemption::Column::Status, Expr::value(status))
        .col_expr(redemption::Column::EndedAt, Expr::value(now))
        .col_expr(redemption::Column::EndReason, Expr::value(reason))
        .col_expr(
            redemption::Column::CodeHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            redemption::Column::ShortCodeHash,
            Expr::value(Option::<String>::None),
        )
        .filter(redemption::Column::Id.eq(reservation.id.as_str()))
        .filter(redemption::Column::Status.eq(RedemptionStatus::Reserved))
        .exec(conn)
        .await?;
    if flipped.rows_affected != 1 {
        return Ok(false);
    }
    holds::void(conn, &reservation.hold_id, now).await?;
    if status == RedemptionStatus::Expired || reason == "merchant_unavailable" {
        let note = Note {
            kind: "redemption_ended",
            title: "预约已结束，积分已退回",
            body: format!(
                "{} 的预约已结束，{} 积分已退回。",
                reservation.offer_title, reservation.points
            ),
        };
        notify(conn, &reservation.user_id, &note, &reservation.id, now).await?;
    }
    return_stock(conn, &reservation.offer_id).await?;
    Ok(true)
}

/// The resident cancels their own reservation.
pub async fn cancel(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    redemption_id: &str,
    now: DateTime<Utc>,
) -> Result<redemption::Model, MerchantError> {
    let current = own_redemption(conn, actor, redemption_id).await?;
    if !end_reservation(
        conn,
        &current,
        RedemptionStatus::Cancelled,
        "cancelled_by_resident",
        now,
    )
    .await?
    {
        return Err(MerchantError::InvalidTransition {
            action: "cancel",
            from: "no longer reserved",
        });
    }
    Ok(redemption::Model {
        status: RedemptionStatus::Cancelled,
        ended_at: Some(now),
        end_reason: Some("cancelled_by_resident".to_owned()),
        code_hash: None,
        short_code_hash: None,
        ..current
    })
}

/// Ends every open reservation of a merchant that is suspended or closed; points go back.
pub async fn void_open_for_merchant(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    now: DateTime<Utc>,
) -> Result<u64, MerchantError> {
    let open = redemption::Entity::find()
        .filter(redemption::Column::MerchantId.eq(merchant_id))
        .filter(redemption::Column::Status.eq(RedemptionStatus::Reserved))
        .all(conn)
        .await?;
    let mut ended = 0;
    for reservation in open {
        if end_reservation(
            conn,
            &reservation,
            RedemptionStatus::Cancelled,
            "merchant_unavailable",
            now,
        )
        .await?
        {
            ended += 1;
        }
    }
    Ok(ended)
}

/// Reservations whose time ran out unredeemed: what [`expire_due`] ends, and what the job
/// round asks about before running it. Within `reach`: at merchants of its communities.
pub fn due_to_expire(now: DateTime<Utc>, reach: &Reach) -> sea_orm::Select<redemption::Entity> {
    let due = redemption::Entity::find()
        .filter(redemption::Column::Status.eq(RedemptionStatus::Reserved))
        .filter(redemption::Column::ExpiresAt.lte(now))
        .order_by_asc(redemption::Column::ExpiresAt);
    match reach.path() {
        None => due,
        // The merchant's community checked row by row, never a way in (as the parking
        // no-shows: a plan that starts from the org's merchants walks their history).
        Some(path) => due.filter(
            Expr::expr(SimpleExpr::SubQuery(
                None,
                Box::new(community_path_of_merchant().into_sub_query_statement()),
            ))
            .like(format!("{path}%")),
        ),
    }
}

/// The tree path of the community of the redemption's merchant, for one redemption row.
fn community_path_of_merchant() -> sea_orm::sea_query::SelectStatement {
    use identity::entity::org;
    let community = merchant::Entity::find()
        .select_only()
        .column(merchant::Column::CommunityId)
        .filter(
            Expr::col((merchant::Entity, merchant::Column::Id))
                .equals((redemption::Entity, redemption::Column::MerchantId)),
        )
        .into_query();
    org::Entity::find()
        .select_only()
        .column(org::Column::Path)
        .filter(
            Expr::col((org::Entity, org::Column::Id)).eq(SimpleExpr::SubQuery(
                None,
                Box::new(community.into_sub_query_statement()),
            )),
        )
        .into_query()
}

/// The job: reservations past their validity lapse (hold voided, stock back). Idempotent
/// and safe on several instances (each one ends by compare-and-set).
pub async fn expire_due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    reach: &Reach,
    limit: u64,
) -> Result<u64, MerchantError> {
    let due = due_to_expire(now, reach).limit(limit).all(conn).await?;
    let mut expired = 0;
    for reservation in due {
        if end_reservation(
            conn,
            &reservation,
            RedemptionStatus::Expired,
            "not_redeemed_in_time",
            now,
        )
        .await?
        {
            expired += 1;
        }
    }
    Ok(expired)
}

/// Newest first, `limit` at a time, older than `before` (a redemption id).
async fn list(
    conn: &impl ConnectionTrait,
    filter: Condition,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<redemption::Model>, Option<String>), MerchantError> {
    let mut query = redemption::Entity::find().filter(filter);
    if let Some(before) = before {
        query = query.filter(redemption::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(redemption::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    let (rows, next) = platform::paging::split_page(rows, limit, |row| row.id.clone());
    Ok((rows, next))
}

fn of_user(user_id: &str) -> Condition {
    Condition::all().add(redemption::Column::UserId.eq(user_id))
}

fn of_merchant(merchant_id: &str) -> Condition {
    Condition::all().add(redemption::Column::MerchantId.eq(merchant_id))
}

/// The caller's own reservations and redemptions, newest first.
pub async fn list_own(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<redemption::Model>, Option<String>), MerchantError> {
    list(conn, of_user(&actor.user_id), limit, before).await
}

/// A merchant's redemptions, newest first, for its own people.
pub async fn list_of_merchant(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<redemption::Model>, Option<String>), MerchantError> {
    crate::service::offers::merchant_of_member(conn, actor, merchant_id).await?;
    list(conn, of_merchant(merchant_id), limit, before).await
}

/// A merchant's figures from `from` to `to`: for its own people, and for government staff
/// over its community.
pub async fn stats_for(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MerchantStats, MerchantError> {
    if crate::service::offers::merchant_of_member(conn, actor, merchant_id)
        .await
        .is_err()
        && crate::service::applications::find_in_scope(conn, actor, merchant_id)
            .await
            .is_err()
    {
        return Err(MerchantError::Forbidden(
            "You are not staff of this merchant.",
        ));
    }
    if from >= to {
        return Err(platform::ValidationErrors::single("from", "must be before to").into());
    }
    stats(conn, merchant_id, from, to).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MerchantStats {
    pub redemptions: i64,
    pub points_received: i64,
    pub service_value_fen: i64,
}

/// Redeemed reservations of a merchant with `redeemed_at` in `[from, to)`.
pub async fn stats(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MerchantStats, MerchantError> {
    let rows = redemption::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "redemptions")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(points), 0) AS BIGINT)"),
            "points_received",
        )
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(cash_value_fen), 0) AS BIGINT)"),
            "service_value_fen",
        )
        .filter(redemption::Column::MerchantId.eq(merchant_id))
        .filter(redemption::Column::Status.eq(RedemptionStatus::Redeemed))
        .filter(redemption::Column::RedeemedAt.gte(from))
        .filter(redemption::Column::RedeemedAt.lt(to))
        .into_tuple::<(i64, i64, i64)>()
        .one(conn)
        .await?;
    Ok(rows
        .map(
            |(redemptions, points_received, service_value_fen)| MerchantStats {
                redemptions,
                points_received,
                service_value_fen,
            },
        )
        .unwrap_or_default())
}
