//! Merchants and partners: applications, review, offers and the residents' catalog.

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::public_reads::{self, Family};
use crate::state::AppState;
use crate::unit_of_work::answer;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use merchant::entity::{merchant as merchant_row, offer as offer_row};
use merchant::offer_rules::OfferInput;
use merchant::service::applications::{self, ApplicationInput};
use merchant::service::offers::{self, CatalogFilter, OfferPatch};
use merchant::{MerchantAction, MerchantStatus};
use platform::paging::{encode_cursor, page_limit};
use platform::ValidationErrors;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/merchants/applications").route(web::post().to(apply)))
        .service(web::resource("/staff/merchants").route(web::get().to(list_for_staff)))
        .service(web::resource("/staff/merchants/{id}").route(web::get().to(merchant_detail)))
        .service(web::resource("/staff/merchants/{id}/{action}").route(web::post().to(review)))
        .service(web::resource("/merchants/{id}/invites").route(web::post().to(invite)))
        .service(
            web::resource("/merchant-invites/{code}/accept").route(web::post().to(accept_invite)),
        )
        .service(web::resource("/merchants/{id}/staff").route(web::get().to(members)))
        .service(
            web::resource("/merchants/{id}/staff/{user_id}").route(web::delete().to(remove_member)),
        )
        .service(
            web::resource("/merchants/{id}/offers")
                .route(web::post().to(create_offer))
                .route(web::get().to(own_offers)),
        )
        .service(
            web::resource("/merchants/{id}/offers/{offer_id}").route(web::patch().to(update_offer)),
        )
        .service(
            web::resource("/merchants/{id}/offers/{offer_id}/{action}")
                .route(web::post().to(publish_offer)),
        )
        .service(web::resource("/offers").route(web::get().to(catalog)))
        .service(web::resource("/offers/{id}").route(web::get().to(offer)));
}

