//! Points ledger over HTTP: wallets, statements, budgets, awards, time-credit gifts and the
//! ledger's proof of balance.

use crate::amount::Amount;
use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::idempotency::{Begun, Idempotency, IdempotencyKey};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use identity::actor::district_of;
use identity::service::{orgs, users};
use identity::{Actor, OrgKind, Role};
use platform::paging::{encode_cursor, page_limit};
use platform::Code;
use platform::ValidationErrors;
use points_ledger::service::accounts::balance_of;
use points_ledger::service::statement::{expiring, statement};
use points_ledger::service::transfers::{transfer, TransferCode, TransferRequest};
use points_ledger::service::verify::verify;
use points_ledger::{AccountRef, Asset, LedgerError};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me/wallet").route(web::get().to(wallet)))
        .service(web::resource("/me/wallet/entries").route(web::get().to(entries)))
        .service(
            web::resource("/me/time-credits/transfers").route(web::post().to(gift_time_credits)),
        )
        .service(web::resource("/admin/budgets/allocations").route(web::post().to(allocate)))
        .service(web::resource("/staff/budgets/{org_id}").route(web::get().to(budget)))
        .service(web::resource("/staff/points/awards").route(web::post().to(award)))
        .service(web::resource("/admin/ledger/verify").route(web::get().to(verify_ledger)));
}

/// A budget that cannot cover an award or allocation has run out: `budget_exhausted`, not
/// the `insufficient_points` of a wallet.
fn budget_error(err: LedgerError) -> ApiError {
    match err {
        LedgerError::Insufficient {
            needed, available, ..
        } => ApiError::new(
            Code::BudgetExhausted,
            format!("Needed {needed}, only {available} available."),
        ),
        other => other.into(),
    }
}

