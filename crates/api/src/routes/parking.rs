//! Points for parking (积分停车): lots, availability and quotes, bookings, the signed gate
//! webhook, staff check-in/out for lots without cameras, overstay payment.

use crate::error::ApiError;
use crate::extract::{cursor_position, AuthUser, JsonBody};
use crate::idempotency::IdempotencyKey;
use crate::metrics::business::PointsChannel;
use crate::public_reads::{self, Family};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use parking::entity::{booking, lot};
use parking::open_hours::Window;
use parking::plate::Plate;
use parking::service::bookings::{self, BookingInput, StaffGateAction};
use parking::service::gate::{self, GateDecision};
use parking::service::lots::{self, LotInput};
use parking::ParkingError;
use platform::paging::{encode_cursor, page_limit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const SIGNATURE_HEADER: &str = "x-linli-signature";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/parking/lots").route(web::post().to(create_lot)))
        .service(
            web::resource("/admin/parking/lots/{id}/gate-secret")
                .route(web::post().to(rotate_secret)),
        )
        .service(web::resource("/parking/lots").route(web::get().to(list_lots)))
        .service(
            web::resource("/parking/lots/{id}/availability").route(web::get().to(availability)),
        )
        .service(web::resource("/parking/bookings").route(web::post().to(book)))
        .service(web::resource("/me/parking/bookings").route(web::get().to(my_bookings)))
        .service(web::resource("/parking/bookings/{id}/cancel").route(web::post().to(cancel)))
        .service(web::resource("/parking/bookings/{id}/pay").route(web::post().to(pay)))
        .service(web::resource("/parking/gate-events").route(web::post().to(gate_event)))
        .service(
            web::resource("/staff/parking/bookings/{id}/{action}")
                .route(web::post().to(staff_gate)),
        )
        .service(web::resource("/staff/parking/lots/{id}/usage").route(web::get().to(usage)));
}

// ---------------------------------------------------------------------------------------
// Lots

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    /// ISO weekdays the window starts on: 1 (Monday) to 7 (Sunday).
    pub days: Vec<u32>,
    #[schema(example = "18:00")]
    pub from: String,
    /// `HH:MM` or `24:00`; earlier than `from` means the next morning.
    #[schema(example = "08:00")]
    pub to: String,
}

impl From<WindowBody> for Window {
    fn from(w: WindowBody) -> Self {
        Self {
            days: w.days,
            from: w.from,
            to: w.to,
        }
    }
}

