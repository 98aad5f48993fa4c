//! The time bank (时间银行): activities with sign-ups and on-site attendance, settlement
//! into time credits and points, help requests between residents, volunteer leaderboards.

use crate::error::ApiError;
use crate::extract::{cursor_position, AuthUser, JsonBody, OptionalJsonBody};
use crate::idempotency::IdempotencyKey;
use crate::metrics::business::PointsSource;
use crate::public_reads::{self, Family};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use identity::service::{orgs, users};
use platform::paging::{encode_cursor, page_limit};
use platform::unit_of_work::Reply;
use platform::ValidationErrors;
use serde::{Deserialize, Serialize};
use timebank::entity::{activity, help_request, signup};
use timebank::service::activities::{self, ActivityFilter, ActivityInput};
use timebank::service::help_requests::{self, HelpAction, HelpInput};
use timebank::service::leaderboard::Period;
use timebank::service::{attendance, settlement};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/staff/activities").route(web::post().to(create_activity)))
        .service(web::resource("/activities").route(web::get().to(list_activities)))
        .service(web::resource("/activities/{id}").route(web::get().to(activity_detail)))
        .service(web::resource("/activities/{id}/signups").route(web::post().to(sign_up)))
        .service(
            web::resource("/activities/{id}/signups/me").route(web::delete().to(cancel_signup)),
        )
        .service(web::resource("/activities/{id}/check-in").route(web::post().to(check_in)))
        .service(web::resource("/activities/{id}/check-out").route(web::post().to(check_out)))
        .service(
            web::resource("/staff/activities/{id}/signups").route(web::get().to(staff_signups)),
        )
        .service(
            web::resource("/staff/activities/{id}/check-code").route(web::post().to(check_code)),
        )
        .service(
            web::resource("/staff/activities/{id}/attendances/{user_id}/check-out")
                .route(web::post().to(set_check_out)),
        )
        .service(web::resource("/staff/activities/{id}/settle").route(web::post().to(settle)))
        .service(
            web::resource("/help-requests")
                .route(web::post().to(create_help_request))
                .route(web::get().to(list_help_requests)),
        )
        .service(web::resource("/help-requests/{id}").route(web::get().to(help_request_detail)))
        .service(
            web::resource("/help-requests/{id}/{action}")
                .route(web::post().to(help_request_action)),
        )
        .service(
            web::resource("/staff/help-requests/{id}/resolve")
                .route(web::post().to(resolve_dispute)),
        )
        .service(
            web::resource("/leaderboards/volunteers").route(web::get().to(volunteer_leaderboard)),
        );
}