/// The ledger key of an HTTP request: derived from the client's Idempotency-Key when given,
/// so the ledger's own exactly-once guarantee backs the HTTP one.
fn transfer_key(actor: &Actor, purpose: &str, key: &IdempotencyKey) -> String {
    match &key.0 {
        Some(k) => format!("http:{}:{purpose}:{k}", actor.user_id),
        None => format!(
            "http:{}:{purpose}:{}",
            actor.user_id,
            platform::ids::new_id()
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Wallet and statement

#[derive(Serialize, ToSchema)]
pub struct ExpiringPoints {
    pub amount: i64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PointsWallet {
    pub balance: i64,
    /// Reserved for pending redemptions or bookings.
    pub held: i64,
    /// `balance - held`: what can be spent now.
    pub available: i64,
    /// Unexpired points by expiry date, soonest first.
    pub expiring: Vec<ExpiringPoints>,
}

#[derive(Serialize, ToSchema)]
pub struct TimeCreditWallet {
    pub balance_minutes: i64,
    pub held_minutes: i64,
}

#[derive(Serialize, ToSchema)]
pub struct WalletResponse {
    pub points: PointsWallet,
    pub time_credits: TimeCreditWallet,
}

/// The resident's points (with what expires when) and time credits.
#[utoipa::path(get, path = "/api/v1/me/wallet", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = WalletResponse), (status = 401, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn wallet(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let points_ref = AccountRef::wallet(Asset::Points, &user.0.user_id);
    let points = balance_of(&state.db, &points_ref).await?;
    let credits = balance_of(
        &state.db,
        &AccountRef::wallet(Asset::TimeCredits, &user.0.user_id),
    )
    .await?;
    let expiring = expiring(&state.db, &points_ref, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(WalletResponse {
        points: PointsWallet {
            balance: points.balance,
            held: points.held,
            available: points.available(),
            expiring: expiring
                .into_iter()
                .map(|(amount, expires_at)| ExpiringPoints { amount, expires_at })
                .collect(),
        },
        time_credits: TimeCreditWallet {
            balance_minutes: credits.balance,
            held_minutes: credits.held,
        },
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct EntriesQuery {
    /// `points` (default) or `time_credits`.
    pub asset: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EntryItem {
    pub id: String,
    /// Positive: in; negative: out.
    pub amount: i64,
    pub balance_after: i64,
    /// `allocation`, `award`, `redemption`, `parking`, `expiry`, `gift`, `reversal`, ...
    pub kind: String,
    pub memo: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct EntriesPage {
    pub items: Vec<EntryItem>,
    pub next_cursor: Option<String>,
}

/// The resident's statement, newest first.
#[utoipa::path(get, path = "/api/v1/me/wallet/entries", tag = "ledger", security(("bearer" = [])), params(EntriesQuery),
    responses((status = 200, body = EntriesPage), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn entries(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<EntriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let asset = match query.asset.as_deref() {
        None => Asset::Points,
        Some(value) => Asset::parse(value)
            .ok_or_else(|| ValidationErrors::single("asset", "must be points or time_credits"))?,
    };
    let before = crate::extract::cursor_position(query.cursor.as_deref())?;
    let (lines, next) = statement(
        &state.db,
        &AccountRef::wallet(asset, &user.0.user_id),
        page_limit(query.limit),
        before.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(EntriesPage {
        items: lines
            .into_iter()
            .map(|l| EntryItem {
                id: l.id,
                amount: l.amount,
                balance_after: l.balance_after,
                kind: l.kind,
                memo: l.memo,
                created_at: l.created_at,
            })
            .collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

// ---------------------------------------------------------------------------------------
// Budgets

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationRequest {
    /// A street or community.
    pub org_id: String,
    pub points: Amount,
    #[serde(default)]
    pub memo: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AllocationResponse {
    pub transfer_id: String,
    /// The district (treasury) or street the points came from.
    pub from_org_id: String,
    pub org_id: String,
    pub points: i64,
    pub memo: String,
    /// The receiving budget's balance afterwards.
    pub balance: i64,
    pub created_at: DateTime<Utc>,
}

fn memo_of(memo: Option<String>, field: &str) -> Result<String, ApiError> {
    let memo = memo.unwrap_or_default().trim().to_owned();
    if memo.chars().count() > 200 {
        return Err(ValidationErrors::single(field, "must be at most 200 characters").into());
    }
    Ok(memo)
}

/// Allocate points from the district treasury to a street or community budget, or from a
/// street's budget to one of its communities.
#[utoipa::path(post, path = "/api/v1/admin/budgets/allocations", tag = "ledger", security(("bearer" = [])),
    request_body = AllocationRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first response")),
    responses((status = 201, body = AllocationResponse),
        (status = 403, description = "`forbidden`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`budget_exhausted`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`; `resident_out_of_scope`: the budget pays its own residents and attendees only", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn allocate(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<AllocationRequest>,
) -> Result<HttpResponse, ApiError> {
    let actor = &user.0;
    let request = body.0;
    let points = request.points.positive_integer("points")?;
    let memo = memo_of(request.memo.clone(), "memo")?;
    let target = orgs::find(&state.db, &request.org_id)
        .await?
        .ok_or_else(|| ValidationErrors::single("org_id", "no such org"))?;
    let kind = OrgKind::parse(&target.kind);
    if !matches!(kind, Some(OrgKind::Street | OrgKind::Community)) {
        return Err(ValidationErrors::single(
            "org_id",
            "budgets are allocated to streets and communities",
        )
        .into());
    }
    let (source, from_org_id) = match actor.staff_role_over(&target.path) {
        Some(Role::DistrictAdmin) => {
            let district = district_of(&target.path).ok_or_else(|| ApiError::internal("org without district"))?;
            (AccountRef::treasury(district), district.to_owned())
        }
        Some(Role::StreetStaff) if kind == Some(OrgKind::Community) => {
            let street = target.parent_id.clone().ok_or_else(|| ApiError::internal("community without street"))?;
            (AccountRef::org_budget(&street), street)
        }
        _ => {
            return Err(ApiError::forbidden(
                "Only the district admin allocates from the treasury, and street staff to their own communities.",
            ))
        }
    };

    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let fingerprint = ("allocation", &request);
    let guard = match Idempotency::begin(
        &txn,
        actor,
        IdempotencyKey(key.0.clone()),
        &fingerprint,
        now,
    )
    .await?
    {
        Begun::Replay(response) => return Ok(response),
        Begun::Proceed(guard) => guard,
    };
    let posted = transfer(
        &txn,
        TransferRequest {
            idempotency_key: transfer_key(actor, "allocation", &key),
            from: source,
            to: AccountRef::org_budget(&target.id),
            amount: points,
            code: TransferCode::Allocation,
            memo: memo.clone(),
            reference: Some(("org".to_owned(), target.id.clone())),
        },
        state.expiry_rule(),
        now,
    )
    .await
    .map_err(budget_error)?;
    let balance = balance_of(&txn, &AccountRef::org_budget(&target.id))
        .await
        .map_err(budget_error)?;
    let response = AllocationResponse {
        transfer_id: posted.transfer.id,
        from_org_id,
        org_id: target.id,
        points,
        memo,
        balance: balance.balance,
        created_at: posted.transfer.created_at,
    };
    let http = guard.finish(&txn, StatusCode::CREATED, &response).await?;
    txn.commit().await?;
    Ok(http)
}

#[derive(Serialize, ToSchema)]
pub struct BudgetResponse {
    pub org_id: String,
    /// `treasury` for a district (negative: points issued so far), else `org_budget`.
    pub kind: String,
    pub balance: i64,
}

/// An org's points budget, for staff of that org or above.
#[utoipa::path(get, path = "/api/v1/staff/budgets/{org_id}", tag = "ledger", security(("bearer" = [])),
    params(("org_id" = String, Path)),
    responses((status = 200, body = BudgetResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn budget(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org = orgs::find(&state.db, &path)
        .await?
        .ok_or_else(|| ApiError::not_found("No such org."))?;
    if !user.0.can_reach(&org.path) {
        return Err(ApiError::forbidden("This org is outside your scope."));
    }
    let (account, kind) = if org.kind == OrgKind::District.as_str() {
        (AccountRef::treasury(&org.id), "treasury")
    } else {
        (AccountRef::org_budget(&org.id), "org_budget")
    };
    let balance = balance_of(&state.db, &account)
        .await
        .map_err(budget_error)?;
    Ok(HttpResponse::Ok().json(BudgetResponse {
        org_id: org.id,
        kind: kind.to_owned(),
        balance: balance.balance,
    }))
}

// ---------------------------------------------------------------------------------------
// Awards

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardRequest {
    /// The resident receiving the points.
    pub user_id: String,
    pub points: Amount,
    #[schema(example = "参加社区清洁志愿活动", min_length = 1, max_length = 200)]
    pub reason: String,
    /// The community (or street) budget to pay from; default: the caller's own org.
    #[serde(default)]
    pub org_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AwardResponse {
    pub transfer_id: String,
    pub user_id: String,
    pub points: i64,
    pub reason: String,
    pub budget_org_id: String,
    /// The budget's balance afterwards.
    pub budget_balance: i64,
    pub created_at: DateTime<Utc>,
}

/// Award points to a resident from a community's (or street's) budget.
#[utoipa::path(post, path = "/api/v1/staff/points/awards", tag = "ledger", security(("bearer" = [])),
    request_body = AwardRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first response")),
    responses((status = 201, body = AwardResponse),
        (status = 403, description = "`forbidden`: not your budget", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`budget_exhausted`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn award(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<AwardRequest>,
) -> Result<HttpResponse, ApiError> {
    let actor = &user.0;
    if !actor.is_org_staff() {
        return Err(ApiError::forbidden(
            "Only street and community staff award points.",
        ));
    }
    let request = body.0;
    let mut errors = ValidationErrors::new();
    let points = request
        .points
        .positive_integer("points")
        .map_err(|e| errors.0.extend(e.0))
        .ok();
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 200 {
        errors.add("reason", "must be 1 to 200 characters");
    }
    let budget_org_id = match &request.org_id {
        Some(id) => Some(id.clone()),
        None => actor
            .staff_scopes()
            .find(|(_, org)| matches!(org.kind, OrgKind::Community | OrgKind::Street))
            .map(|(_, org)| org.id.clone()),
    };
    if budget_org_id.is_none() {
        errors.add("org_id", "name the community or street budget to pay from");
    }
    errors.into_result()?;
    let (points, budget_org_id) = match (points, budget_org_id) {
        (Some(p), Some(o)) => (p, o),
        _ => return Err(ApiError::internal("validated award without points or org")),
    };
    let budget_org = orgs::find(&state.db, &budget_org_id)
        .await?
        .ok_or_else(|| ValidationErrors::single("org_id", "no such org"))?;
    if !matches!(
        OrgKind::parse(&budget_org.kind),
        Some(OrgKind::Community | OrgKind::Street)
    ) {
        return Err(ValidationErrors::single(
            "org_id",
            "awards are paid from a community or street budget",
        )
        .into());
    }
    if !actor.can_reach(&budget_org.path) {
        return Err(ApiError::forbidden(
            "You cannot award from another org's budget.",
        ));
    }
    let Some(resident) = users::find_resident(&state.db, &request.user_id).await? else {
        return Err(ValidationErrors::single("user_id", "no such resident").into());
    };
    ensure_budget_pays_resident(&state, &budget_org, &resident).await?;

    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let guard = match Idempotency::begin(
        &txn,
        actor,
        IdempotencyKey(key.0.clone()),
        &("award", &request),
        now,
    )
    .await?
    {
        Begun::Replay(response) => return Ok(response),
        Begun::Proceed(guard) => guard,
    };
    let budget = AccountRef::org_budget(&budget_org.id);
    let posted = transfer(
        &txn,
        TransferRequest {
            idempotency_key: transfer_key(actor, "award", &key),
            from: budget.clone(),
            to: AccountRef::wallet(Asset::Points, &request.user_id),
            amount: points,
            code: TransferCode::Award,
            memo: reason.clone(),
            reference: Some(("staff".to_owned(), actor.user_id.clone())),
        },
        state.expiry_rule(),
        now,
    )
    .await
    .map_err(budget_error)?;
    let budget_balance = balance_of(&txn, &budget).await.map_err(budget_error)?;
    let response = AwardResponse {
        transfer_id: posted.transfer.id,
        user_id: request.user_id.clone(),
        points,
        reason,
        budget_org_id: budget_org.id,
        budget_balance: budget_balance.balance,
        created_at: posted.transfer.created_at,
    };
    let http = guard.finish(&txn, StatusCode::CREATED, &response).await?;
    txn.commit().await?;
    Ok(http)
}

/// A budget pays residents of its own org's subtree, or residents who checked in at an
/// activity run in that subtree (volunteers come from elsewhere too). Anything wider would
/// let one street's budget flow to another street's residents.
async fn ensure_budget_pays_resident(
    state: &AppState,
    budget_org: &identity::entity::org::Model,
    resident: &identity::entity::user::Model,
) -> Result<(), ApiError> {
    let home = match &resident.community_id {
        Some(id) => orgs::find(&state.db, id).await?,
        None => None,
    };
    if home.is_some_and(|c| c.path.starts_with(&budget_org.path)) {
        return Ok(());
    }
    if timebank::service::attendance::attended_under(&state.db, &resident.id, &budget_org.path)
        .await?
    {
        return Ok(());
    }
    Err(ApiError::new(
        Code::ResidentOutOfScope,
        "This budget pays residents of its own community or street, or who attended its activities.",
    )
    .with_errors(vec![platform::FieldError {
        field: "user_id".to_owned(),
        message: "is not a resident of the budget's org and attended none of its activities"
            .to_owned(),
    }]))
}

// ---------------------------------------------------------------------------------------
// Time-credit gifts

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiftRequest {
    pub to_user_id: String,
    pub minutes: Amount,
    #[serde(default)]
    #[schema(example = "给妈妈")]
    pub memo: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GiftResponse {
    pub transfer_id: String,
    pub to_user_id: String,
    pub minutes: i64,
    pub memo: String,
    /// The giver's time-credit balance afterwards.
    pub balance_minutes: i64,
    pub created_at: DateTime<Utc>,
}

/// Give time credits to another resident (e.g. a parent).
#[utoipa::path(post, path = "/api/v1/me/time-credits/transfers", tag = "ledger", security(("bearer" = [])),
    request_body = GiftRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first response")),
    responses((status = 201, body = GiftResponse),
        (status = 409, description = "`insufficient_time_credits`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn gift_time_credits(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<GiftRequest>,
) -> Result<HttpResponse, ApiError> {
    let actor = &user.0;
    let request = body.0;
    let minutes = request.minutes.positive_integer("minutes")?;
    let memo = memo_of(request.memo.clone(), "memo")?;
    if request.to_user_id == actor.user_id {
        return Err(ValidationErrors::single("to_user_id", "cannot be yourself").into());
    }
    if users::find_resident(&state.db, &request.to_user_id)
        .await?
        .is_none()
    {
        return Err(ValidationErrors::single("to_user_id", "no such resident").into());
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let guard = match Idempotency::begin(
        &txn,
        actor,
        IdempotencyKey(key.0.clone()),
        &("gift", &request),
        now,
    )
    .await?
    {
        Begun::Replay(response) => return Ok(response),
        Begun::Proceed(guard) => guard,
    };
    let own = AccountRef::wallet(Asset::TimeCredits, &actor.user_id);
    let posted = transfer(
        &txn,
        TransferRequest {
            idempotency_key: transfer_key(actor, "gift", &key),
            from: own.clone(),
            to: AccountRef::wallet(Asset::TimeCredits, &request.to_user_id),
            amount: minutes,
            code: TransferCode::Gift,
            memo: memo.clone(),
            reference: None,
        },
        state.expiry_rule(),
        now,
    )
    .await?;
    let balance = balance_of(&txn, &own).await?;
    let response = GiftResponse {
        transfer_id: posted.transfer.id,
        to_user_id: request.to_user_id.clone(),
        minutes,
        memo,
        balance_minutes: balance.balance,
        created_at: posted.transfer.created_at,
    };
    let http = guard.finish(&txn, StatusCode::CREATED, &response).await?;
    txn.commit().await?;
    Ok(http)
}

// ---------------------------------------------------------------------------------------
// Verification

#[derive(Serialize, ToSchema)]
pub struct AssetSumItem {
    pub asset: String,
    /// Zero when the books balance.
    pub sum: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MismatchItem {
    /// `asset_sum`, `balance_vs_entries`, `held_vs_holds`, `negative_balance`,
    /// `transfer_entries`, `lots_vs_balance`.
    pub check: String,
    pub subject: String,
    pub expected: i64,
    pub actual: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = LedgerVerifyResponse)]
pub struct VerifyResponse {
    pub balanced: bool,
    pub assets: Vec<AssetSumItem>,
    pub accounts_checked: i64,
    pub transfers_checked: i64,
    pub mismatches: Vec<MismatchItem>,
}

impl From<points_ledger::service::verify::VerifyReport> for VerifyResponse {
    fn from(report: points_ledger::service::verify::VerifyReport) -> Self {
        Self {
            balanced: report.balanced,
            assets: report
                .assets
                .into_iter()
                .map(|a| AssetSumItem {
                    asset: a.asset,
                    sum: a.sum,
                })
                .collect(),
            accounts_checked: report.accounts_checked,
            transfers_checked: report.transfers_checked,
            mismatches: report
                .mismatches
                .into_iter()
                .map(|m| MismatchItem {
                    check: m.check.to_owned(),
                    subject: m.subject,
                    expected: m.expected,
                    actual: m.actual,
                })
                .collect(),
        }
    }
}

/// Proves the books: every asset sums to zero and every balance equals its entries.
#[utoipa::path(get, path = "/api/v1/admin/ledger/verify", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = VerifyResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn verify_ledger(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    if !user.0.has_role(Role::DistrictAdmin) {
        return Err(ApiError::forbidden(
            "Only the district admin verifies the ledger.",
        ));
    }
    let report = verify(&state.db).await?;
    Ok(HttpResponse::Ok().json(VerifyResponse::from(report)))
}