impl From<Window> for WindowBody {
    fn from(w: Window) -> Self {
        Self {
            days: w.days,
            from: w.from,
            to: w.to,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotRequest {
    /// An active partner (merchant) of the caller's that owns the lot; `org_id` is then its
    /// community.
    #[serde(default)]
    pub partner_id: Option<String>,
    #[schema(
        example = "区政府机关停车场（夜间开放）",
        min_length = 1,
        max_length = 100
    )]
    pub name: String,
    pub org_id: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub address: String,
    pub slot_count: i64,
    pub points_per_hour: i64,
    /// Default 30.
    pub billing_unit_minutes: Option<i64>,
    /// Beijing time.
    pub open_hours: Vec<WindowBody>,
    pub max_booking_hours: i64,
    /// How early a car may enter before its booking (default 15).
    pub entry_grace_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct LotResponse {
    pub id: String,
    pub org_id: String,
    pub partner_id: Option<String>,
    pub name: String,
    pub address: String,
    pub slot_count: i64,
    pub points_per_hour: i64,
    pub billing_unit_minutes: i64,
    pub open_hours: Vec<WindowBody>,
    pub max_booking_hours: i64,
    pub entry_grace_minutes: i64,
}

impl From<lot::Model> for LotResponse {
    fn from(l: lot::Model) -> Self {
        Self {
            open_hours: lots::windows(&l).into_iter().map(Into::into).collect(),
            id: l.id,
            org_id: l.org_id,
            partner_id: l.partner_id,
            name: l.name,
            address: l.address,
            slot_count: l.slot_count,
            points_per_hour: l.points_per_hour,
            billing_unit_minutes: l.billing_unit_minutes,
            max_booking_hours: l.max_booking_hours,
            entry_grace_minutes: l.entry_grace_minutes,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LotWithSecret {
    #[serde(flatten)]
    pub lot: LotResponse,
    /// The camera's HMAC-SHA256 key; shown only here and when rotated.
    pub gate_secret: String,
}

impl From<lot::Model> for LotWithSecret {
    fn from(lot: lot::Model) -> Self {
        let gate_secret = lot.gate_secret.clone();
        Self {
            lot: lot.into(),
            gate_secret,
        }
    }
}

/// Set up a lot with its slots (district admin or street staff, or a partner's staff in the
/// partner's community).
#[utoipa::path(post, path = "/api/v1/admin/parking/lots", tag = "parking", security(("bearer" = [])),
    request_body = LotRequest,
    responses((status = 201, body = LotWithSecret),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_lot(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<LotRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let input = LotInput {
        partner_id: b.partner_id,
        name: b.name,
        org_id: b.org_id,
        address: b.address,
        slot_count: b.slot_count,
        points_per_hour: b.points_per_hour,
        billing_unit_minutes: b.billing_unit_minutes,
        open_hours: b.open_hours.into_iter().map(Into::into).collect(),
        max_booking_hours: b.max_booking_hours,
        entry_grace_minutes: b.entry_grace_minutes,
    };
    let (actor, now) = (user.0, state.clock.now());
    let settled = state
        .unkeyed_unit()
        .routed_by(&actor)
        .run(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                lots::create(conn, &actor, input, now)
                    .await
                    .map(LotWithSecret::from)
            })
        })
        .await?;
    public_reads::forget(&state, Family::Lots).await;
    Ok(crate::unit_of_work::answer(settled.answer()))
}

/// A new gate secret for the lot's camera; the old one stops working.
#[utoipa::path(post, path = "/api/v1/admin/parking/lots/{id}/gate-secret", tag = "parking", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = LotWithSecret)))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = lots::rotate_secret(&state.db, &user.0, &path, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(LotWithSecret::from(rotated)))
}

#[derive(Deserialize, IntoParams)]
pub struct LotQuery {
    /// Lots of this org and below.
    pub org_id: Option<String>,
}

/// Parking lots (public).
#[utoipa::path(get, path = "/api/v1/parking/lots", tag = "parking", params(LotQuery),
    responses((status = 304, description = "Not Modified: the `If-None-Match` ETag is current"), (status = 200, body = Vec<LotResponse>)))]
