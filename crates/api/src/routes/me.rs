//! The logged-in user's own account.

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use identity::service::users::{self, Profile, ProfileChange};
use identity::IdentityError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wechat::WechatError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me").route(web::get().to(me)))
        .service(web::resource("/me/profile").route(web::put().to(update_profile)))
        .service(web::resource("/me/phone").route(web::post().to(bind_phone)));
}

#[derive(Serialize, ToSchema)]
pub struct Balances {
    pub points: i64,
    pub time_credit_minutes: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub id: String,
    pub nickname: Option<String>,
    /// e.g. `138****0000`; the full number is never returned.
    pub phone_masked: Option<String>,
    pub roles: Vec<String>,
    pub community_id: Option<String>,
    pub compound_id: Option<String>,
    pub merchant_ids: Vec<String>,
    pub balances: Balances,
}

impl MeResponse {
    fn new(profile: Profile, balances: Balances) -> Self {
        Self {
            id: profile.id,
            nickname: profile.nickname,
            phone_masked: profile.phone_masked,
            roles: profile
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            community_id: profile.community_id,
            compound_id: profile.compound_id,
            merchant_ids: profile.merchant_ids,
            balances,
        }
    }
}

/// Wallet balances shown on `/me`, read from the ledger (`/me/wallet` has the detail).
/// Read where reads go (on SQLite a reader, not the one writer every write queues for).
async fn balances_of(state: &AppState, profile: &Profile) -> Result<Balances, ApiError> {
    use points_ledger::{AccountKind, Asset};
    // Both wallets in one query.
    let wallets = points_ledger::service::accounts::balances_of(
        &state.reads,
        AccountKind::Wallet,
        &profile.id,
    )
    .await?;
    let balance = |asset| wallets.get(&asset).map_or(0, |b| b.balance);
    Ok(Balances {
        points: balance(Asset::Points),
        time_credit_minutes: balance(Asset::TimeCredits),
    })
}

/// Who am I: roles, community, merchants and balances.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeResponse),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let profile = users::profile(&state.reads, &user.0).await?;
    let balances = balances_of(&state, &profile).await?;
    Ok(HttpResponse::Ok().json(MeResponse::new(profile, balances)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    #[schema(example = "王阿姨")]
    pub nickname: Option<String>,
    pub community_id: Option<String>,
    /// Must lie in the (new or current) community.
    pub compound_id: Option<String>,
}

/// Change nickname, community or compound. Absent fields stay as they are.
#[utoipa::path(put, path = "/api/v1/me/profile", tag = "me", security(("bearer" = [])),
    request_body = ProfileRequest,
    responses((status = 200, body = MeResponse),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_profile(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<ProfileRequest>,
) -> Result<HttpResponse, ApiError> {
    let ProfileRequest {
        nickname,
        community_id,
        compound_id,
    } = body.0;
    let change = ProfileChange {
        nickname,
        community_id,
        compound_id,
    };
    let profile = users::update_profile(&state.db, &user.0, change, state.clock.now()).await?;
    // The community is part of the cached actor.
    state.auth.forget_actor(&user.0.user_id).await;
    let balances = balances_of(&state, &profile).await?;
    Ok(HttpResponse::Ok().json(MeResponse::new(profile, balances)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneRequest {
    /// The code from the `getPhoneNumber` button. In fake mode: `dev-13800000000`.
    #[schema(example = "dev-13800000000")]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneResponse {
    pub phone_masked: String,
}

/// Bind the phone number behind a `getPhoneNumber` code.
#[utoipa::path(post, path = "/api/v1/me/phone", tag = "me", security(("bearer" = [])),
    request_body = PhoneRequest,
    responses((status = 200, body = PhoneResponse),
        (status = 422, description = "`phone_code_invalid`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn bind_phone(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<PhoneRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = body.0.code.trim().to_owned();
    if code.is_empty() || code.len() > 256 {
        return Err(
            platform::ValidationErrors::single("code", "must be 1 to 256 characters").into(),
        );
    }
    let phone_masked = users::bind_phone(&state.db, state.auth.wechat(), &user.0, &code, state.clock.now())
        .await
        .map_err(|e| match e {
            // The caller's session is fine; only this code is bad, so not a 401.
            IdentityError::Wechat(WechatError::InvalidCode) => ApiError::new(
                platform::Code::PhoneCodeInvalid,
                "The phone number code is invalid or was already used; ask the user to tap the button again.",
            ),
            other => other.into(),
        })?;
    Ok(HttpResponse::Ok().json(PhoneResponse { phone_masked }))
}