// ---------------------------------------------------------------------------------------
// Activities

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityRequest {
    #[schema(example = "周末义务理发")]
    pub title: String,
    /// `volunteer`, `night_school`, `market` or `other`.
    #[schema(example = "volunteer")]
    pub kind: String,
    /// The organising street or community (for a partner: its own community).
    pub org_id: String,
    /// Set when an active partner (merchant) the caller works for runs it; its points then
    /// come from the partner's own points account.
    #[serde(default)]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub description: String,
    #[schema(example = "新华社区活动室")]
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i64,
    /// Points per hour attended, paid from the org's budget (0: none).
    pub points_per_hour: i64,
    /// Whether attendance earns time credits (1 hour = 60 minutes of credit).
    pub time_credits: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityResponse {
    pub id: String,
    pub org_id: String,
    pub partner_id: Option<String>,
    pub title: String,
    pub kind: String,
    pub description: String,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i64,
    /// Confirmed sign-ups.
    pub confirmed: i64,
    pub places_left: i64,
    pub points_per_hour: i64,
    pub time_credits: bool,
    /// `scheduled` or `cancelled`.
    pub status: String,
}

impl From<activity::Model> for ActivityResponse {
    fn from(a: activity::Model) -> Self {
        Self {
            places_left: (a.capacity - a.confirmed).max(0),
            id: a.id,
            org_id: a.org_id,
            partner_id: a.partner_id,
            title: a.title,
            kind: a.kind,
            description: a.description,
            location: a.location,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            capacity: a.capacity,
            confirmed: a.confirmed,
            points_per_hour: a.points_per_hour,
            time_credits: a.time_credits,
            status: a.status.as_str().to_owned(),
        }
    }
}

/// Create an activity run by a street or community in the caller's scope, or by an active
/// partner the caller works for.
#[utoipa::path(post, path = "/api/v1/staff/activities", tag = "timebank", security(("bearer" = [])),
    request_body = ActivityRequest,
    responses((status = 201, body = ActivityResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_activity(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<ActivityRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let input = ActivityInput {
        partner_id: b.partner_id,
        title: b.title,
        kind: b.kind,
        org_id: b.org_id,
        description: b.description,
        location: b.location,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        capacity: b.capacity,
        points_per_hour: b.points_per_hour,
        time_credits: b.time_credits,
    };
    let created = activities::create(&state.db, &user.0, input, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(ActivityResponse::from(created)))
}

#[derive(Deserialize, IntoParams)]
pub struct ActivityQuery {
    /// Activities of this org and the orgs below it.
    pub org_id: Option<String>,
    pub kind: Option<String>,
    /// `true` (default): only those not yet over.
    pub upcoming: Option<bool>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    pub items: Vec<ActivityResponse>,
    pub next_cursor: Option<String>,
}

/// Scheduled activities, newest first (public).
#[utoipa::path(get, path = "/api/v1/activities", tag = "timebank", params(ActivityQuery),
    responses((status = 304, description = "Not Modified: the `If-None-Match` ETag is current"), (status = 200, body = ActivityPage)))]
pub async fn list_activities(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<ActivityQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let org_path = orgs::filter_path(&state.reads, q.org_id.as_deref()).await?;
    let before = cursor_position(q.cursor.as_deref())?;
    let filter = ActivityFilter {
        org_path,
        kind: q.kind,
        ending_after: q.upcoming.unwrap_or(true).then(|| state.clock.now()),
    };
    let (rows, next) =
        activities::list(&state.reads, filter, page_limit(q.limit), before.as_deref()).await?;
    let page = ActivityPage {
        items: rows.into_iter().map(ActivityResponse::from).collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    };
    public_reads::answer(&state, &request, Family::Activities, async { Ok(page) }).await
}

/// One activity (public).
#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "timebank", params(("id" = String, Path)),
    responses((status = 304, description = "Not Modified: the `If-None-Match` ETag is current"), (status = 200, body = ActivityResponse),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn activity_detail(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    public_reads::answer(&state, &request, Family::Activities, async {
        let found = activities::find(&state.reads, &path).await?;
        Ok(ActivityResponse::from(found))
    })
    .await
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// When the activity is full: join the waiting list (true) or get 409 `activity_full`
    /// (false, the default).
    #[serde(default)]
    pub waitlist: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SignupResponse {
    pub activity_id: String,
    pub user_id: String,
    /// `confirmed`, `waitlisted` or `cancelled`.
    pub status: String,
    pub signed_up_at: DateTime<Utc>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checked_out_at: Option<DateTime<Utc>>,
    /// Why the organiser set the check-out.
    pub check_out_note: Option<String>,
    pub settled_at: Option<DateTime<Utc>>,
    pub settled_minutes: Option<i64>,
    pub settled_points: Option<i64>,
}

impl From<signup::Model> for SignupResponse {
    fn from(s: signup::Model) -> Self {
        Self {
            activity_id: s.activity_id,
            user_id: s.user_id,
            status: s.status.as_str().to_owned(),
            signed_up_at: s.created_at,
            checked_in_at: s.checked_in_at,
            checked_out_at: s.checked_out_at,
            check_out_note: s.check_out_note,
            settled_at: s.settled_at,
            settled_minutes: s.settled_minutes,
            settled_points: s.settled_points,
        }
    }
}

/// Sign up: a confirmed place, or the waiting list when full and asked for. Signing up
/// again returns the existing sign-up.
#[utoipa::path(post, path = "/api/v1/activities/{id}/signups", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path)), request_body(content = Option<SignupRequest>),
    responses((status = 201, body = SignupResponse),
        (status = 409, description = "`activity_full`, `activity_started`, `activity_cancelled`; `conflict`: a concurrent sign-up took the place, retry", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn sign_up(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: OptionalJsonBody<SignupRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, waitlist, now) = (
        user.0,
        path.into_inner(),
        body.0.waitlist,
        state.clock.now(),
    );
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                activities::sign_up(conn, &actor, &id, waitlist, now)
                    .await
                    .map(SignupResponse::from)
            })
        })
        .await
}