// ---------------------------------------------------------------------------------------
// Merchants

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    #[schema(example = "老王理发店", min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(example = "生活服务", min_length = 1, max_length = 30)]
    pub category: String,
    #[schema(min_length = 1, max_length = 40)]
    pub license_no: String,
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    #[schema(example = "13800001111")]
    pub contact_phone: String,
    pub community_id: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// The partner's form: `group` (团体型) or `independent` (独立型, default). Also
    /// accepted under its first name, `partner_type`.
    #[serde(default, alias = "partner_type")]
    pub form: Option<String>,
    /// The partner kind: `enterprise` (default: a merchant), `social_org`,
    /// `capable_resident`, `public_unit`, `charity_team` or `volunteer_team`.
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MerchantResponse {
    pub id: String,
    pub name: String,
    pub category: String,
    pub license_no: String,
    pub address: String,
    pub contact_phone: String,
    pub community_id: String,
    pub description: String,
    /// The form (`group` or `independent`), under its first name.
    pub partner_type: String,
    /// The form: `group` or `independent`.
    pub form: String,
    /// The partner kind: `enterprise`, `social_org`, `capable_resident`, `public_unit`,
    /// `charity_team` or `volunteer_team`.
    pub kind: String,
    /// `pending`, `active`, `suspended`, `rejected` or `closed`.
    pub status: String,
    pub applicant_user_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<merchant_row::Model> for MerchantResponse {
    fn from(m: merchant_row::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            category: m.category,
            license_no: m.license_no,
            address: m.address,
            contact_phone: m.contact_phone,
            community_id: m.community_id,
            description: m.description,
            form: m.partner_type.clone(),
            partner_type: m.partner_type,
            kind: m.kind,
            status: m.status.as_str().to_owned(),
            applicant_user_id: m.applicant_user_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Apply to join as a merchant or partner; staff of the community review it.
#[utoipa::path(post, path = "/api/v1/merchants/applications", tag = "merchants", security(("bearer" = [])),
    request_body = ApplicationRequest,
    responses((status = 201, body = MerchantResponse),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn apply(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<ApplicationRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let input = ApplicationInput {
        name: b.name,
        category: b.category,
        license_no: b.license_no,
        address: b.address,
        contact_phone: b.contact_phone,
        community_id: b.community_id,
        description: b.description,
        partner_type: b.form,
        kind: b.kind,
    };
    let created = applications::apply(&state.db, &user.0, input, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(MerchantResponse::from(created)))
}

#[derive(Deserialize, IntoParams)]
pub struct MerchantListQuery {
    /// `pending`, `active`, `suspended`, `rejected` or `closed`.
    pub status: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MerchantPage {
    pub items: Vec<MerchantResponse>,
    pub next_cursor: Option<String>,
}

/// Merchants in the caller's street or community, newest first.
#[utoipa::path(get, path = "/api/v1/staff/merchants", tag = "merchants", security(("bearer" = [])), params(MerchantListQuery),
    responses((status = 200, body = MerchantPage),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_for_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<MerchantListQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => Some(MerchantStatus::parse(s).ok_or_else(|| {
            ValidationErrors::single(
                "status",
                "must be pending, active, suspended, rejected or closed",
            )
        })?),
    };
    let before = crate::extract::cursor_position(query.cursor.as_deref())?;
    let (rows, next) = applications::list_in_scope(
        &state.reads,
        &user.0,
        status,
        page_limit(query.limit),
        before.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(MerchantPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

#[derive(Deserialize, ToSchema, Default)]
#[schema(as = ReviewRequest)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Required for everything but approval.
    #[serde(default)]
    pub reason: String,
}

/// Review a merchant: `approve`, `reject`, `suspend`, `reinstate` or `close` (exit).
#[utoipa::path(post, path = "/api/v1/staff/merchants/{id}/{action}", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path, description = "approve | reject | suspend | reinstate | close")),
    request_body = ReasonRequest,
    responses((status = 200, body = MerchantResponse),
        (status = 404, description = "`not_found`, also for merchants outside your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a reason is required", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn review(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: Option<JsonBody<ReasonRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (id, action) = path.into_inner();
    let action = match action.as_str() {
        "approve" => MerchantAction::Approve,
        "reject" => MerchantAction::Reject,
        "suspend" => MerchantAction::Suspend,
        "reinstate" => MerchantAction::Reinstate,
        "close" => MerchantAction::Close,
        _ => return Err(ApiError::not_found("No such action.")),
    };
    let reason = body.map(|b| b.0.reason).unwrap_or_default();
    let (actor, now) = (user.0, state.clock.now());
    let settled = state
        .unkeyed_unit()
        .routed_by(&actor)
        .run(StatusCode::OK, move |conn| {
            Box::pin(async move {
                applications::transition(conn, &actor, &id, action, &reason, now)
                    .await
                    .map(MerchantResponse::from)
            })
        })
        .await?;
    if let Some(merchant) = settled.value() {
        // An approval makes the applicant the owner (a new role).
        state.auth.forget_actor(&merchant.applicant_user_id).await;
    }
    Ok(answer(settled.answer()))
}

// ---------------------------------------------------------------------------------------
// Offers

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    /// `service` (default: reserved and redeemed with a code at the merchant) or
    /// `home_service` (ordered through `/api/v1/home-services/orders`, done at home).
    #[schema(example = "service")]
    pub kind: Option<String>,
    #[schema(example = "理发一次", min_length = 1, max_length = 60)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    #[schema(example = "生活服务", min_length = 1, max_length = 30)]
    pub category: String,
    pub points_price: i64,
    /// Home services only: minutes of time credits it may be paid with instead of points.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 6000)]
    pub time_credits_price: Option<i64>,
    /// What the service is worth in cash, in fen.
    pub cash_value_fen: i64,
    /// Omitted or null: unlimited.
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default)]
    pub per_user_limit: Option<i64>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferPatchRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub points_price: Option<i64>,
    /// Home services: a number of minutes, or null for points only.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub time_credits_price: Option<Option<i64>>,
    pub cash_value_fen: Option<i64>,
    /// A number, or null for unlimited.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub stock: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub per_user_limit: Option<Option<i64>>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct OfferResponse {
    pub id: String,
    pub merchant_id: String,
    /// `service` (reserve it) or `home_service` (order it).
    pub kind: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub points_price: i64,
    /// Home services: minutes of time credits it may be paid with instead; null: points only.
    pub time_credits_price: Option<i64>,
    pub cash_value_fen: i64,
    /// Left to reserve; null is unlimited.
    pub stock: Option<i64>,
    pub per_user_limit: Option<i64>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    /// `draft`, `published` or `unpublished`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<offer_row::Model> for OfferResponse {
    fn from(o: offer_row::Model) -> Self {
        Self {
            id: o.id,
            merchant_id: o.merchant_id,
            kind: o.kind,
            title: o.title,
            description: o.description,
            category: o.category,
            points_price: o.points_price,
            time_credits_price: o.time_credits_price,
            cash_value_fen: o.cash_value_fen,
            stock: o.stock,
            per_user_limit: o.per_user_limit,
            valid_from: o.valid_from,
            valid_until: o.valid_until,
            status: o.status,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// Add an offer (a draft) to an active merchant; its staff only.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/offers", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = OfferRequest,
    responses((status = 201, body = OfferResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the merchant is not active", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_offer(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<OfferRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let input = OfferInput {
        kind: b.kind.unwrap_or_else(|| "service".to_owned()),
        title: b.title,
        description: b.description,
        category: b.category,
        points_price: b.points_price,
        time_credits_price: b.time_credits_price,
        cash_value_fen: b.cash_value_fen,
        stock: b.stock,
        per_user_limit: b.per_user_limit,
        valid_from: b.valid_from,
        valid_until: b.valid_until,
    };
    let created = offers::create(&state.db, &user.0, &path, input, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(OfferResponse::from(created)))
}

/// The merchant's own offers in every state; its staff only.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/offers", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<OfferResponse>), (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn own_offers(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = offers::list_own(&state.reads, &user.0, &path).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(OfferResponse::from)
            .collect::<Vec<_>>(),
    ))
}

/// Edit a draft or unpublished offer.
#[utoipa::path(patch, path = "/api/v1/merchants/{id}/offers/{offer_id}", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path), ("offer_id" = String, Path)), request_body = OfferPatchRequest,
    responses((status = 200, body = OfferResponse),
        (status = 409, description = "`invalid_transition`: published offers are unpublished before editing", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_offer(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: JsonBody<OfferPatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let (merchant_id, offer_id) = path.into_inner();
    let b = body.0;
    let patch = OfferPatch {
        title: b.title,
        description: b.description,
        category: b.category,
        points_price: b.points_price,
        time_credits_price: b.time_credits_price,
        cash_value_fen: b.cash_value_fen,
        stock: b.stock,
        per_user_limit: b.per_user_limit,
        valid_from: b.valid_from,
        valid_until: b.valid_until,
    };
    let updated = offers::update(
        &state.db,
        &user.0,
        &merchant_id,
        &offer_id,
        patch,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(OfferResponse::from(updated)))
}

/// `publish` (from draft or unpublished) or `unpublish` an offer.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/offers/{offer_id}/{action}", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path), ("offer_id" = String, Path), ("action" = String, Path, description = "publish | unpublish")),
    responses((status = 200, body = OfferResponse),
        (status = 409, description = "`invalid_transition`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn publish_offer(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (merchant_id, offer_id, action) = path.into_inner();
    let publish = match action.as_str() {
        "publish" => true,
        "unpublish" => false,
        _ => return Err(ApiError::not_found("No such action.")),
    };
    let offer = offers::set_published(
        &state.db,
        &user.0,
        &merchant_id,
        &offer_id,
        publish,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(OfferResponse::from(offer)))
}

#[derive(Deserialize, IntoParams)]
pub struct CatalogQuery {
    pub community_id: Option<String>,
    pub category: Option<String>,
    /// `service` or `home_service`.
    pub kind: Option<String>,
    /// Text in the title or description.
    pub q: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OfferPage {
    pub items: Vec<OfferResponse>,
    pub next_cursor: Option<String>,
}

/// The catalog: published, in-window offers of active merchants. Public.
#[utoipa::path(get, path = "/api/v1/offers", tag = "merchants", params(CatalogQuery), responses((status = 304, description = "Not Modified: the `If-None-Match` ETag is current"), (status = 200, body = OfferPage)))]
pub async fn catalog(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<CatalogQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    if q.q.as_deref().is_some_and(|t| t.chars().count() > 50) {
        return Err(ValidationErrors::single("q", "must be at most 50 characters").into());
    }
    let before = crate::extract::cursor_position(q.cursor.as_deref())?;
    let filter = CatalogFilter {
        community_id: q.community_id,
        category: q.category,
        kind: q.kind,
        q: q.q,
    };
    let (rows, next) = offers::catalog(
        &state.reads,
        &filter,
        state.clock.now(),
        page_limit(q.limit),
        before.as_deref(),
    )
    .await?;
    let page = OfferPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    };
    public_reads::answer(&state, &request, Family::Catalog, async { Ok(page) }).await
}

/// One offer from the catalog. Public.
#[utoipa::path(get, path = "/api/v1/offers/{id}", tag = "merchants", params(("id" = String, Path)),
    responses((status = 304, description = "Not Modified: the `If-None-Match` ETag is current"), (status = 200, body = OfferResponse), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn offer(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    public_reads::answer(&state, &request, Family::Catalog, async {
        let offer = offers::public_offer(&state.reads, &path, state.clock.now()).await?;
        Ok(OfferResponse::from(offer))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Audit trail and people

#[derive(Serialize, ToSchema)]
pub struct MerchantEventItem {
    /// `apply`, `approve`, `reject`, `suspend`, `reinstate`, `close`.
    pub action: String,
    pub from: Option<String>,
    pub to: String,
    pub actor_id: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct MerchantDetail {
    #[serde(flatten)]
    pub merchant: MerchantResponse,
    /// The lifecycle, oldest first.
    pub events: Vec<MerchantEventItem>,
}

/// One merchant with its audit trail, for staff in scope.
#[utoipa::path(get, path = "/api/v1/staff/merchants/{id}", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = MerchantDetail), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn merchant_detail(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (merchant, events) = applications::detail_in_scope(&state.reads, &user.0, &path).await?;
    Ok(HttpResponse::Ok().json(MerchantDetail {
        merchant: merchant.into(),
        events: events
            .into_iter()
            .map(|e| MerchantEventItem {
                action: e.action,
                from: e.from_status,
                to: e.to_status,
                actor_id: e.actor_id,
                reason: e.reason,
                at: e.at,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct InviteResponse {
    /// Give this to the new staff member; it works once.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// The owner creates a one-time invite code for a new staff member.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/invites", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 201, body = InviteResponse), (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn invite(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (code, expires_at) =
        merchant::service::members::invite(&state.db, &user.0, &path, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(InviteResponse { code, expires_at }))
}

#[derive(Serialize, ToSchema)]
pub struct AcceptResponse {
    pub merchant_id: String,
}

/// Join a merchant's staff with an invite code.
#[utoipa::path(post, path = "/api/v1/merchant-invites/{code}/accept", tag = "merchants", security(("bearer" = [])),
    params(("code" = String, Path)),
    responses((status = 200, body = AcceptResponse),
        (status = 404, description = "`not_found`: unknown, used or expired code", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: already staff", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn accept_invite(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, code, now) = (user.0, path.into_inner(), state.clock.now());
    let user_id = actor.user_id.clone();
    let settled = state
        .unkeyed_unit()
        .routed_by(&actor)
        .run(StatusCode::OK, move |conn| {
            Box::pin(async move {
                merchant::service::members::accept(conn, &actor, &code, now)
                    .await
                    .map(|merchant_id| AcceptResponse { merchant_id })
            })
        })
        .await?;
    state.auth.forget_actor(&user_id).await;
    Ok(answer(settled.answer()))
}

#[derive(Serialize, ToSchema)]
pub struct MemberItem {
    pub user_id: String,
    /// `owner` or `staff`.
    pub member_role: String,
    pub added_at: DateTime<Utc>,
}

/// The merchant's current people; its staff only.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/staff", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<MemberItem>), (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn members(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = merchant::service::members::list(&state.reads, &user.0, &path).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|m| MemberItem {
                user_id: m.user_id,
                member_role: m.member_role,
                added_at: m.added_at,
            })
            .collect::<Vec<_>>(),
    ))
}

/// The owner removes a staff member.
#[utoipa::path(delete, path = "/api/v1/merchants/{id}/staff/{user_id}", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the owner cannot be removed", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn remove_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (merchant_id, user_id) = path.into_inner();
    let (actor, now) = (user.0, state.clock.now());
    let removed = user_id.clone();
    let settled = state
        .unkeyed_unit()
        .routed_by(&actor)
        .run(StatusCode::NO_CONTENT, move |conn| {
            Box::pin(async move {
                merchant::service::members::remove(conn, &actor, &merchant_id, &user_id, now).await
            })
        })
        .await?;
    state.auth.forget_actor(&removed).await;
    Ok(answer(settled.answer()))
}
