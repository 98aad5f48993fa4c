//! The logged-in user's in-app notifications, and the WeChat subscribe messages they allowed.

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use platform::notifications;
use platform::paging::{encode_cursor, page_limit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me/notifications").route(web::get().to(list)))
        .service(web::resource("/me/notifications/read-all").route(web::post().to(read_all)))
        .service(web::resource("/me/notifications/{id}/read").route(web::post().to(read_one)))
        .service(
            web::resource("/me/subscriptions")
                .route(web::get().to(subscriptions))
                .route(web::post().to(allow_subscription)),
        );
}

#[derive(Deserialize, IntoParams)]
pub struct NotificationQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationItem {
    pub id: String,
    /// e.g. `redemption_verified`, `redemption_reserved`, `redemption_ended`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationItem>,
    pub next_cursor: Option<String>,
    /// Unread notifications in total.
    pub unread: i64,
}

/// The user's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "me", security(("bearer" = [])), params(NotificationQuery),
    responses((status = 200, body = NotificationPage)))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<NotificationQuery>,
) -> Result<HttpResponse, ApiError> {
    let before = crate::extract::cursor_position(query.cursor.as_deref())?;
    let (items, next) = notifications::list(
        &state.reads,
        &user.0.user_id,
        page_limit(query.limit),
        before.as_deref(),
    )
    .await?;
    let unread = notifications::unread_count(&state.reads, &user.0.user_id).await?;
    Ok(HttpResponse::Ok().json(NotificationPage {
        items: items
            .into_iter()
            .map(|n| NotificationItem {
                id: n.id,
                kind: n.kind,
                title: n.title,
                body: n.body,
                ref_type: n.ref_type,
                ref_id: n.ref_id,
                created_at: n.created_at,
                read_at: n.read_at,
            })
            .collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
        unread,
    }))
}

/// Mark one notification read.
#[utoipa::path(post, path = "/api/v1/me/notifications/{id}/read", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204)))]
pub async fn read_one(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let marked =
        notifications::mark_read(&state.db, &user.0.user_id, Some(&path), state.clock.now())
            .await?;
    // Nothing marked: already read (fine), or not this user's notification (404, as for
    // one that does not exist).
    if marked == 0 && !notifications::is_users(&state.db, &user.0.user_id, &path).await? {
        return Err(ApiError::not_found("No such notification."));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Mark every notification read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read-all", tag = "me", security(("bearer" = [])),
    responses((status = 204)))]
pub async fn read_all(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    notifications::mark_read(&state.db, &user.0.user_id, None, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionItem {
    /// The message kind, e.g. `demand_status`.
    pub kind: String,
    /// Messages of this kind WeChat still lets us send (each allowance is good for one).
    pub remaining: i32,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionList {
    pub items: Vec<SubscriptionItem>,
}

/// The subscribe messages the user has allowed and not yet received, by kind.
#[utoipa::path(get, path = "/api/v1/me/subscriptions", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = SubscriptionList)))]
pub async fn subscriptions(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let stored = platform::outbox::remaining(&state.reads, &user.0.user_id).await?;
    let items = platform::outbox::KINDS
        .iter()
        .map(|kind| SubscriptionItem {
            kind: (*kind).to_owned(),
            remaining: stored
                .iter()
                .find(|(k, _)| k == kind)
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    Ok(HttpResponse::Ok().json(SubscriptionList { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowRequest {
    /// `demand_status`.
    #[schema(example = "demand_status")]
    pub kind: String,
}

/// Records that the user allowed one subscribe message of `kind` in
/// `wx.requestSubscribeMessage` (call once per "accept"); the next matching update is sent.
#[utoipa::path(post, path = "/api/v1/me/subscriptions", tag = "me", security(("bearer" = [])),
    request_body = AllowRequest,
    responses((status = 200, body = SubscriptionItem),
        (status = 422, description = "`validation_failed`: unknown kind", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn allow_subscription(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::extract::JsonBody<AllowRequest>,
) -> Result<HttpResponse, ApiError> {
    let kind = body.0.kind;
    if !platform::outbox::KINDS.contains(&kind.as_str()) {
        return Err(ApiError::validation(platform::ValidationErrors::single(
            "kind",
            format!("must be one of: {}", platform::outbox::KINDS.join(", ")),
        )));
    }
    let remaining =
        platform::outbox::grant(&state.db, &user.0.user_id, &kind, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(SubscriptionItem { kind, remaining }))
}
