//! Exports of demands for a period, as CSV (UTF-8 with a byte-order mark, so Excel reads the
//! Chinese right) and as XLSX, with the time of every stage in Beijing time.

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::spreadsheet::{self, XLSX};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use demands::service::export::{rows, ExportRow};
use demands::service::metrics;
use rust_xlsxwriter::{Format, Workbook};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/staff/exports/demands.csv").route(web::get().to(demands_csv)))
        .service(web::resource("/staff/exports/demands.xlsx").route(web::get().to(demands_xlsx)));
}

#[derive(Deserialize, IntoParams)]
pub struct ExportQuery {
    /// District, street or community in the caller's scope (default: the caller's org).
    pub org_id: Option<String>,
    /// Filed at or after (default: 30 days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// Filed before (default: now).
    pub to: Option<DateTime<Utc>>,
}

const HEADERS: [&str; 17] = [
    "编号",
    "标题",
    "类别",
    "社区",
    "状态",
    "提交时间",
    "受理时间",
    "开始处理时间",
    "首次办结时间",
    "最近办结时间",
    "关闭时间",
    "办结时限",
    "超时上报时间",
    "办理时长（小时）",
    "按时办结",
    "是否满意",
    "评分",
];

fn status_label(status: &str) -> &'static str {
    match status {
        "submitted" => "待受理",
        "accepted" => "已受理",
        "in_progress" => "处理中",
        "resolved" => "已办结",
        "closed" => "已关闭",
        "rejected" => "不予受理",
        "withdrawn" => "已撤回",
        _ => "",
    }
}

pub fn beijing(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| {
        (t + platform::clock::CHINA_OFFSET)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    })
    .unwrap_or_default()
}

fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "是".to_owned(),
        Some(false) => "否".to_owned(),
        None => String::new(),
    }
}

/// The cells of one row, as text, in `HEADERS` order.
fn cells(row: &ExportRow) -> [String; 17] {
    let d = &row.demand;
    [
        d.id.clone(),
        d.title.clone(),
        row.category.clone(),
        row.community.clone(),
        status_label(&d.status).to_owned(),
        beijing(Some(d.submitted_at)),
        beijing(d.accepted_at),
        beijing(row.started_at),
        beijing(d.first_resolved_at),
        beijing(d.resolved_at),
        beijing(d.closed_at),
        beijing(Some(d.due_at)),
        beijing(d.escalated_at),
        d.handling_seconds
            .map(|s| format!("{:.2}", s as f64 / 3600.0))
            .unwrap_or_default(),
        yes_no(d.resolved_on_time),
        yes_no(d.rating_satisfied),
        d.rating_score.map(|s| s.to_string()).unwrap_or_default(),
    ]
}

/// RFC 4180: quote a field that holds a comma, quote or line break; double the quotes. A
/// field a spreadsheet would read as a formula (OWASP's rule: it begins with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) is neutralised with a leading `'` and quoted: residents
/// write demand titles, and a street official opens the file in Excel.
fn csv_field(value: &str) -> String {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula {
        format!("\"'{}\"", value.replace('"', "\"\""))
    } else if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// What an export covers: the org in the caller's scope and the period.
pub struct Period {
    pub org: identity::entity::org::Model,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    /// The org and period `query` names, defaulting to the caller's org and the last 30 days.
    pub async fn of(
        state: &AppState,
        user: &AuthUser,
        query: &ExportQuery,
    ) -> Result<Self, ApiError> {
        let to = query.to.unwrap_or(state.clock.now());
        let from = query.from.unwrap_or(to - Duration::days(30));
        let org = metrics::scope_org(&state.reads, &user.0, query.org_id.as_deref()).await?;
        Ok(Self { org, from, to })
    }

    /// `demands-20261101-20261201`: a file name for the period in Beijing days.
    pub fn file_name(&self, what: &str) -> String {
        format!(
            "{what}-{}-{}",
            (self.from + platform::clock::CHINA_OFFSET).format("%Y%m%d"),
            (self.to + platform::clock::CHINA_OFFSET).format("%Y%m%d")
        )
    }
}

async fn load(
    state: &AppState,
    user: &AuthUser,
    query: &ExportQuery,
) -> Result<(Vec<ExportRow>, String), ApiError> {
    let period = Period::of(state, user, query).await?;
    let found = rows(&state.reads, &period.org, period.from, period.to).await?;
    Ok((found, period.file_name("demands")))
}

/// Demands filed in a period under an org, one row each with every stage's time (CSV).
#[utoipa::path(get, path = "/api/v1/staff/exports/demands.csv", tag = "dashboard", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "text/csv, UTF-8 with BOM", content_type = "text/csv"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn demands_csv(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (found, name) = load(&state, &user, &query).await?;
    let mut out = String::from("\u{feff}");
    out.push_str(&HEADERS.join(","));
    out.push_str("\r\n");
    for row in &found {
        let line: Vec<String> = cells(row).iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    let file = format!("{name}.csv");
    Ok(spreadsheet::attachment(
        &file,
        "text/csv; charset=utf-8",
        out.into_bytes(),
    ))
}

/// The same as an Excel workbook (XLSX).
#[utoipa::path(get, path = "/api/v1/staff/exports/demands.xlsx", tag = "dashboard", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "an XLSX workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn demands_xlsx(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (found, name) = load(&state, &user, &query).await?;
    let bytes = workbook(&found).map_err(ApiError::internal)?;
    Ok(spreadsheet::attachment(
        &format!("{name}.xlsx"),
        XLSX,
        bytes,
    ))
}

fn workbook(found: &[ExportRow]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("诉求")?;
    let bold = Format::new().set_bold();
    for (col, title) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *title, &bold)?;
    }
    for (i, row) in found.iter().enumerate() {
        let r = (i + 1) as u32;
        for (col, value) in cells(row).iter().enumerate() {
            match (col, row.demand.handling_seconds, row.demand.rating_score) {
                (13, Some(seconds), _) => {
                    sheet.write_number(r, col as u16, seconds as f64 / 3600.0)?
                }
                (16, _, Some(score)) => sheet.write_number(r, col as u16, f64::from(score))?,
                _ => sheet.write_string(r, col as u16, value)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("楼道灯坏了"), "楼道灯坏了");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("说\"坏了\""), "\"说\"\"坏了\"\"\"");
        assert_eq!(csv_field("两\n行"), "\"两\n行\"");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\",\"点我\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\""
        );
        for lead in ["+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_field(lead).starts_with("\"'"), "{lead:?}");
        }
        assert_eq!(csv_field("1.50"), "1.50");
        assert_eq!(csv_field("电话=12345"), "电话=12345");
    }
}
