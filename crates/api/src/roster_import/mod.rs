//! Rosters from Excel (名册导入): communities, compounds, staff accounts and the needs and
//! problems lists, from the workbook of [`template`].
//!
//! Every row goes through the same use case as its API call (scope, roles, names unique
//! among siblings), inside one transaction, each behind its own savepoint so that one bad
//! row does not hide the problems of the rows after it. The caller then commits only when
//! no row has a problem (all or nothing) and never on a dry run, so a dry run reports
//! exactly what the import would do. Problems are told in Chinese, naming the sheet and
//! cell (`工作人员!C5`), for the clerk who fixes them in Excel.

pub mod sheets;
pub mod template;
pub mod workbook;

use identity::entity::org;
use identity::service::orgs::{self, NewOrg};
use identity::service::staff::{self, NewStaff};
use identity::{Actor, OrgKind, Role};
use partners::service::needs::{self, NewNeed};
use partners::service::problems::{self, NewProblem};
use platform::{Code, Problem};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait};
use serde::Serialize;
use sheets::{code_of, words, SheetSpec};
use workbook::{Row, Sheet};

/// What was (or, on a dry run, would be) created, sheet by sheet.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub communities: u32,
    pub compounds: u32,
    pub staff: u32,
    pub needs: u32,
    pub problems: u32,
}

/// One problem of one row (or of the file, with `row` 0).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    #[schema(example = "工作人员")]
    pub sheet: String,
    /// The row's number in Excel (the heading is row 1); 0 for the file as a whole.
    pub row: u32,
    /// Where to look, as Excel names it.
    #[schema(example = "工作人员!C5")]
    pub cell: String,
    #[schema(example = "第 5 行「角色」须为：社区工作人员、街道工作人员、区级管理员")]
    pub message: String,
}

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub rows: u32,
    pub created: Created,
    pub problems: Vec<RowProblem>,
}

