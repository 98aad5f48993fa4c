//! Exports beside the demands': merchants, redemptions, parking usage and volunteer hours
//! for a period under an org in the caller's scope, one Excel sheet each, in Beijing time.

use super::exports::{beijing, ExportQuery, Period};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::spreadsheet::{self, Cell, XLSX};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use chrono::Duration;
use merchant::service::export::{self as merchant_export, MerchantRow, RedemptionRow};
use parking::service::{lots, usage};
use timebank::service::export::{self as hours_export, HoursRow};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/staff/exports/merchants.xlsx").route(web::get().to(merchants)))
        .service(web::resource("/staff/exports/redemptions.xlsx").route(web::get().to(redemptions)))
        .service(
            web::resource("/staff/exports/parking-usage.xlsx").route(web::get().to(parking_usage)),
        )
        .service(
            web::resource("/staff/exports/volunteer-hours.xlsx")
                .route(web::get().to(volunteer_hours)),
        );
}

fn download(period: &Period, what: &str, bytes: Vec<u8>) -> HttpResponse {
    spreadsheet::attachment(&format!("{}.xlsx", period.file_name(what)), XLSX, bytes)
}

fn merchant_status(status: &str) -> &'static str {
    match status {
        "pending" => "待审核",
        "active" => "营业中",
        "suspended" => "已暂停",
        "rejected" => "未通过",
        "closed" => "已退出",
        _ => "",
    }
}

/// Every merchant (and partner) of the communities under the org, with its published offers
/// and the codes verified in the period.
#[utoipa::path(get, path = "/api/v1/staff/exports/merchants.xlsx", tag = "dashboard", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "an XLSX workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn merchants(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let period = Period::of(&state, &user, &query).await?;
    let found =
        merchant_export::merchants(&state.reads, &period.org, period.from, period.to).await?;
    let headings = [
        "编号",
        "名称",
        "类型",
        "形式",
        "类别",
        "社区",
        "地址",
        "状态",
        "入驻时间",
        "上架服务数",
        "期间核销笔数",
        "期间核销积分",
    ];
    let rows: Vec<Vec<Cell>> = found.iter().map(merchant_cells).collect();
    let bytes = spreadsheet::workbook("商户", &headings, &rows).map_err(ApiError::internal)?;
    Ok(download(&period, "merchants", bytes))
}

fn merchant_cells(row: &MerchantRow) -> Vec<Cell> {
    let m = &row.merchant;
    vec![
        m.id.as_str().into(),
        m.name.as_str().into(),
        merchant::PartnerKind::parse(&m.kind)
            .map_or_else(|| m.kind.clone(), |kind| kind.label().to_owned())
            .into(),
        if m.partner_type == "group" {
            "团体型"
        } else {
            "独立型"
        }
        .into(),
        m.category.as_str().into(),
        row.community.as_str().into(),
        m.address.as_str().into(),
        merchant_status(m.status.as_str()).into(),
        beijing(Some(m.created_at)).into(),
        row.offers_published.into(),
        row.redeemed.into(),
        row.points_redeemed.into(),
    ]
}

/// Every reservation made in the period at merchants under the org, with its outcome.
#[utoipa::path(get, path = "/api/v1/staff/exports/redemptions.xlsx", tag = "dashboard", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "an XLSX workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn redemptions(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let period = Period::of(&state, &user, &query).await?;
    let found =
        merchant_export::redemptions(&state.reads, &period.org, period.from, period.to).await?;
    let headings = [
        "编号",
        "商户",
        "社区",
        "服务",
        "积分",
        "折合金额（元）",
        "状态",
        "预约时间",
        "核销时间",
        "结束时间",
        "结束原因",
    ];
    let rows: Vec<Vec<Cell>> = found.iter().map(redemption_cells).collect();
    let bytes = spreadsheet::workbook("核销", &headings, &rows).map_err(ApiError::internal)?;
    Ok(download(&period, "redemptions", bytes))
}

fn redemption_cells(row: &RedemptionRow) -> Vec<Cell> {
    let r = &row.redemption;
    let status = match r.status.as_str() {
        "reserved" => "待核销",
        "redeemed" => "已核销",
        "cancelled" => "已取消",
        "expired" => "已过期",
        _ => "",
    };
    vec![
        r.id.as_str().into(),
        row.merchant.as_str().into(),
        row.community.as_str().into(),
        r.offer_title.as_str().into(),
        r.points.into(),
        Cell::Number(r.cash_value_fen as f64 / 100.0),
        status.into(),
        beijing(Some(r.created_at)).into(),
        beijing(r.redeemed_at).into(),
        beijing(r.ended_at).into(),
        r.end_reason.clone().into(),
    ]
}

/// Each lot under the org, day by day (Beijing days, at most 92): bookings, booked and
/// occupied slot-minutes, open slot-minutes, utilisation and points charged.
#[utoipa::path(get, path = "/api/v1/staff/exports/parking-usage.xlsx", tag = "dashboard", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "an XLSX workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: more than 92 days", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn parking_usage(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let period = Period::of(&state, &user, &query).await?;
    let beijing_day =
        |at: chrono::DateTime<chrono::Utc>| (at + platform::clock::CHINA_OFFSET).date_naive();
    let (first, last) = (
        beijing_day(period.from),
        beijing_day(period.to - Duration::seconds(1)),
    );
    let mut rows = Vec::new();
    for lot in lots::list(&state.reads, Some(&period.org.path)).await? {
        for day in usage::daily(&state.reads, &lot, first, last, state.clock.now()).await? {
            rows.push(vec![
                lot.name.as_str().into(),
                day.date.to_string().into(),
                day.bookings.into(),
                day.booked_minutes.into(),
                day.occupied_minutes.into(),
                day.open_slot_minutes.into(),
                day.utilization.map_or(Cell::Empty, Cell::Number),
                day.points_charged.into(),
            ]);
        }
    }
    let headings = [
        "停车场",
        "日期",
        "预约数",
        "预约车位分钟",
        "在场车位分钟",
        "开放车位分钟",
        "利用率",
        "收取积分",
    ];
    let bytes = spreadsheet::workbook("停车", &headings, &rows).map_err(ApiError::internal)?;
    Ok(download(&period, "parking-usage", bytes))
}

/// Every attendance settled in the period for activities under the org: the volunteer, the
/// minutes and points paid.
#[utoipa::path(get, path = "/api/v1/staff/exports/volunteer-hours.xlsx", tag = "dashboard", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "an XLSX workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn volunteer_hours(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let period = Period::of(&state, &user, &query).await?;
    let found =
        hours_export::volunteer_hours(&state.reads, &period.org, period.from, period.to).await?;
    let headings = [
        "活动",
        "组织方",
        "活动开始",
        "志愿者编号",
        "志愿者",
        "时长（小时）",
        "时长（分钟）",
        "积分",
        "结算时间",
    ];
    let rows: Vec<Vec<Cell>> = found.iter().map(hours_cells).collect();
    let bytes = spreadsheet::workbook("志愿时长", &headings, &rows).map_err(ApiError::internal)?;
    Ok(download(&period, "volunteer-hours", bytes))
}

fn hours_cells(row: &HoursRow) -> Vec<Cell> {
    vec![
        row.activity.title.as_str().into(),
        row.organiser.as_str().into(),
        beijing(Some(row.activity.starts_at)).into(),
        row.user_id.as_str().into(),
        row.volunteer.as_str().into(),
        Cell::Number(row.minutes as f64 / 60.0),
        row.minutes.into(),
        row.points.into(),
        beijing(Some(row.settled_at)).into(),
    ]
}