/// Cancel the caller's sign-up (before the start); the place goes to the waiting list.
#[utoipa::path(delete, path = "/api/v1/activities/{id}/signups/me", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = SignupResponse),
        (status = 409, description = "`activity_started`; `conflict`: the sign-up changed meanwhile", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn cancel_signup(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now) = (user.0, path.into_inner(), state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                activities::cancel(conn, &actor, &id, now)
                    .await
                    .map(SignupResponse::from)
            })
        })
        .await
}

/// Sign-ups of an activity in sign-up order (staff of the organising org).
#[utoipa::path(get, path = "/api/v1/staff/activities/{id}/signups", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<SignupResponse>)))]
pub async fn staff_signups(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    activities::find_managed(&state.reads, &user.0, &path).await?;
    let rows = activities::signups(&state.reads, &path).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(SignupResponse::from)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CheckCodeResponse {
    /// 8 digits, shown as a QR on site; rotates every `timebank.check_code_seconds`.
    pub code: String,
    /// The code is refused after this.
    pub expires_at: DateTime<Utc>,
}

/// The rotating on-site code (staff of the organising org).
#[utoipa::path(post, path = "/api/v1/staff/activities/{id}/check-code", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CheckCodeResponse)))]
pub async fn check_code(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (code, expires_at) = attendance::current_code(
        &state.db,
        &user.0,
        &path,
        state.clock.now(),
        state.settings.timebank.check_code_seconds,
    )
    .await?;
    Ok(HttpResponse::Ok().json(CheckCodeResponse { code, expires_at }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CheckCodeRequest)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub code: String,
}

/// Check in with the code shown on site (from 30 minutes before the start).
#[utoipa::path(post, path = "/api/v1/activities/{id}/check-in", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CodeRequest,
    responses((status = 200, body = SignupResponse),
        (status = 409, description = "`check_in_closed`, `not_signed_up`, `already_checked_in`, `activity_cancelled`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`check_code_invalid`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn check_in(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let saved = attendance::check_in(
        &state.db,
        &user.0,
        &path,
        &body.0.code,
        state.clock.now(),
        state.settings.timebank.check_code_seconds,
    )
    .await?;
    Ok(HttpResponse::Ok().json(SignupResponse::from(saved)))
}

/// Check out with the code shown on site.
#[utoipa::path(post, path = "/api/v1/activities/{id}/check-out", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CodeRequest,
    responses((status = 200, body = SignupResponse),
        (status = 409, description = "`not_checked_in`, `already_checked_out`, `activity_cancelled`; `conflict`: checked out meanwhile", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`check_code_invalid`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn check_out(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let saved = attendance::check_out(
        &state.db,
        &user.0,
        &path,
        &body.0.code,
        state.clock.now(),
        state.settings.timebank.check_code_seconds,
    )
    .await?;
    Ok(HttpResponse::Ok().json(SignupResponse::from(saved)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCheckOutRequest {
    /// When the attendee left.
    pub at: DateTime<Utc>,
    #[schema(example = "忘记签退，按现场记录补登")]
    pub reason: String,
}

/// Record a forgotten check-out (staff of the organising org), with a reason.
#[utoipa::path(post, path = "/api/v1/staff/activities/{id}/attendances/{user_id}/check-out", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)), request_body = SetCheckOutRequest,
    responses((status = 200, body = SignupResponse)))]
pub async fn set_check_out(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: JsonBody<SetCheckOutRequest>,
) -> Result<HttpResponse, ApiError> {
    let (activity_id, user_id) = path.into_inner();
    let b = body.0;
    let saved = attendance::set_check_out(
        &state.db,
        &user.0,
        &activity_id,
        &user_id,
        b.at,
        &b.reason,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(SignupResponse::from(saved)))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceOverride {
    pub user_id: String,
    pub minutes: i64,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SettleRequest {
    /// Minutes per attendee instead of their checked-in time.
    pub attendances: Option<Vec<AttendanceOverride>>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentResponse {
    pub user_id: String,
    pub minutes: i64,
    pub time_credit_minutes: i64,
    pub points: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SkippedResponse {
    pub user_id: String,
    /// `no_check_in`, `no_check_out` or `already_settled`.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct SettleResponse {
    pub activity_id: String,
    /// Paid by this call.
    pub paid: Vec<PaymentResponse>,
    pub skipped: Vec<SkippedResponse>,
}

/// Settle an ended activity: each attendee's minutes → time credits (from the time bank)
/// and points (from the organising org's budget), exactly once per attendee. Accepts
/// `Idempotency-Key`. 409 `budget_exhausted` pays nobody. An override never exceeds the
/// attendee's presence (check-in to check-out, or to the end, within the activity; 0 without
/// a check-in) and is audited. A partner-run activity is settled by staff of the organising
/// org, who thereby confirm it (403 `community_confirmation_required` for the partner).
#[utoipa::path(post, path = "/api/v1/staff/activities/{id}/settle", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)), request_body(content = Option<SettleRequest>),
    responses((status = 200, body = SettleResponse),
        (status = 403, description = "`forbidden`, `community_confirmation_required`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`activity_not_ended`, `budget_exhausted`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: an override above the attendee's presence", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn settle(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: OptionalJsonBody<SettleRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, request) = (user.0, path.into_inner(), body.0);
    let unit = state.unit(&actor, key, &("settle", id.as_str(), &request));
    let overrides = request
        .attendances
        .map(|list| list.into_iter().map(|a| (a.user_id, a.minutes)).collect());
    let (rule, now) = (state.expiry_rule(), state.clock.now());
    let settled = unit
        .run(StatusCode::OK, move |conn| {
            Box::pin(async move {
                let report = settlement::settle(conn, &actor, &id, overrides, rule, now).await?;
                let activity = activities::find(conn, &id).await?;
                Ok::<_, timebank::TimebankError>(Reply {
                    answer: SettleResponse::of(id, &report),
                    after_commit: (activity, report.paid),
                })
            })
        })
        .await?;
    if let Some(Reply {
        after_commit: (activity, paid),
        ..
    }) = settled.value()
    {
        let business = &state.metrics.business;
        for payment in paid {
            business.points_issued(PointsSource::Volunteering, payment.points);
            business.time_credits_issued(payment.time_credit_minutes);
        }
        crate::leaderboards::record(&state, activity, paid).await;
    }
    Ok(crate::unit_of_work::answer(settled.answer()))
}

impl SettleResponse {
    fn of(activity_id: String, report: &settlement::SettleReport) -> Self {
        Self {
            activity_id,
            paid: report
                .paid
                .iter()
                .map(|p| PaymentResponse {
                    user_id: p.user_id.clone(),
                    minutes: p.minutes,
                    time_credit_minutes: p.time_credit_minutes,
                    points: p.points,
                })
                .collect(),
            skipped: report
                .skipped
                .iter()
                .map(|s| SkippedResponse {
                    user_id: s.user_id.clone(),
                    reason: s.reason.to_owned(),
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Help requests

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpRequestBody {
    #[schema(example = "周三陪老人去医院复查")]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// e.g. `housekeeping`, `escort`, `tutoring`, `repair`, `companionship`, `shopping`,
    /// `other` (free text, 1 to 30 characters).
    #[schema(example = "escort")]
    pub service_type: String,
    /// Time credits offered; held until the request ends.
    pub minutes: i64,
    pub community_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct HelpRequestResponse {
    pub id: String,
    /// Shown to the parties and staff; left out for neighbours browsing open requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester_id: Option<String>,
    pub helper_id: Option<String>,
    pub community_id: String,
    pub title: String,
    pub description: String,
    pub service_type: String,
    pub minutes: i64,
    /// `open`, `accepted`, `completed`, `confirmed`, `cancelled`, `disputed`, `resolved`.
    pub status: String,
    /// Shown to the parties and staff only.
    pub dispute_reason: Option<String>,
    /// Shown to the parties and staff only.
    pub resolution: Option<String>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl HelpRequestResponse {
    /// The request as someone with `view` may see it.
    fn seen(r: help_request::Model, view: help_requests::HelpView) -> Self {
        let full = Self::from(r);
        match view {
            help_requests::HelpView::Full => full,
            help_requests::HelpView::Public => Self {
                requester_id: None,
                dispute_reason: None,
                resolution: None,
                ..full
            },
        }
    }
}

impl From<help_request::Model> for HelpRequestResponse {
    fn from(r: help_request::Model) -> Self {
        Self {
            id: r.id,
            requester_id: Some(r.requester_id),
            helper_id: r.helper_id,
            community_id: r.community_id,
            title: r.title,
            description: r.description,
            service_type: r.service_type,
            minutes: r.minutes,
            status: r.status.as_str().to_owned(),
            dispute_reason: r.dispute_reason,
            resolution: r.resolution,
            created_at: r.created_at,
            accepted_at: r.accepted_at,
            completed_at: r.completed_at,
            closed_at: r.closed_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HelpRequestPage {
    pub items: Vec<HelpRequestResponse>,
    pub next_cursor: Option<String>,
}

/// Ask neighbours for help, offering time credits (held now). Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/help-requests", tag = "timebank", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)), request_body = HelpRequestBody,
    responses((status = 201, body = HelpRequestResponse),
        (status = 409, description = "`insufficient_time_credits`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_help_request(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<HelpRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    let unit = state.unit(&actor, key, &("help", &b));
    let input = HelpInput {
        title: b.title,
        description: b.description,
        service_type: b.service_type,
        minutes: b.minutes,
        community_id: b.community_id,
    };
    unit.respond(StatusCode::CREATED, move |conn| {
        Box::pin(async move {
            help_requests::create(conn, &actor, input, now)
                .await
                .map(HelpRequestResponse::from)
        })
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct HelpQuery {
    pub community_id: Option<String>,
    pub status: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// Help requests, newest first; `?status=open` for those waiting for a helper.
/// Staff see the requests of their orgs; residents their own (asked or helping) and the open
/// requests of their community, without the requester or any dispute.
#[utoipa::path(get, path = "/api/v1/help-requests", tag = "timebank", security(("bearer" = [])), params(HelpQuery),
    responses((status = 200, body = HelpRequestPage)))]
pub async fn list_help_requests(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<HelpQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let before = cursor_position(q.cursor.as_deref())?;
    let (rows, next) = help_requests::list(
        &state.reads,
        &user.0,
        q.community_id.as_deref(),
        q.status.as_deref(),
        page_limit(q.limit),
        before.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(HelpRequestPage {
        items: rows
            .into_iter()
            .map(|(r, view)| HelpRequestResponse::seen(r, view))
            .collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

/// One help request: for its parties and staff over its community in full; for residents of
/// its community while it is open, without the requester or any dispute; else 404.
#[utoipa::path(get, path = "/api/v1/help-requests/{id}", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = HelpRequestResponse),
        (status = 404, description = "`not_found`: no such request, or not yours to see", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn help_request_detail(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (found, view) = help_requests::find_visible(&state.reads, &user.0, &path).await?;
    Ok(HttpResponse::Ok().json(HelpRequestResponse::seen(found, view)))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct HelpActionRequest {
    /// Required for `dispute`.
    pub reason: Option<String>,
}

async fn run_help_action(
    state: &AppState,
    user: &AuthUser,
    key: IdempotencyKey,
    id: &str,
    name: &str,
    action: HelpAction,
) -> Result<HttpResponse, ApiError> {
    let actor = user.0.clone();
    let unit = state.unit(&actor, key, &("help-action", id, name));
    let (id, rule, now) = (id.to_owned(), state.expiry_rule(), state.clock.now());
    unit.respond(StatusCode::OK, move |conn| {
        Box::pin(async move {
            help_requests::act(conn, &actor, &id, action, rule, now)
                .await
                .map(HelpRequestResponse::from)
        })
    })
    .await
}

/// `accept` or `complete` (the helper), `confirm` (the requester: the held minutes go to the
/// helper), `cancel` (the requester, before anyone accepted: the hold is released),
/// `dispute` (either, with a reason). Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/help-requests/{id}/{action}", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path, description = "accept | complete | confirm | cancel | dispute"),
        ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<HelpActionRequest>),
    responses((status = 200, body = HelpRequestResponse),
        (status = 409, description = "`invalid_transition`; `conflict`: the request changed meanwhile, reload it", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn help_request_action(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    key: IdempotencyKey,
    body: OptionalJsonBody<HelpActionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let action = match name.as_str() {
        "accept" => HelpAction::Accept,
        "complete" => HelpAction::Complete,
        "confirm" => HelpAction::Confirm,
        "cancel" => HelpAction::Cancel,
        "dispute" => HelpAction::Dispute {
            reason: body.0.reason.unwrap_or_default(),
        },
        _ => return Err(ApiError::not_found("No such action.")),
    };
    run_help_action(&state, &user, key, &id, &name, action).await
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDisputeRequest {
    /// `pay_helper` or `refund_requester`.
    #[schema(example = "pay_helper")]
    pub outcome: String,
    pub reason: String,
}

/// Settle a disputed help request (staff of its community): pay the helper or refund the
/// requester. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/staff/help-requests/{id}/resolve", tag = "timebank", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = ResolveDisputeRequest,
    responses((status = 200, body = HelpRequestResponse),
        (status = 409, description = "`invalid_transition`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn resolve_dispute(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: JsonBody<ResolveDisputeRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let pay_helper = match b.outcome.as_str() {
        "pay_helper" => true,
        "refund_requester" => false,
        _ => {
            return Err(ApiError::validation(ValidationErrors::single(
                "outcome",
                "must be pay_helper or refund_requester",
            )))
        }
    };
    let action = HelpAction::Resolve {
        pay_helper,
        reason: b.reason,
    };
    run_help_action(&state, &user, key, &path, "resolve", action).await
}

// ---------------------------------------------------------------------------------------
// Leaderboards

#[derive(Deserialize, IntoParams)]
pub struct LeaderboardQuery {
    /// The org whose activities count (default: the whole tree's root).
    pub org_id: Option<String>,
    /// `month` (default), `year` or `all` (Beijing time).
    pub period: Option<String>,
    /// How many (default 20, at most 100).
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct LeaderboardEntry {
    pub user_id: String,
    pub nickname: Option<String>,
    /// Settled volunteer minutes in the period.
    pub minutes: i64,
}

/// Volunteers by settled minutes under an org in a period, most first (public).
#[utoipa::path(get, path = "/api/v1/leaderboards/volunteers", tag = "timebank", params(LeaderboardQuery),
    responses((status = 200, body = Vec<LeaderboardEntry>)))]
pub async fn volunteer_leaderboard(
    state: web::Data<AppState>,
    query: web::Query<LeaderboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let period = match q.period.as_deref() {
        None => Period::Month,
        Some(p) => Period::parse(p).ok_or_else(|| {
            ApiError::validation(ValidationErrors::single(
                "period",
                "must be month, year or all",
            ))
        })?,
    };
    let org = orgs::find_or_root(&state.reads, q.org_id.as_deref()).await?;
    let limit = page_limit(q.limit) as usize;
    let top = crate::leaderboards::top(&state, &org, period, limit).await?;
    let ids: Vec<String> = top.iter().map(|(id, _)| id.clone()).collect();
    let nicknames = users::nicknames(&state.reads, &ids).await?;
    let entries: Vec<LeaderboardEntry> = top
        .into_iter()
        .map(|(user_id, minutes)| LeaderboardEntry {
            nickname: nicknames.get(&user_id).cloned().flatten(),
            user_id,
            minutes,
        })
        .collect();
    Ok(HttpResponse::Ok().json(entries))
}