pub async fn list_lots(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<LotQuery>,
) -> Result<HttpResponse, ApiError> {
    public_reads::answer(&state, &request, Family::Lots, async {
        let path =
            identity::service::orgs::filter_path(&state.reads, query.org_id.as_deref()).await?;
        let rows = lots::list(&state.reads, path.as_deref()).await?;
        Ok(rows.into_iter().map(LotResponse::from).collect::<Vec<_>>())
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct WindowQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AvailabilityResponse {
    pub lot_id: String,
    pub total_slots: i64,
    pub free_slots: i64,
    /// What a booking of this window would hold.
    pub points_quote: i64,
    /// Whether the lot is open for the whole window.
    pub open: bool,
}

/// Free slots and a points quote for a window (public).
#[utoipa::path(get, path = "/api/v1/parking/lots/{id}/availability", tag = "parking",
    params(("id" = String, Path), WindowQuery),
    responses((status = 200, body = AvailabilityResponse)))]
pub async fn availability(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<WindowQuery>,
) -> Result<HttpResponse, ApiError> {
    let (lot, free, quote, open) =
        bookings::availability(&state.reads, &path, query.from, query.to).await?;
    Ok(HttpResponse::Ok().json(AvailabilityResponse {
        lot_id: lot.id,
        total_slots: lot.slot_count,
        free_slots: free,
        points_quote: quote,
        open,
    }))
}

// ---------------------------------------------------------------------------------------
// Bookings

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    pub lot_id: String,
    #[schema(example = "晋B12345")]
    pub plate: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct BookingResponse {
    pub id: String,
    pub lot_id: String,
    /// The painted code of the assigned slot.
    pub slot_code: String,
    pub plate: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `booked`, `active`, `completed`, `cancelled`, `no_show`, `unpaid_overstay`.
    pub status: String,
    pub held_points: i64,
    pub entered_at: Option<DateTime<Utc>>,
    pub exited_at: Option<DateTime<Utc>>,
    pub charged_points: i64,
    pub overstay_points: i64,
    pub unpaid_points: i64,
}

/// The booking as clients see it; `conn` is the caller's transaction when it has one (on
/// SQLite the transaction holds the only connection).
async fn booking_response(
    conn: &impl sea_orm::ConnectionTrait,
    b: booking::Model,
) -> Result<BookingResponse, ParkingError> {
    Ok(booking_page(conn, vec![b]).await?.remove(0))
}

/// Bookings as clients see them, with their slots' codes read in one query.
async fn booking_page(
    conn: &impl sea_orm::ConnectionTrait,
    rows: Vec<booking::Model>,
) -> Result<Vec<BookingResponse>, ParkingError> {
    let codes = bookings::slot_codes(conn, &rows).await?;
    Ok(rows
        .into_iter()
        .map(|b| {
            let slot_code = codes.get(&b.slot_id).cloned().unwrap_or_default();
            as_seen(b, slot_code)
        })
        .collect())
}

fn as_seen(b: booking::Model, slot_code: String) -> BookingResponse {
    BookingResponse {
        slot_code,
        id: b.id,
        lot_id: b.lot_id,
        plate: b.plate,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        status: b.status.as_str().to_owned(),
        held_points: b.held_points,
        entered_at: b.entered_at,
        exited_at: b.exited_at,
        charged_points: b.charged_points,
        overstay_points: b.overstay_points,
        unpaid_points: b.unpaid_points,
    }
}

/// Book a slot for a window; its price is held on the caller's points. Accepts
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/parking/bookings", tag = "parking", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)), request_body = BookingRequest,
    responses((status = 201, body = BookingResponse),
        (status = 409, description = "`no_slot_available`, `insufficient_points`, `unpaid_overstay`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`outside_open_hours`, `invalid_plate`, `validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn book(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<BookingRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    let unit = state.unit(&actor, key, &("parking", &b));
    let input = BookingInput {
        plate: Plate::parse(&b.plate).ok_or(ParkingError::InvalidPlate)?,
        lot_id: b.lot_id,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
    };
    let booked = unit
        .run(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                let booked = bookings::book(conn, &actor, input, now).await?;
                Ok::<_, ParkingError>(as_seen(booked.booking, booked.slot_code))
            })
        })
        .await?;
    if booked.value().is_some() {
        state.metrics.business.parking_booked();
    }
    Ok(crate::unit_of_work::answer(booked.answer()))
}

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BookingPage {
    pub items: Vec<BookingResponse>,
    pub next_cursor: Option<String>,
}

