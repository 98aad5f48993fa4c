//! Points ledger over HTTP: wallets, statements, budgets, awards, time-credit gifts and the
//! ledger's proof of balance.

use crate::amount::Amount;
use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::idempotency::IdempotencyKey;
use crate::metrics::business::PointsSource;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use identity::Actor;
use platform::paging::{encode_cursor, page_limit};
use platform::ValidationErrors;
use points::use_cases::{self, Allocated, Allocation, Award, Awarded, Gift, Gifted, Posting};
use points::values::Note;
use points_ledger::service::statement::StatementLine;
use points_ledger::Asset;
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
    let wallet = use_cases::wallet(&state.reads, &user.0, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(WalletResponse::from(wallet)))
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
    let (lines, next) = use_cases::own_statement(
        &state.reads,
        &user.0,
        asset,
        page_limit(query.limit),
        before.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(EntriesPage {
        items: lines.into_iter().map(EntryItem::from).collect(),
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

/// Allocate points from the district treasury to a street or community budget, or from a
/// street's budget to one of its communities.
#[utoipa::path(post, path = "/api/v1/admin/budgets/allocations", tag = "ledger", security(("bearer" = [])),
    request_body = AllocationRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first response")),
    responses((status = 201, body = AllocationResponse),
        (status = 403, description = "`forbidden`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`budget_exhausted`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn allocate(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<AllocationRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, request) = (user.0, body.0);
    let unit = state.unit(&actor, key.clone(), &("allocation", &request));
    let command = Allocation::try_from(request)?;
    let posting = posting(&state, &actor, "allocation", &key);
    unit.respond(StatusCode::CREATED, move |conn| {
        Box::pin(async move {
            use_cases::allocate(conn, &actor, command, &posting)
                .await
                .map(AllocationResponse::from)
        })
    })
    .await
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
    let budget = use_cases::budget(&state.reads, &user.0, &path).await?;
    Ok(HttpResponse::Ok().json(BudgetResponse {
        org_id: budget.org_id,
        kind: budget.kind.to_owned(),
        balance: budget.balance,
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
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`; `resident_out_of_scope`: the budget pays its own residents and attendees only", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn award(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<AwardRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, request) = (user.0, body.0);
    let unit = state.unit(&actor, key.clone(), &("award", &request));
    let command = Award::try_from(request)?;
    let posting = posting(&state, &actor, "award", &key);
    let awarded = unit
        .run(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                use_cases::award(conn, &actor, command, &posting)
                    .await
                    .map(AwardResponse::from)
            })
        })
        .await?;
    if let Some(award) = awarded.value() {
        (state.metrics.business).points_issued(PointsSource::Award, award.points);
    }
    Ok(crate::unit_of_work::answer(awarded.answer()))
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
    let (actor, request) = (user.0, body.0);
    let unit = state.unit(&actor, key.clone(), &("gift", &request));
    let command = Gift::try_from(request)?;
    let posting = posting(&state, &actor, "gift", &key);
    unit.respond(StatusCode::CREATED, move |conn| {
        Box::pin(async move {
            use_cases::gift_time_credits(conn, &actor, command, &posting)
                .await
                .map(GiftResponse::from)
        })
    })
    .await
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
    // One snapshot for all its queries, so that writes going on cannot look like a mismatch.
    let snapshot = platform::db::snapshot(&state.reads).await?;
    let report = use_cases::verify_books(&snapshot, &user.0).await?;
    Ok(HttpResponse::Ok().json(VerifyResponse::from(report)))
}

// ---------------------------------------------------------------------------------------
// From requests to commands, from results to responses

/// Ledger postings of this request, keyed by its `Idempotency-Key` when it has one.
fn posting(state: &AppState, actor: &Actor, purpose: &str, key: &IdempotencyKey) -> Posting {
    Posting::new(
        actor,
        purpose,
        key.0.as_deref(),
        state.clock.now(),
        state.expiry_rule(),
    )
}

impl TryFrom<AllocationRequest> for Allocation {
    type Error = ValidationErrors;

    fn try_from(request: AllocationRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            points: request.points.quantity("points")?,
            memo: Note::memo("memo", request.memo.as_deref())?,
            org_id: request.org_id,
        })
    }
}

impl TryFrom<AwardRequest> for Award {
    type Error = ValidationErrors;

    fn try_from(request: AwardRequest) -> Result<Self, Self::Error> {
        let points = request.points.quantity("points");
        let reason = Note::reason("reason", &request.reason);
        match (points, reason) {
            (Ok(points), Ok(reason)) => Ok(Self {
                resident_id: request.user_id,
                points,
                reason,
                budget_org_id: request.org_id,
            }),
            (points, reason) => {
                let mut errors = ValidationErrors::new();
                errors.0.extend(points.err().into_iter().flat_map(|e| e.0));
                errors.0.extend(reason.err().into_iter().flat_map(|e| e.0));
                Err(errors)
            }
        }
    }
}

impl TryFrom<GiftRequest> for Gift {
    type Error = ValidationErrors;

    fn try_from(request: GiftRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            minutes: request.minutes.quantity("minutes")?,
            memo: Note::memo("memo", request.memo.as_deref())?,
            to_user_id: request.to_user_id,
        })
    }
}

impl From<use_cases::Wallet> for WalletResponse {
    fn from(wallet: use_cases::Wallet) -> Self {
        Self {
            points: PointsWallet {
                balance: wallet.points.balance,
                held: wallet.points.held,
                available: wallet.points.available(),
                expiring: wallet
                    .expiring
                    .into_iter()
                    .map(|(amount, expires_at)| ExpiringPoints { amount, expires_at })
                    .collect(),
            },
            time_credits: TimeCreditWallet {
                balance_minutes: wallet.time_credits.balance,
                held_minutes: wallet.time_credits.held,
            },
        }
    }
}

impl From<StatementLine> for EntryItem {
    fn from(l: StatementLine) -> Self {
        Self {
            id: l.id,
            amount: l.amount,
            balance_after: l.balance_after,
            kind: l.kind,
            memo: l.memo,
            created_at: l.created_at,
        }
    }
}

impl From<Allocated> for AllocationResponse {
    fn from(a: Allocated) -> Self {
        Self {
            transfer_id: a.transfer_id,
            from_org_id: a.from_org_id,
            org_id: a.org_id,
            points: a.points,
            memo: a.memo,
            balance: a.balance,
            created_at: a.created_at,
        }
    }
}

impl From<Awarded> for AwardResponse {
    fn from(a: Awarded) -> Self {
        Self {
            transfer_id: a.transfer_id,
            user_id: a.user_id,
            points: a.points,
            reason: a.reason,
            budget_org_id: a.budget_org_id,
            budget_balance: a.budget_balance,
            created_at: a.created_at,
        }
    }
}

impl From<Gifted> for GiftResponse {
    fn from(g: Gifted) -> Self {
        Self {
            transfer_id: g.transfer_id,
            to_user_id: g.to_user_id,
            minutes: g.minutes,
            memo: g.memo,
            balance_minutes: g.balance_minutes,
            created_at: g.created_at,
        }
    }
}
