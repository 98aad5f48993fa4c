//! Rosters from Excel: the template downloads and reads back; a dry run lists every row's
//! problem in Chinese and writes nothing; an import with one bad row writes nothing and
//! names the row; a good one imports everything, later sheets using what earlier ones made.

use linli_tests::{expect_json, expect_problem, find_org, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use rust_xlsxwriter::Workbook;
use serde_json::{json, Value};

/// A sheet to upload: its name, its headings, and its rows of cells.
type SheetData<'a> = (&'a str, &'a [&'a str], Vec<Vec<&'a str>>);

/// A workbook of `sheets`; cells that read as numbers are written as numbers, as Excel does.
fn workbook(sheets: &[SheetData]) -> Vec<u8> {
    let mut book = Workbook::new();
    for (name, headings, rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (column, heading) in headings.iter().enumerate() {
            sheet.write_string(0, column as u16, *heading).unwrap();
        }
        for (row, cells) in rows.iter().enumerate() {
            for (column, cell) in cells.iter().enumerate() {
                if let Ok(number) = cell.parse::<f64>() {
                    sheet
                        .write_number(row as u32 + 1, column as u16, number)
                        .unwrap();
                } else {
                    sheet
                        .write_string(row as u32 + 1, column as u16, *cell)
                        .unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

const COMMUNITY_HEADINGS: &[&str] = &["所属街道", "社区名称"];
const COMPOUND_HEADINGS: &[&str] = &["所属社区", "小区名称"];
const STAFF_HEADINGS: &[&str] = &["用户名", "初始密码", "角色", "所属组织"];
const NEED_HEADINGS: &[&str] = &["社区", "类别", "标题", "描述", "涉及户数", "来源"];

/// A roster whose staff sheet has `role` on its second row.
fn roster(role: &str) -> Vec<u8> {
    workbook(&[
        (
            "社区",
            COMMUNITY_HEADINGS,
            vec![vec!["新华街道", "春晖社区"]],
        ),
        ("小区", COMPOUND_HEADINGS, vec![vec!["春晖社区", "春晖苑"]]),
        (
            "工作人员",
            STAFF_HEADINGS,
            vec![
                vec!["chunhui.li", "a-good-password", "社区工作人员", "春晖社区"],
                vec!["chunhui.wang", "a-good-password", role, "春晖社区"],
            ],
        ),
        (
            "需求清单",
            NEED_HEADINGS,
            vec![vec![
                "春晖社区",
                "养老服务",
                "老年助餐点",
                "午餐",
                "40",
                "走访",
            ]],
        ),
    ])
}

async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>, dry_run: bool) -> reqwest::Response {
    let path = format!("/api/v1/admin/imports?dry_run={dry_run}");
    app.send(
        app.request(reqwest::Method::POST, &path, Some(token))
            .header(
                "content-type",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .body(bytes),
    )
    .await
}

/// What the import could have written: the community in the tree, the staff able to log in.
async fn written(app: &TestApp) -> (bool, StatusCode) {
    let tree = app.org_tree().await;
    let login = app
        .post(
            "/api/v1/auth/staff-login",
            &json!({"username": "chunhui.li", "password": "a-good-password"}),
            None,
        )
        .await;
    (find_org(&tree, "春晖社区").is_some(), login.status())
}

#[tokio::test]
async fn the_template_names_every_sheet_and_heading() {
    use calamine::{Data, Reader, Xlsx};
    let app = linli_tests::spawn_app().await;
    let resident = app.login_resident("alice").await;
    expect_problem(
        app.get(
            "/api/v1/admin/imports/template.xlsx",
            Some(&resident.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let response = app
        .get(
            "/api/v1/admin/imports/template.xlsx",
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["说明", "社区", "小区", "工作人员", "需求清单", "问题清单"]
    );
    let staff = book.worksheet_range("工作人员").unwrap();
    let headings: Vec<String> = staff
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(Data::to_string)
        .collect();
    assert_eq!(headings, STAFF_HEADINGS);
    assert_eq!(
        staff.rows().count(),
        1,
        "headings only: nothing to import by accident"
    );
}

#[tokio::test]
async fn one_bad_row_writes_nothing_and_is_named_then_the_fixed_file_imports_whole() {
    let app = linli_tests::spawn_app().await;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;

    // The dry run reports the bad role on 工作人员 row 3, column C, in Chinese.
    let report = expect_json(
        upload(&app, &street, roster("居委会主任"), true).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["valid"], false);
    assert_eq!(report["rows"], 5);
    assert_eq!(
        report["created"],
        json!({"communities": 1, "compounds": 1, "staff": 1, "needs": 1, "problems": 0}),
        "what the good rows would create"
    );
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["sheet"], "工作人员");
    assert_eq!(problems[0]["row"], 3);
    assert_eq!(problems[0]["cell"], "工作人员!C3");
    let message = problems[0]["message"].as_str().unwrap();
    assert!(
        message.contains("第 3 行「角色」须为：社区工作人员"),
        "{message}"
    );
    assert_eq!(written(&app).await, (false, StatusCode::UNAUTHORIZED));

    // The real import of the same file: 422, the cell named, nothing written.
    let refused = expect_problem(
        upload(&app, &street, roster("居委会主任"), false).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "工作人员!C3");
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("什么也没有写入"));
    assert_eq!(written(&app).await, (false, StatusCode::UNAUTHORIZED));

    // Fixed: everything is written, the compound under the community made two sheets up.
    let imported = expect_json(
        upload(&app, &street, roster("社区工作人员"), false).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(imported["valid"], true);
    assert_eq!(
        imported["created"],
        json!({"communities": 1, "compounds": 1, "staff": 2, "needs": 1, "problems": 0})
    );
    assert_eq!(written(&app).await, (true, StatusCode::OK));
    let tree = app.org_tree().await;
    assert!(find_org(&tree, "春晖苑").is_some(), "{tree}");
    let needs = expect_json(
        app.get("/api/v1/staff/needs", Some(&street)).await,
        StatusCode::OK,
    )
    .await;
    let need = needs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["title"] == "老年助餐点")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (&need["category"], &need["households"], &need["source"]),
        (&json!("elderly_care"), &json!(40), &json!("visit")),
        "{needs}"
    );

    // The same file again: every row already exists, and says so.
    let again = expect_json(
        upload(&app, &street, roster("社区工作人员"), true).await,
        StatusCode::OK,
    )
    .await;
    let messages: Vec<&str> = again["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("已有同名的组织")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("「用户名」已被占用")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn rows_outside_the_callers_reach_and_unreadable_files_are_refused_in_chinese() {
    let app = linli_tests::spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let file = workbook(&[
        (
            "工作人员",
            STAFF_HEADINGS,
            vec![
                // A street role from community staff, and a community of another street.
                vec!["too.high", "a-good-password", "街道工作人员", "新华街道"],
                vec!["far.away", "a-good-password", "社区工作人员", "泰园社区"],
                vec!["ab", "short", "社区工作人员", "新华社区"],
            ],
        ),
        (
            "问题清单",
            &["社区", "标题", "描述", "严重程度"],
            vec![vec!["新华社区", "路灯不亮", "", "紧急"]],
        ),
    ]);
    let report = expect_json(upload(&app, &community, file, true).await, StatusCode::OK).await;
    let cells: Vec<(&str, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["cell"].as_str().unwrap(), p["message"].as_str().unwrap()))
        .collect();
    let cell_names: Vec<&str> = cells.iter().map(|(cell, _)| *cell).collect();
    assert_eq!(
        cell_names,
        [
            "工作人员!D2",
            "工作人员!D3",
            "工作人员!A4",
            "工作人员!B4",
            "问题清单!D2"
        ],
        "{cells:?}"
    );
    assert!(
        cells[0].1.contains("找不到名为「新华街道」的街道"),
        "{cells:?}"
    );
    assert!(cells[1].1.contains("不在您的管辖范围内"), "{cells:?}");
    assert!(cells[2].1.contains("「用户名」须为 3–32 位"), "{cells:?}");
    assert!(
        cells[3].1.contains("「初始密码」至少 8 个字符"),
        "{cells:?}"
    );
    assert!(
        cells[4]
            .1
            .contains("「严重程度」须为：低、中、高（填的是「紧急」）"),
        "{cells:?}"
    );

    let garbage = expect_problem(
        upload(&app, &community, b"name,role\nli,admin\n".to_vec(), true).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        garbage["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("不是有效的 Excel"),
        "{garbage}"
    );
    let headless = workbook(&[("社区", &["街道", "名称"], vec![vec!["新华街道", "x"]])]);
    let missing = expect_problem(
        upload(&app, &community, headless, true).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "社区!C1", "{missing}");
    assert!(missing["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("缺少表头「所属街道」"));
}
