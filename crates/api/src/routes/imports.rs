//! Rosters from Excel: the template, and the import with its dry run (`roster_import`).

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::public_reads::{self, Family};
use crate::roster_import::{self, workbook, Created, Report, RowProblem};
use crate::spreadsheet::{self, XLSX};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use platform::{Code, Problem, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/imports/template.xlsx").route(web::get().to(template)))
        .service(web::resource("/admin/imports").route(web::post().to(import)));
}

/// The roster template: a 说明 sheet and the sheets 社区, 小区, 工作人员, 需求清单, 问题清单.
#[utoipa::path(get, path = "/api/v1/admin/imports/template.xlsx", tag = "orgs", security(("bearer" = [])),
    responses((status = 200, description = "an XLSX workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, description = "`forbidden`: not district, street or community staff", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn template(user: AuthUser) -> Result<HttpResponse, ApiError> {
    user.0
        .require_org_staff("Only district, street and community staff import rosters.")?;
    let bytes = roster_import::template::workbook().map_err(ApiError::internal)?;
    Ok(spreadsheet::attachment("roster-template.xlsx", XLSX, bytes))
}

#[derive(Deserialize, IntoParams)]
pub struct ImportQuery {
    /// `true`: check every row and report, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The bytes of an .xlsx workbook.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct XlsxFile(pub Vec<u8>);

#[derive(Serialize, ToSchema)]
pub struct ImportResponse {
    pub dry_run: bool,
    /// No row has a problem: the import was (or would be) written whole.
    pub valid: bool,
    /// Data rows read (blank rows skipped).
    pub rows: u32,
    /// Created, or on a dry run what would be.
    pub created: Created,
    /// Every row's problems, in Chinese, in sheet and row order.
    pub problems: Vec<RowProblem>,
}

/// Import a filled-in template (the XLSX file as the body, at most 1 MiB and 5,000 rows).
/// Every row runs the checks of its API call, in the caller's scope; names refer to orgs
/// that exist or that an earlier sheet of the file creates. With `dry_run=true`: 200 and
/// every row's problems, nothing written. Without: all or nothing, 201 when every row was
/// written, else 422 `validation_failed` naming each bad cell (`工作人员!C5`) and nothing
/// written.
#[utoipa::path(post, path = "/api/v1/admin/imports", tag = "orgs", security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = XlsxFile, content_type = "application/octet-stream", description = "The filled-in template's bytes (any `Content-Type`; an .xlsx is read by its content)"),
    responses((status = 200, description = "A dry run's report", body = ImportResponse),
        (status = 201, description = "Imported", body = ImportResponse),
        (status = 403, description = "`forbidden`: not district, street or community staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: not an XLSX file, a heading missing, or rows with problems (each in `errors`, `field` the cell); nothing written", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn import(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ImportQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let actor = user.0;
    actor.require_org_staff("Only district, street and community staff import rosters.")?;
    let sheets = workbook::read(&body, &roster_import::sheets::SHEETS)
        .map_err(|unreadable| refusal(unreadable.into_iter().map(|u| (u.cell, u.message))))?;
    let write = !query.dry_run;
    let report =
        roster_import::import(&state.db, &actor, &sheets, write, state.clock.now()).await?;
    let written = write && report.problems.is_empty();
    if written {
        public_reads::forget(&state, Family::Orgs).await;
    } else if write {
        let problems = report.problems.into_iter();
        return Err(refusal(problems.map(|p| (p.cell, p.message))).into());
    }
    let status = if written {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(ImportResponse::of(query.dry_run, report)))
}

impl ImportResponse {
    fn of(dry_run: bool, report: Report) -> Self {
        Self {
            dry_run,
            valid: report.problems.is_empty(),
            rows: report.rows,
            created: report.created,
            problems: report.problems,
        }
    }
}

/// 422 `validation_failed`, one error per (cell, message): nothing was written.
fn refusal(problems: impl Iterator<Item = (String, String)>) -> Problem {
    let mut errors = ValidationErrors::new();
    let mut count = 0;
    for (cell, message) in problems {
        errors.add(&cell, message);
        count += 1;
    }
    let mut problem = Problem::from(errors);
    problem.detail =
        format!("导入未执行：有 {count} 处问题，什么也没有写入。请按 errors 逐条修改后重新上传。");
    debug_assert_eq!(problem.code, Code::ValidationFailed);
    problem
}