/// The caller's bookings, newest first.
#[utoipa::path(get, path = "/api/v1/me/parking/bookings", tag = "parking", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = BookingPage)))]
pub async fn my_bookings(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let before = cursor_position(query.cursor.as_deref())?;
    let (rows, next) = bookings::mine(
        &state.reads,
        &user.0,
        page_limit(query.limit),
        before.as_deref(),
    )
    .await?;
    let items = booking_page(&state.reads, rows).await?;
    Ok(HttpResponse::Ok().json(BookingPage {
        items,
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

/// Cancel before the start: the hold is released in full.
#[utoipa::path(post, path = "/api/v1/parking/bookings/{id}/cancel", tag = "parking", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = BookingResponse),
        (status = 409, description = "`invalid_transition`; `conflict`: the booking changed meanwhile, reload it", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn cancel(
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
                let cancelled = bookings::cancel(conn, &actor, &id, now).await?;
                booking_response(conn, cancelled).await
            })
        })
        .await
}

/// Pay an unpaid overstay from the available points; booking is possible again. Accepts
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/parking/bookings/{id}/pay", tag = "parking", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = BookingResponse),
        (status = 409, description = "`insufficient_points`, `invalid_transition`; `conflict`: the booking changed meanwhile", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn pay(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id) = (user.0, path.into_inner());
    let unit = state.unit(&actor, key, &("parking-pay", id.as_str()));
    let (rule, now) = (state.expiry_rule(), state.clock.now());
    unit.respond(StatusCode::OK, move |conn| {
        Box::pin(async move {
            let paid = bookings::pay_overstay(conn, &actor, &id, rule, now).await?;
            booking_response(conn, paid).await
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Gates

#[derive(Serialize, ToSchema)]
pub struct GateResponse {
    /// `open` or `deny`.
    pub action: String,
    pub booking_id: Option<String>,
    /// Points charged on exit (parking within the booking plus any overstay paid).
    pub charged_points: Option<i64>,
    /// Why the gate stays shut.
    pub reason: Option<String>,
}

impl From<GateDecision> for GateResponse {
    fn from(d: GateDecision) -> Self {
        Self {
            action: d.action,
            booking_id: d.booking_id,
            charged_points: d.charged_points,
            reason: d.reason,
        }
    }
}

/// A plate camera's entry or exit. Header `X-Linli-Signature: sha256=<hex HMAC-SHA256 of
/// the raw body with the lot's gate_secret>`; body `{event_id, lot_id, plate, kind:
/// entry|exit, at}`. A bad or missing signature, or `at` more than 5 minutes from the
/// server's clock → 401; a repeated `event_id` gets the first answer and changes nothing.
#[utoipa::path(post, path = "/api/v1/parking/gate-events", tag = "parking",
    params(("X-Linli-Signature" = String, Header)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = GateResponse),
        (status = 401, description = "`gate_signature_invalid`, `gate_event_stale`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn gate_event(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if body.len() > crate::extract::MAX_BODY_BYTES {
        return Err(ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE));
    }
    crate::extract::refuse_control_characters(&body)?;
    let now = state.clock.now();
    let header = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    // The lot and an earlier answer are read where reads go: on SQLite a reader, not the
    // one writer that the event's own batch needs next.
    let (event, lot) = gate::authenticate(&state.reads, &body, header, now).await?;
    if let Some(earlier) = gate::earlier_answer(&state.reads, &event).await? {
        return Ok(HttpResponse::Ok().json(GateResponse::from(earlier)));
    }
    let rule = state.expiry_rule();
    // With the lot's community: where its residents' bookings are written.
    let handled = state
        .unkeyed_unit()
        .routed_to(&lot.org_id)
        .run(StatusCode::OK, move |conn| {
            Box::pin(async move {
                gate::handle(conn, &lot, &event, rule, now)
                    .await
                    .map(GateResponse::from)
            })
        })
        .await?;
    if let Some(charged) = handled.value().and_then(|gate| gate.charged_points) {
        (state.metrics.business).points_redeemed(PointsChannel::Parking, charged);
    }
    Ok(crate::unit_of_work::answer(handled.answer()))
}

/// `check-in` or `check-out` a booking at a lot without a camera (staff over the lot's org).
#[utoipa::path(post, path = "/api/v1/staff/parking/bookings/{id}/{action}", tag = "parking", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path, description = "check-in | check-out")),
    responses((status = 200, body = BookingResponse),
        (status = 409, description = "`invalid_transition`, `outside_check_in_window`; `conflict`: the booking changed meanwhile", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn staff_gate(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let action =
        StaffGateAction::parse(&name).ok_or_else(|| ApiError::not_found("No such action."))?;
    let (actor, rule, now) = (user.0, state.expiry_rule(), state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                let after = bookings::check_by_staff(conn, &actor, &id, action, rule, now).await?;
                booking_response(conn, after).await
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct UsageQuery {
    /// First day (Beijing time), `YYYY-MM-DD`; default 29 days before `to`.
    pub from: Option<chrono::NaiveDate>,
    /// Last day, inclusive; default today.
    pub to: Option<chrono::NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct DayUsageResponse {
    pub date: chrono::NaiveDate,
    pub bookings: i64,
    pub booked_minutes: i64,
    pub occupied_minutes: i64,
    pub open_slot_minutes: i64,
    /// Booked slot-minutes over open slot-minutes; null on a closed day.
    pub utilization: Option<f64>,
    pub points_charged: i64,
}

/// Occupancy and utilisation of a lot per day (staff over the lot's org).
#[utoipa::path(get, path = "/api/v1/staff/parking/lots/{id}/usage", tag = "parking", security(("bearer" = [])),
    params(("id" = String, Path), UsageQuery),
    responses((status = 200, body = Vec<DayUsageResponse>)))]
pub async fn usage(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let today = (now + platform::clock::CHINA_OFFSET).date_naive();
    let to = query.to.unwrap_or(today);
    let from = query.from.unwrap_or(to - chrono::Duration::days(29));
    let days =
        parking::service::usage::daily_of(&state.reads, &user.0, &path, from, to, now).await?;
    Ok(HttpResponse::Ok().json(
        days.into_iter()
            .map(|d| DayUsageResponse {
                date: d.date,
                bookings: d.bookings,
                booked_minutes: d.booked_minutes,
                occupied_minutes: d.occupied_minutes,
                open_slot_minutes: d.open_slot_minutes,
                utilization: d.utilization,
                points_charged: d.points_charged,
            })
            .collect::<Vec<_>>(),
    ))
}