/// Problems found in a row before it reaches the use case: (heading, message).
type Findings = Vec<(&'static str, String)>;

/// The staff sheet's password hashes by row number, made before the transaction opens.
type Hashes = std::collections::HashMap<u32, String>;

/// Hashes the initial password of every staff row that passed the sheet's own checks, two
/// at a time, before the import's transaction opens: Argon2 takes tens of milliseconds a
/// row, and on SQLite the transaction holds the only writer.
async fn hash_passwords(sheets: &[Sheet]) -> Result<Hashes, Problem> {
    use futures_util::{stream, StreamExt, TryStreamExt};
    let rows = sheets
        .iter()
        .filter(|sheet| sheet.spec.name == sheets::STAFF)
        .flat_map(|sheet| sheet.rows.iter().map(move |row| (sheet.spec, row)))
        .filter(|(spec, row)| basic_findings(spec, row).is_empty());
    stream::iter(rows.map(|(_, row)| {
        let password = row.cell("初始密码").to_owned();
        async move { Ok::<_, Problem>((row.number, staff::hash_for_account(password).await?)) }
    }))
    .buffer_unordered(2)
    .try_collect()
    .await
}

/// Checks every row of `sheets` in one transaction and commits it only when `write` and no
/// row has a problem; otherwise it is rolled back, so a dry run does exactly what the
/// import would and keeps nothing. An import is one transaction of its own, outside the
/// group-commit writers (like a job round): a roster is thousands of rows, too big to sit
/// in a batch beside residents' requests. An `Err` is a fault of ours or of the database.
pub async fn import(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    sheets: &[Sheet],
    write: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Report, Problem> {
    let hashes = hash_passwords(sheets).await?;
    let txn = db.begin().await?;
    let report = run(&txn, actor, sheets, &hashes, now).await?;
    if write && report.problems.is_empty() {
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    Ok(report)
}

/// Runs every row of `sheets` in `txn`. An `Err` is a fault of ours or of the database (the
/// import stops); a row's problems go into the report.
async fn run(
    txn: &DatabaseTransaction,
    actor: &Actor,
    sheets: &[Sheet],
    hashes: &Hashes,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Report, Problem> {
    let mut report = Report::default();
    for sheet in sheets {
        for row in &sheet.rows {
            report.rows += 1;
            let mut findings = basic_findings(sheet.spec, row);
            if findings.is_empty() {
                let savepoint = txn.begin().await?;
                match write_row(&savepoint, actor, sheet.spec.name, row, hashes, now).await {
                    Ok(()) => {
                        savepoint.commit().await?;
                        count(&mut report.created, sheet.spec.name);
                    }
                    Err(RowError::Findings(found)) => {
                        savepoint.rollback().await?;
                        findings = found;
                    }
                    Err(RowError::Refused(problem)) => {
                        savepoint.rollback().await?;
                        findings = explain(sheet.spec.name, problem)?;
                    }
                }
            }
            for (heading, message) in findings {
                report.problems.push(RowProblem {
                    sheet: sheet.spec.name.to_owned(),
                    row: row.number,
                    cell: format!("{}!{}", sheet.spec.name, row.cell_name(heading)),
                    message: match heading {
                        "" => format!("第 {} 行：{message}", row.number),
                        _ => format!("第 {} 行「{heading}」{message}", row.number),
                    },
                });
            }
        }
    }
    Ok(report)
}

fn count(created: &mut Created, sheet: &str) {
    let counter = match sheet {
        sheets::COMMUNITIES => &mut created.communities,
        sheets::COMPOUNDS => &mut created.compounds,
        sheets::STAFF => &mut created.staff,
        sheets::NEEDS => &mut created.needs,
        _ => &mut created.problems,
    };
    *counter += 1;
}

/// Required cells, lengths and choices: what the sheet's columns say on their own.
fn basic_findings(spec: &SheetSpec, row: &Row) -> Findings {
    let mut findings = Findings::new();
    for column in spec.columns {
        let value = row.cell(column.name);
        if value.is_empty() {
            if column.required {
                findings.push((column.name, "不能为空".to_owned()));
            }
        } else if !column.choices.is_empty() {
            if code_of(column.choices, value).is_none() {
                let allowed = words(column.choices);
                findings.push((column.name, format!("须为：{allowed}（填的是「{value}」）")));
            }
        } else if value.chars().count() > column.max_chars {
            let most = column.max_chars;
            findings.push((column.name, format!("最多 {most} 个字符")));
        } else if value.chars().any(char::is_control) {
            findings.push((column.name, "含有换行或控制字符".to_owned()));
        }
    }
    match spec.name {
        sheets::STAFF => {
            let username = row.cell("用户名");
            let allowed =
                |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
            if !username.is_empty() && (username.len() < 3 || !username.bytes().all(allowed)) {
                let rule = "须为 3–32 位小写字母、数字、点、下划线或连字符";
                findings.push(("用户名", rule.to_owned()));
            }
            let password = row.cell("初始密码");
            if !password.is_empty() && password.chars().count() < 8 {
                findings.push(("初始密码", "至少 8 个字符".to_owned()));
            }
        }
        sheets::NEEDS if !row.cell("涉及户数").is_empty() && households(row).is_none() => {
            findings.push(("涉及户数", "须为 1 到 1000000 的整数".to_owned()));
        }
        _ => {}
    }
    findings
}

fn households(row: &Row) -> Option<i64> {
    let text = row.cell("涉及户数");
    text.parse::<i64>()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
}

enum RowError {
    /// Found by the import itself, already in Chinese.
    Findings(Findings),
    /// Refused by the use case.
    Refused(Problem),
}

fn refused(err: impl Into<Problem>) -> RowError {
    RowError::Refused(err.into())
}

fn found(heading: &'static str, message: String) -> RowError {
    RowError::Findings(vec![(heading, message)])
}

async fn write_row(
    conn: &DatabaseTransaction,
    actor: &Actor,
    sheet: &str,
    row: &Row,
    hashes: &Hashes,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), RowError> {
    match sheet {
        sheets::COMMUNITIES | sheets::COMPOUNDS => {
            let (parent_heading, name_heading, kind) = if sheet == sheets::COMMUNITIES {
                ("所属街道", "社区名称", OrgKind::Community)
            } else {
                ("所属社区", "小区名称", OrgKind::Compound)
            };
            let parent_kind = kind.parent_kind().unwrap_or(OrgKind::District);
            let parent = org_named(conn, actor, parent_heading, row, parent_kind).await?;
            let new = NewOrg::parse(kind.as_str(), row.cell(name_heading), Some(parent.id))
                .map_err(refused)?;
            orgs::create_org(conn, actor, new, now)
                .await
                .map_err(refused)?;
        }
        sheets::STAFF => {
            let role = code_of(sheets::ROLES, row.cell("角色"))
                .and_then(Role::parse)
                .unwrap_or(Role::CommunityStaff);
            let (username, password) = (row.cell("用户名"), row.cell("初始密码"));
            let org_kind = role.staff_org_kind().unwrap_or(OrgKind::Community);
            let org = org_named(conn, actor, "所属组织", row, org_kind).await?;
            let mut new =
                NewStaff::parse(username, password, role.as_str(), &org.id).map_err(refused)?;
            new.password_hash = hashes.get(&row.number).cloned();
            staff::create_staff(conn, actor, new, now)
                .await
                .map_err(refused)?;
        }
        sheets::NEEDS => {
            let community = org_named(conn, actor, "社区", row, OrgKind::Community).await?;
            let source = code_of(sheets::NEED_SOURCES, row.cell("来源")).unwrap_or("visit");
            let need = NewNeed {
                community_id: community.id,
                category: code_of(sheets::NEED_CATEGORIES, row.cell("类别"))
                    .unwrap_or("other")
                    .to_owned(),
                title: row.cell("标题").to_owned(),
                description: row.cell("描述").to_owned(),
                households: households(row),
                source: source.to_owned(),
                demand_ids: Vec::new(),
            };
            needs::raise(conn, actor, need, now)
                .await
                .map_err(refused)?;
        }
        _ => {
            let community = org_named(conn, actor, "社区", row, OrgKind::Community).await?;
            let problem = NewProblem {
                community_id: community.id,
                title: row.cell("标题").to_owned(),
                description: row.cell("描述").to_owned(),
                severity: code_of(sheets::SEVERITIES, row.cell("严重程度"))
                    .unwrap_or("low")
                    .to_owned(),
            };
            problems::record(conn, actor, problem, now)
                .await
                .map_err(refused)?;
        }
    }
    Ok(())
}

/// The org of `kind` named in the row's `heading` cell, within the caller's reach; rows
/// above in the same file have already created theirs in this transaction.
async fn org_named(
    conn: &DatabaseTransaction,
    actor: &Actor,
    heading: &'static str,
    row: &Row,
    kind: OrgKind,
) -> Result<org::Model, RowError> {
    let name = row.cell(heading);
    let mut named: Vec<org::Model> = org::Entity::find()
        .filter(org::Column::Kind.eq(kind.as_str()))
        .filter(org::Column::Name.eq(name))
        .all(conn)
        .await
        .map_err(refused)?
        .into_iter()
        .filter(|o| actor.can_reach(&o.path))
        .collect();
    let level = level_word(kind);
    match named.len() {
        1 => Ok(named.remove(0)),
        0 => Err(found(
            heading,
            format!("找不到名为「{name}」的{level}（或它不在您的管辖范围内）"),
        )),
        n => Err(found(
            heading,
            format!("有 {n} 个名为「{name}」的{level}，无法确定是哪一个"),
        )),
    }
}

fn level_word(kind: OrgKind) -> &'static str {
    match kind {
        OrgKind::District => "区",
        OrgKind::Street => "街道",
        OrgKind::Community => "社区",
        OrgKind::Compound => "小区",
    }
}

/// A use case's refusal in the clerk's words, on the column it concerns. Faults of ours or
/// of the database are not a row's problem: they stop the import.
fn explain(sheet: &str, problem: Problem) -> Result<Findings, Problem> {
    let message = match problem.code {
        Code::InternalError | Code::DatabaseUnavailable => return Err(problem),
        Code::UsernameTaken => return Ok(vec![("用户名", "已被占用".to_owned())]),
        Code::Forbidden | Code::NotFound => {
            "超出您的管辖范围，或要授予的角色高于您自己的角色".to_owned()
        }
        Code::ValidationFailed if !problem.errors.is_empty() => {
            return Ok(problem
                .errors
                .iter()
                .map(|e| (heading_of(sheet, &e.field), field_message(&e.message)))
                .collect());
        }
        _ => format!("无法导入（{}）", problem.detail),
    };
    Ok(vec![("", message)])
}

/// The column a use case's field error is about.
fn heading_of(sheet: &str, field: &str) -> &'static str {
    match (sheet, field) {
        (sheets::COMMUNITIES, "name") => "社区名称",
        (sheets::COMMUNITIES, "parent_id" | "kind") => "所属街道",
        (sheets::COMPOUNDS, "name") => "小区名称",
        (sheets::COMPOUNDS, "parent_id" | "kind") => "所属社区",
        (_, "username") => "用户名",
        (_, "password") => "初始密码",
        (_, "role") => "角色",
        (_, "org_id") => "所属组织",
        (_, "community_id") => "社区",
        (_, "title") => "标题",
        (_, "description") => "描述",
        (_, "households") => "涉及户数",
        (_, "category") => "类别",
        (_, "severity") => "严重程度",
        _ => "",
    }
}

fn field_message(message: &str) -> String {
    if message.contains("already exists") {
        "已有同名的组织（在系统中，或在本表前面的行）".to_owned()
    } else if message.contains("must be bound to") {
        "与角色的级别不符".to_owned()
    } else {
        format!("不符合要求（{message}）")
    }
}
