//! The three lists of the partner scheme (资源清单, 需求清单, 问题清单) as one Excel workbook
//! for the org in scope, a sheet each. Cells are written as text or numbers, never as
//! formulas, whatever a partner or staff member typed.

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::spreadsheet::{self, XLSX};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use partners::service::needs::NeedFilter;
use partners::service::resources::{categories_of, ResourceFilter};
use partners::service::{needs, problems, resources};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/staff/exports/partner-lists.xlsx").route(web::get().to(partner_lists)),
    );
}

/// At most this many rows per sheet (pages of 100).
const MAX_PAGES: usize = 200;

#[derive(Deserialize, IntoParams)]
pub struct ListsQuery {
    /// An org in your scope (default: all of it).
    pub org_id: Option<String>,
}

/// Every page of a cursor-paged list.
macro_rules! all_pages {
    ($fetch:expr) => {{
        let mut rows = Vec::new();
        let mut before: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (page, next) = $fetch(before.as_deref()).await?;
            rows.extend(page);
            match next {
                Some(n) => before = Some(n),
                None => break,
            }
        }
        rows
    }};
}

/// The resources, needs and problems under your org, one sheet each (XLSX).
#[utoipa::path(get, path = "/api/v1/staff/exports/partner-lists.xlsx", tag = "partners", security(("bearer" = [])), params(ListsQuery),
    responses((status = 200, description = "an XLSX workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, description = "`forbidden`: not staff, or the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn partner_lists(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (db, actor, org_id) = (&state.reads, &user.0, query.org_id.clone());
    let resource_filter = ResourceFilter {
        org_id: org_id.clone(),
        ..Default::default()
    };
    let need_filter = NeedFilter {
        org_id: org_id.clone(),
        ..Default::default()
    };
    let found_resources = all_pages!(|b| resources::list(db, actor, &resource_filter, 100, b));
    let found_needs = all_pages!(|b| needs::list(db, actor, &need_filter, 100, b));
    let found_problems = all_pages!(|b| problems::list(db, actor, org_id.as_deref(), None, 100, b));
    let bytes =
        workbook(&found_resources, &found_needs, &found_problems).map_err(ApiError::internal)?;
    Ok(spreadsheet::attachment("partner-lists.xlsx", XLSX, bytes))
}

fn sheet<'a>(
    workbook: &'a mut Workbook,
    name: &str,
    headers: &[&str],
) -> Result<&'a mut Worksheet, XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name(name)?;
    let bold = Format::new().set_bold();
    for (col, title) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *title, &bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(sheet)
}

fn beijing(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + platform::clock::CHINA_OFFSET)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn workbook(
    found_resources: &[partners::entity::resource::Model],
    found_needs: &[partners::entity::need::Model],
    found_problems: &[partners::entity::problem::Model],
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let s = sheet(
        &mut book,
        "资源清单",
        &[
            "编号",
            "合伙人",
            "社区",
            "类型",
            "名称",
            "服务类别",
            "容量",
            "已用",
            "时间",
            "状态",
            "登记时间",
        ],
    )?;
    for (i, r) in found_resources.iter().enumerate() {
        let row = (i + 1) as u32;
        let categories: Vec<&str> = categories_of(r).iter().map(|c| c.as_str()).collect();
        for (col, text) in [
            &r.id,
            &r.partner_id,
            &r.community_id,
            &r.resource_type,
            &r.title,
        ]
        .into_iter()
        .enumerate()
        {
            s.write_string(row, col as u16, text)?;
        }
        s.write_string(row, 5, categories.join(","))?;
        s.write_number(row, 6, r.capacity as f64)?;
        s.write_number(row, 7, r.capacity_used as f64)?;
        s.write_string(row, 8, &r.availability)?;
        s.write_string(row, 9, &r.status)?;
        s.write_string(row, 10, beijing(r.created_at))?;
    }
    let s = sheet(
        &mut book,
        "需求清单",
        &[
            "编号",
            "社区",
            "类别",
            "标题",
            "说明",
            "户数",
            "来源",
            "状态",
            "登记时间",
        ],
    )?;
    for (i, n) in found_needs.iter().enumerate() {
        let row = (i + 1) as u32;
        for (col, text) in [
            &n.id,
            &n.community_id,
            &n.category,
            &n.title,
            &n.description,
        ]
        .into_iter()
        .enumerate()
        {
            s.write_string(row, col as u16, text)?;
        }
        if let Some(households) = n.households {
            s.write_number(row, 5, households as f64)?;
        }
        s.write_string(row, 6, &n.source)?;
        s.write_string(row, 7, &n.status)?;
        s.write_string(row, 8, beijing(n.created_at))?;
    }
    let s = sheet(
        &mut book,
        "问题清单",
        &[
            "编号",
            "社区",
            "标题",
            "说明",
            "严重程度",
            "状态",
            "处理结果",
            "登记时间",
        ],
    )?;
    for (i, p) in found_problems.iter().enumerate() {
        let row = (i + 1) as u32;
        for (col, text) in [
            &p.id,
            &p.community_id,
            &p.title,
            &p.description,
            &p.severity,
            &p.status,
        ]
        .into_iter()
        .enumerate()
        {
            s.write_string(row, col as u16, text)?;
        }
        s.write_string(row, 6, p.resolution.as_deref().unwrap_or(""))?;
        s.write_string(row, 7, beijing(p.created_at))?;
    }
    book.save_to_buffer()
}
