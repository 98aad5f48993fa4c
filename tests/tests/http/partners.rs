//! Community partners: kinds on the application, the public directory, the three lists with
//! their scopes and histories, and matching a need to the resources that could serve it.

use linli_tests::{expect_json, expect_problem, spawn_app, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A partner of `kind` in `community`, applied for by a fresh resident and approved by the
/// demo street staff: (owner's token, partner id).
async fn partner(app: &TestApp, owner: &str, kind: &str, community: &str) -> (String, String) {
    let token = app.login_resident(owner).await.access_token;
    let community_id = app.org_id(community).await;
    let created = expect_json(
        app.post(
            "/api/v1/merchants/applications",
            &json!({
                "name": format!("{owner}服务队"), "category": "社区服务", "license_no": "52140200MJ0TEST",
                "address": "平城区", "contact_phone": "13800003333", "community_id": community_id,
                "kind": kind, "form": "group",
            }),
            Some(&token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["kind"], kind);
    assert_eq!(created["form"], "group");
    assert_eq!(created["partner_type"], "group");
    let id = created["id"].as_str().unwrap().to_owned();
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    // Staff of the partner's own street (or the district admin for other streets) approve.
    let reviewer = if community.starts_with("新华") || community == "和平社区" {
        street
    } else {
        admin
    };
    expect_json(
        app.post(
            &format!("/api/v1/staff/merchants/{id}/approve"),
            &json!({}),
            Some(&reviewer),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // The owner's token predates the role: log in again for one that carries it.
    let token = app.login_resident(owner).await.access_token;
    (token, id)
}

async fn resource(app: &TestApp, token: &str, partner_id: &str, body: Value) -> Value {
    expect_json(
        app.post(
            &format!("/api/v1/partners/{partner_id}/resources"),
            &body,
            Some(token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

async fn other_street_staff(app: &TestApp) -> String {
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let kaiyuan = app.org_id("开源街道").await;
    expect_json(
        app.post(
            "/api/v1/admin/staff",
            &json!({ "username": "kaiyuan.partners", "password": "a-good-password", "role": "street_staff", "org_id": kaiyuan }),
            Some(&admin),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.login_staff("kaiyuan.partners", "a-good-password")
        .await
        .access_token
}

#[tokio::test]
async fn an_application_names_its_kind_and_form_and_the_directory_shows_active_partners_only() {
    let app = spawn_app().await;
    let token = app.login_resident("zhang").await.access_token;
    let community = app.org_id("新华社区").await;
    let refused = expect_problem(
        app.post(
            "/api/v1/merchants/applications",
            &json!({
                "name": "张师傅", "category": "维修", "license_no": "-", "address": "平城区",
                "contact_phone": "13800004444", "community_id": community,
                "kind": "company", "form": "solo",
            }),
            Some(&token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["form", "kind"]);

    let (_, social) = partner(&app, "li", "social_org", "新华社区").await;
    let (_, resident) = partner(&app, "wang", "capable_resident", "和平社区").await;
    // A pending application is not in the directory.
    let pending = expect_json(
        app.post(
            "/api/v1/merchants/applications",
            &json!({
                "name": "待审核志愿队", "category": "志愿", "license_no": "-", "address": "平城区",
                "contact_phone": "13800005555", "community_id": community, "kind": "volunteer_team",
            }),
            Some(&token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let all = expect_json(
        app.get("/api/v1/partners?limit=100", None).await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&social.as_str()) && ids.contains(&resident.as_str()));
    assert!(!ids.contains(&pending["id"].as_str().unwrap()));
    // The public card carries no licence number or phone.
    let card = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == social)
        .unwrap();
    assert_eq!(card["kind"], "social_org");
    assert_eq!(card["form"], "group");
    assert!(card.get("contact_phone").is_none() && card.get("license_no").is_none());

    let kind = expect_json(
        app.get("/api/v1/partners?kind=capable_resident&limit=100", None)
            .await,
        StatusCode::OK,
    )
    .await;
    let kinds: Vec<&str> = kind["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.is_empty() && kinds.iter().all(|k| *k == "capable_resident"));
    expect_problem(
        app.get("/api/v1/partners?kind=company", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get(
            &format!("/api/v1/partners/{}", pending["id"].as_str().unwrap()),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn partners_list_resources_that_staff_in_scope_read_and_others_cannot_write() {
    let app = spawn_app().await;
    let (owner, partner_id) = partner(&app, "zhao", "social_org", "新华社区").await;
    let created = resource(
        &app,
        &owner,
        &partner_id,
        json!({ "type": "service", "title": "助老上门理发", "categories": ["elderly_care"], "capacity": 12, "availability": "每周二上午" }),
    )
    .await;
    assert_eq!(created["type"], "service");
    assert_eq!(created["categories"], json!(["elderly_care"]));
    assert_eq!(created["capacity_used"], 0);

    // Someone else's staff, a resident, and bad input.
    let (stranger, _) = partner(&app, "qian", "enterprise", "和平社区").await;
    expect_problem(
        app.post(
            &format!("/api/v1/partners/{partner_id}/resources"),
            &json!({ "type": "service", "title": "冒名", "capacity": 1 }),
            Some(&stranger),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let bad = expect_problem(
        app.post(
            &format!("/api/v1/partners/{partner_id}/resources"),
            &json!({ "type": "money", "title": "", "categories": ["cooking"], "capacity": 0 }),
            Some(&owner),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad["errors"].as_array().unwrap().len(), 4, "{bad}");

    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let listed = expect_json(
        app.get("/api/v1/staff/resources?type=service", Some(&street))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == created["id"]));
    let other = other_street_staff(&app).await;
    let theirs = expect_json(
        app.get("/api/v1/staff/resources", Some(&other)).await,
        StatusCode::OK,
    )
    .await;
    assert!(!theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == created["id"]));
    let xinhua = app.org_id("新华街道").await;
    expect_problem(
        app.get(
            &format!("/api/v1/staff/resources?org_id={xinhua}"),
            Some(&other),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // The profile shows it.
    let profile = expect_json(
        app.get(&format!("/api/v1/partners/{partner_id}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(profile["resources"][0]["title"], "助老上门理发");
    assert_eq!(profile["kind"], "social_org");
}

#[tokio::test]
async fn needs_keep_their_demands_and_history_and_stay_inside_their_scope() {
    let app = spawn_app().await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let community = app.org_id("新华社区").await;
    let resident = app.login_resident("sun").await;
    let categories = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    let category = categories[0]["id"].as_str().unwrap().to_owned();
    let demand = expect_json(
        app.post(
            "/api/v1/demands",
            &json!({
                "category_id": category, "title": "想要老年食堂", "description": "独居老人吃饭难",
                "community_id": community, "location": {"lat": 40.0768, "lng": 113.3001, "address": "新华街12号"},
            }),
            Some(&resident.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let demand_id = demand["id"].as_str().unwrap();

    // From demands, the demands are required and must be this community's.
    expect_problem(
        app.post(
            "/api/v1/staff/needs",
            &json!({ "community_id": community, "category": "elderly_care", "title": "助餐", "source": "demand" }),
            Some(&staff),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let heping = app.org_id("和平社区").await;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    expect_problem(
        app.post(
            "/api/v1/staff/needs",
            &json!({ "community_id": heping, "category": "elderly_care", "title": "助餐", "source": "demand", "demand_ids": [demand_id] }),
            Some(&street),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let need = expect_json(
        app.post(
            "/api/v1/staff/needs",
            &json!({ "community_id": community, "category": "elderly_care", "title": "独居老人助餐", "households": 8, "source": "demand", "demand_ids": [demand_id, demand_id] }),
            Some(&staff),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(need["status"], "open");
    assert_eq!(need["demand_ids"], json!([demand_id]));
    let need_id = need["id"].as_str().unwrap();

    // Another street: not visible, not movable, and not creatable in this community.
    let other = other_street_staff(&app).await;
    for path in [
        format!("/api/v1/staff/needs/{need_id}"),
        format!("/api/v1/staff/needs/{need_id}/matches"),
    ] {
        expect_problem(
            app.get(&path, Some(&other)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_problem(
        app.post(
            &format!("/api/v1/staff/needs/{need_id}/drop"),
            &json!({}),
            Some(&other),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/staff/needs",
            &json!({ "community_id": community, "category": "health", "title": "义诊", "source": "visit" }),
            Some(&other),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get("/api/v1/staff/needs", Some(&resident.access_token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let theirs = expect_json(
        app.get("/api/v1/staff/needs", Some(&other)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["items"], json!([]));

    // Drop, refuse a second drop, reopen; the history records each move.
    let dropped = expect_json(
        app.post(
            &format!("/api/v1/staff/needs/{need_id}/drop"),
            &json!({ "note": "已由街道统筹" }),
            Some(&staff),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(dropped["status"], "dropped");
    expect_problem(
        app.post(
            &format!("/api/v1/staff/needs/{need_id}/drop"),
            &json!({}),
            Some(&staff),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_json(
        app.post(
            &format!("/api/v1/staff/needs/{need_id}/reopen"),
            &json!({}),
            Some(&street),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let detail = expect_json(
        app.get(&format!("/api/v1/staff/needs/{need_id}"), Some(&street))
            .await,
        StatusCode::OK,
    )
    .await;
    let moves: Vec<(&str, &str)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap(),
                h["to_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [("raise", "open"), ("drop", "dropped"), ("reopen", "open")]
    );
    assert_eq!(detail["history"][1]["note"], "已由街道统筹");
    let open = expect_json(
        app.get(
            "/api/v1/staff/needs?status=open&category=elderly_care",
            Some(&street),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(open["items"][0]["id"], need_id);
    expect_problem(
        app.get("/api/v1/staff/needs?status=closed", Some(&street))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn problems_are_resolved_once_and_stay_inside_their_scope() {
    let app = spawn_app().await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let community = app.org_id("新华社区").await;
    expect_problem(
        app.post(
            "/api/v1/staff/problems",
            &json!({ "community_id": community, "title": "楼道堆物", "severity": "urgent" }),
            Some(&staff),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let problem = expect_json(
        app.post(
            "/api/v1/staff/problems",
            &json!({ "community_id": community, "title": "楼道堆物", "description": "3号楼消防通道被占", "severity": "high" }),
            Some(&staff),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = problem["id"].as_str().unwrap();
    let other = other_street_staff(&app).await;
    expect_problem(
        app.post(
            &format!("/api/v1/staff/problems/{id}/resolve"),
            &json!({ "resolution": "清理" }),
            Some(&other),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let resolved = expect_json(
        app.post(
            &format!("/api/v1/staff/problems/{id}/resolve"),
            &json!({ "resolution": "物业已清理" }),
            Some(&staff),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution"], "物业已清理");
    expect_problem(
        app.post(
            &format!("/api/v1/staff/problems/{id}/resolve"),
            &json!({ "resolution": "再次" }),
            Some(&staff),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let open = expect_json(
        app.get("/api/v1/staff/problems?status=open", Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(!open["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == id));
    let resolved_list = expect_json(
        app.get("/api/v1/staff/problems?status=resolved", Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(resolved_list["items"][0]["id"], id);
    let detail = expect_json(
        app.get(&format!("/api/v1/staff/problems/{id}"), Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    let moves: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(moves, ["record", "resolve"]);
    assert_eq!(detail["history"][1]["note"], "物业已清理");
    expect_problem(
        app.get(&format!("/api/v1/staff/problems/{id}"), Some(&other))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn matching_puts_the_obviously_best_resource_first_with_its_reasons() {
    let app = spawn_app().await;
    let (near, near_id) = partner(&app, "best", "social_org", "新华社区").await;
    let (street_level, street_id) = partner(&app, "street", "enterprise", "和平社区").await;
    let (far, far_id) = partner(&app, "far", "charity_team", "开源社区").await;
    let best = resource(&app, &near, &near_id, json!({ "type": "service", "title": "助餐配送", "categories": ["elderly_care"], "capacity": 20 })).await;
    let typed = resource(
        &app,
        &street_level,
        &street_id,
        json!({ "type": "volunteer_time", "title": "陪伴志愿", "capacity": 20 }),
    )
    .await;
    let distant = resource(&app, &far, &far_id, json!({ "type": "service", "title": "老年助餐", "categories": ["elderly_care"], "capacity": 20 })).await;
    let wrong = resource(
        &app,
        &near,
        &near_id,
        json!({ "type": "funding", "title": "场地改造资金", "capacity": 1 }),
    )
    .await;

    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let community = app.org_id("新华社区").await;
    let need = expect_json(
        app.post(
            "/api/v1/staff/needs",
            &json!({ "community_id": community, "category": "elderly_care", "title": "独居老人助餐", "households": 10, "source": "visit" }),
            Some(&staff),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let matches = expect_json(
        app.get(
            &format!(
                "/api/v1/staff/needs/{}/matches",
                need["id"].as_str().unwrap()
            ),
            Some(&staff),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // The demo's own resources match too; this test looks at its own.
    let ours = [&best, &typed, &distant, &wrong].map(|r| r["id"].as_str().unwrap());
    let order: Vec<&str> = matches
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["resource"]["id"].as_str().unwrap())
        .filter(|id| ours.contains(id))
        .collect();
    let expected = [&best, &distant, &typed].map(|r| r["id"].as_str().unwrap());
    // The named category in the same community (40 + 25 + ...), then the named category
    // elsewhere in the district (40 + 5), then a serving type in the same street (25 + 15);
    // the funding resource cannot serve elderly care at all.
    assert_eq!(order, expected);
    assert!(!order.contains(&wrong["id"].as_str().unwrap()));
    assert_eq!(order.len(), 3);
    let first = matches
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["resource"]["id"] == best["id"])
        .unwrap();
    assert_eq!(first["partner"]["id"], near_id);
    let factors: Vec<&str> = first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["factor"].as_str().unwrap())
        .collect();
    assert_eq!(
        factors,
        ["category", "distance", "capacity", "rating", "evaluation"]
    );
    let sum: u64 = first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["points"].as_u64().unwrap())
        .sum();
    assert_eq!(first["score"].as_u64().unwrap(), sum);
    let score_of = |r: &Value| {
        matches
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["resource"]["id"] == r["id"])
            .map(|m| m["score"].as_u64().unwrap())
            .unwrap()
    };
    assert!(score_of(&best) > score_of(&distant) && score_of(&distant) > score_of(&typed));
}

async fn post(app: &TestApp, path: &str, body: Value, token: &str) -> reqwest::Response {
    app.post(path, &body, Some(token)).await
}

#[tokio::test]
async fn a_project_runs_from_proposal_to_close_with_acceptance_evaluation_ratings_and_payment() {
    let app = spawn_app().await;
    let (owner, partner_id) = partner(&app, "chen", "social_org", "新华社区").await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let community = app.org_id("新华社区").await;
    let need = expect_json(
        post(&app, "/api/v1/staff/needs", json!({ "community_id": community, "category": "elderly_care", "title": "独居老人助餐", "source": "visit" }), &staff).await,
        StatusCode::CREATED,
    )
    .await;
    let need_id = need["id"].as_str().unwrap().to_owned();
    let body = json!({
        "partner_id": partner_id, "community_id": community, "need_ids": [need_id],
        "kind": "elderly_care", "mechanism": "service_purchase", "title": "长者助餐点",
        "goals": [{"metric": "助餐人次", "target": 400}, {"metric": "满意度调查份数", "target": 50}],
        "starts_on": "2026-12-01", "ends_on": "2027-11-30", "budget_fen": 1200000,
    });
    let mut bad = body.clone();
    bad["goals"] =
        json!([{"metric": "助餐人次", "target": 0}, {"metric": "助餐人次", "target": 3}]);
    bad["ends_on"] = json!("2026-01-01");
    expect_problem(
        post(&app, "/api/v1/staff/projects", bad, &staff).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let project = expect_json(
        post(&app, "/api/v1/staff/projects", body, &staff).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(project["status"], "proposed");
    assert_eq!(project["goals"][1]["metric"], "满意度调查份数");
    let id = project["id"].as_str().unwrap().to_owned();
    let at = |action: &str| format!("/api/v1/staff/projects/{id}/{action}");

    // Agreeing waits for the partner; only its owner accepts, once.
    expect_problem(
        post(&app, &at("agree"), json!({}), &staff).await,
        StatusCode::CONFLICT,
        "partner_acceptance_required",
    )
    .await;
    expect_problem(
        post(&app, &at("start"), json!({}), &staff).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let accept = format!("/api/v1/partners/{partner_id}/projects/{id}/accept");
    let (stranger, stranger_partner) = partner(&app, "zhou", "enterprise", "新华社区").await;
    expect_problem(
        post(&app, &accept, json!({}), &stranger).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        post(
            &app,
            &format!("/api/v1/partners/{stranger_partner}/projects/{id}/accept"),
            json!({}),
            &stranger,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let accepted = expect_json(post(&app, &accept, json!({}), &owner).await, StatusCode::OK).await;
    assert!(accepted["accepted_at"].is_string());
    expect_problem(
        post(&app, &accept, json!({}), &owner).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;

    // An evaluation or a rating needs it running.
    let evaluation = json!({ "period": "2026-12", "results": [{"metric": "助餐人次", "achieved": 300}, {"metric": "满意度调查份数", "achieved": 60}], "notes": "运行良好" });
    expect_problem(
        post(&app, &at("evaluations"), evaluation.clone(), &staff).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_json(
        post(&app, &at("agree"), json!({}), &staff).await,
        StatusCode::OK,
    )
    .await;
    let detail = expect_json(
        app.get(&format!("/api/v1/staff/needs/{need_id}"), Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["status"], "matched");
    expect_problem(
        post(&app, &at("agree"), json!({}), &staff).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let running = expect_json(
        post(&app, &at("start"), json!({}), &staff).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(running["status"], "running");

    let missing =
        json!({ "period": "2026-12", "results": [{"metric": "助餐人次", "achieved": 300}] });
    expect_problem(
        post(&app, &at("evaluations"), missing, &staff).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let evaluated = expect_json(
        post(&app, &at("evaluations"), evaluation.clone(), &staff).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(evaluated["results"][0]["achievement"], 0.75);
    assert_eq!(evaluated["results"][1]["achievement"], 1.2);
    // (0.75 + min(1.2, 1)) / 2
    assert_eq!(evaluated["achievement"], 0.875);
    expect_problem(
        post(&app, &at("evaluations"), evaluation, &staff).await,
        StatusCode::CONFLICT,
        "evaluation_exists",
    )
    .await;

    // Residents of the community rate it; a resident elsewhere may not.
    let neighbour = app.login_neighbour("liu", "新华社区").await.access_token;
    let outsider = app.login_neighbour("he", "开源社区").await.access_token;
    let rating = format!("/api/v1/projects/{id}/ratings");
    let first = expect_json(
        post(&app, &rating, json!({ "score": 3 }), &neighbour).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["first"], true);
    let again = expect_json(
        post(
            &app,
            &rating,
            json!({ "score": 5, "comment": "饭菜可口" }),
            &neighbour,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["first"], false);
    expect_problem(
        post(&app, &rating, json!({ "score": 4 }), &outsider).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        post(&app, &rating, json!({ "score": 6 }), &neighbour).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    // Paid from the community's budget through the ledger, exactly once per key.
    let before = app.budget_named(&staff, "新华社区").await;
    let pay = format!("/api/v1/staff/projects/{id}/payments");
    let paid = expect_json(
        app.post_with_key(
            &pay,
            &json!({ "points": 300, "memo": "12月助餐" }),
            &staff,
            "pay-dec",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let replay = app
        .post_with_key(
            &pay,
            &json!({ "points": 300, "memo": "12月助餐" }),
            &staff,
            "pay-dec",
        )
        .await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(
        expect_json(replay, StatusCode::CREATED).await["transfer_id"],
        paid["transfer_id"]
    );
    assert_eq!(paid["budget_balance"].as_i64().unwrap(), before - 300);
    assert_eq!(app.budget_named(&staff, "新华社区").await, before - 300);
    expect_problem(
        app.post_with_key(
            &pay,
            &json!({ "points": before * 10 + 1000 }),
            &staff,
            "pay-too-much",
        )
        .await,
        StatusCode::CONFLICT,
        "budget_exhausted",
    )
    .await;
    app.assert_ledger_balanced().await;

    // The public profile shows the running project, its latest evaluation and its rating.
    let profile = expect_json(
        app.get(&format!("/api/v1/partners/{partner_id}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(profile["projects"][0]["id"], id.as_str());
    assert_eq!(profile["latest_evaluation"]["achievement"], 0.875);
    assert_eq!(profile["rating"], 5.0);
    assert_eq!(profile["mechanisms"], json!(["service_purchase"]));

    // Another street sees none of it.
    let other = other_street_staff(&app).await;
    expect_problem(
        app.get(&format!("/api/v1/staff/projects/{id}"), Some(&other))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        post(&app, &at("close"), json!({}), &other).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let closed = expect_json(
        post(&app, &at("close"), json!({}), &staff).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    expect_problem(
        post(&app, &at("close"), json!({}), &staff).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_problem(
        app.post_with_key(&pay, &json!({ "points": 1 }), &staff, "pay-late")
            .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let need = expect_json(
        app.get(&format!("/api/v1/staff/needs/{need_id}"), Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(need["status"], "met");
    let full = expect_json(
        app.get(&format!("/api/v1/staff/projects/{id}"), Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(full["evaluations"][0]["period"], "2026-12");
    let listed = expect_json(
        app.get("/api/v1/staff/projects?status=closed", Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn disclosures_are_public_and_a_required_one_not_made_is_listed_missing() {
    let app = spawn_app().await;
    let (owner, partner_id) = partner(&app, "sun", "social_org", "新华社区").await;
    let (late, late_id) = partner(&app, "wu", "charity_team", "和平社区").await;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let xinhua = app.org_id("新华街道").await;
    let required = expect_json(
        post(
            &app,
            "/api/v1/staff/disclosure-requirements",
            json!({ "org_id": xinhua, "kind": "finance", "period": "2026-Q4" }),
            &street,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let again = expect_json(
        post(
            &app,
            "/api/v1/staff/disclosure-requirements",
            json!({ "org_id": xinhua, "kind": "finance", "period": "2026-Q4" }),
            &street,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["id"], required["id"]);
    expect_problem(
        post(
            &app,
            "/api/v1/staff/disclosure-requirements",
            json!({ "org_id": xinhua, "kind": "finance", "period": "2026-Q5" }),
            &street,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let other = other_street_staff(&app).await;
    expect_problem(
        post(
            &app,
            "/api/v1/staff/disclosure-requirements",
            json!({ "org_id": xinhua, "kind": "finance", "period": "2026-Q4" }),
            &other,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let missing_ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "finance" && m["period"] == "2026-Q4")
            .map(|m| m["partner_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = expect_json(
        app.get("/api/v1/staff/disclosures/missing", Some(&street))
            .await,
        StatusCode::OK,
    )
    .await;
    let ids = missing_ids(&before);
    assert!(ids.contains(&partner_id) && ids.contains(&late_id));

    let published = expect_json(
        post(&app, &format!("/api/v1/partners/{partner_id}/disclosures"), json!({ "kind": "finance", "period": "2026-Q4", "title": "四季度收支", "body": "收入12000元，支出9800元", "amount_fen": 980000 }), &owner).await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        post(
            &app,
            &format!("/api/v1/partners/{partner_id}/disclosures"),
            json!({ "kind": "finance", "period": "2026-Q4", "title": "冒名", "body": "x" }),
            &late,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let public = expect_json(
        app.get(&format!("/api/v1/partners/{partner_id}/disclosures"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(public[0]["id"], published["id"]);
    assert_eq!(public[0]["amount_fen"], 980000);
    let after = expect_json(
        app.get("/api/v1/staff/disclosures/missing", Some(&street))
            .await,
        StatusCode::OK,
    )
    .await;
    let ids = missing_ids(&after);
    assert!(!ids.contains(&partner_id) && ids.contains(&late_id));
    // Another street's staff see none of this street's partners as missing.
    let theirs = expect_json(
        app.get("/api/v1/staff/disclosures/missing", Some(&other))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(missing_ids(&theirs).is_empty());
}

#[tokio::test]
async fn an_exit_closes_the_partner_voids_reservations_with_points_back_and_terminates_projects() {
    let app = spawn_app().await;
    let shop = app.open_shop("exitshop", 120, Some(5), None).await;
    let resident = app.login_neighbour("gao", "新华社区").await;
    app.give_points(&resident, 500).await;
    let reserved = expect_json(
        app.post_with_key(
            &format!("/api/v1/offers/{}/redemptions", shop.offer_id),
            &json!({}),
            &resident.access_token,
            "exit-reserve",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        app.wallet(&resident.access_token).await["points"]["available"],
        380
    );
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let community = app.org_id("新华社区").await;
    let project = expect_json(
        post(&app, "/api/v1/staff/projects", json!({
            "partner_id": shop.merchant_id, "community_id": community, "kind": "convenience",
            "mechanism": "time_bank_points", "title": "便民理发", "goals": [{"metric": "服务人次", "target": 100}],
            "starts_on": "2026-12-01", "ends_on": "2027-05-31",
        }), &staff).await,
        StatusCode::CREATED,
    )
    .await;
    resource(
        &app,
        &shop.owner_token,
        &shop.merchant_id,
        json!({ "type": "service", "title": "上门理发", "capacity": 5 }),
    )
    .await;

    let exit = format!("/api/v1/staff/partners/{}/exit", shop.merchant_id);
    expect_problem(
        post(
            &app,
            &exit,
            json!({ "reason": "bad_mood", "basis": "" }),
            &staff,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let other = other_street_staff(&app).await;
    expect_problem(
        post(
            &app,
            &exit,
            json!({ "reason": "violation", "basis": "x" }),
            &other,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let exited = expect_json(
        post(
            &app,
            &exit,
            json!({ "reason": "violation", "basis": "违规收费，经街道核实" }),
            &staff,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(exited["status"], "closed");
    assert_eq!(exited["reservations_voided"], 1);
    assert_eq!(exited["offers_unpublished"], 1);
    assert_eq!(exited["projects_terminated"], 1);
    assert_eq!(exited["resources_withdrawn"], 1);

    // Points back, nothing left behind, and it cannot exit twice.
    let wallet = app.wallet(&resident.access_token).await;
    assert_eq!(wallet["points"]["available"], 500);
    assert_eq!(wallet["points"]["held"], 0);
    let mine = expect_json(
        app.get("/api/v1/me/redemptions", Some(&resident.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    let voided = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == reserved["id"])
        .unwrap();
    assert_eq!(voided["status"], "cancelled");
    expect_problem(
        app.get(&format!("/api/v1/offers/{}", shop.offer_id), None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let detail = expect_json(
        app.get(
            &format!("/api/v1/staff/projects/{}", project["id"].as_str().unwrap()),
            Some(&staff),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["status"], "terminated");
    assert!(detail["terminated_reason"]
        .as_str()
        .unwrap()
        .contains("违规收费"));
    expect_problem(
        app.get(&format!("/api/v1/partners/{}", shop.merchant_id), None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        post(
            &app,
            &exit,
            json!({ "reason": "violation", "basis": "再次" }),
            &staff,
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let audit = platform::audit::of_subject(&app.state.db, "partner", &shop.merchant_id)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "partner_exit");
    assert_eq!(audit[0].detail["reservations_voided"], 1);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn empowerment_is_recorded_for_partners_in_scope() {
    let app = spawn_app().await;
    let (_, partner_id) = partner(&app, "lin", "capable_resident", "新华社区").await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let path = format!("/api/v1/staff/partners/{partner_id}/empowerment");
    expect_problem(
        post(
            &app,
            &path,
            json!({ "kind": "money", "detail": "x", "granted_on": "2026-12-01" }),
            &staff,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let granted = expect_json(post(&app, &path, json!({ "kind": "free_venue", "detail": "免费使用活动室（每周二）", "granted_on": "2026-12-01" }), &staff).await, StatusCode::CREATED).await;
    assert_eq!(granted["kind"], "free_venue");
    let listed = expect_json(app.get(&path, Some(&staff)).await, StatusCode::OK).await;
    assert_eq!(listed[0]["id"], granted["id"]);
    let other = other_street_staff(&app).await;
    expect_problem(
        app.get(&path, Some(&other)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        post(
            &app,
            &path,
            json!({ "kind": "honour", "detail": "x", "granted_on": "2026-12-01" }),
            &other,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn space(app: &TestApp, points_per_hour: i64) -> String {
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let community = app.org_id("新华社区").await;
    let created = expect_json(
        post(app, "/api/v1/admin/spaces", json!({
            "org_id": community, "name": "党群服务中心活动室", "area_m2": 120, "scenes": ["老年活动", "儿童托管"],
            "open_hours": [{"days": [1,2,3,4,5,6,7], "from": "00:00", "to": "24:00"}], "capacity": 40,
            "points_per_hour": points_per_hour,
        }), &admin).await,
        StatusCode::CREATED,
    )
    .await;
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_space_booking_holds_its_price_until_approved_and_a_rejection_releases_it() {
    let app = spawn_app().await;
    let space_id = space(&app, 10).await;
    let listed = expect_json(app.get("/api/v1/spaces", None).await, StatusCode::OK).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == space_id.as_str() && s["scenes"][1] == "儿童托管"));
    let resident = app.login_neighbour("tang", "新华社区").await;
    app.give_points(&resident, 100).await;
    let start = chrono::Utc::now() + chrono::Duration::days(1);
    let window = |hours: i64| json!({ "starts_at": start, "ends_at": start + chrono::Duration::minutes(hours * 60 - 30), "purpose": "合唱排练", "attendees": 12 });
    let path = format!("/api/v1/spaces/{space_id}/bookings");
    expect_problem(
        app.post_with_key(
            &path,
            &json!({ "starts_at": start, "ends_at": start, "purpose": "", "attendees": 99 }),
            &resident.access_token,
            "bad",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // 1.5 h at 10 points a started hour: 20 held.
    let first = expect_json(
        app.post_with_key(&path, &window(2), &resident.access_token, "b1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["status"], "pending");
    assert_eq!(first["points"], 20);
    assert_eq!(
        app.wallet(&resident.access_token).await["points"]["held"],
        20
    );
    let second = expect_json(
        app.post_with_key(&path, &window(2), &resident.access_token, "b2")
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        app.post_with_key(&path, &window(12), &resident.access_token, "b3")
            .await,
        StatusCode::CONFLICT,
        "insufficient_points",
    )
    .await;

    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let decide = |id: &Value, action: &str| {
        format!(
            "/api/v1/staff/spaces/bookings/{}/{action}",
            id.as_str().unwrap()
        )
    };
    let other = other_street_staff(&app).await;
    expect_problem(
        post(&app, &decide(&first["id"], "approve"), json!({}), &other).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        post(
            &app,
            &decide(&first["id"], "approve"),
            json!({}),
            &resident.access_token,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        post(&app, &decide(&first["id"], "reject"), json!({}), &staff).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let before = app.budget_named(&staff, "新华社区").await;
    let approved = expect_json(
        post(&app, &decide(&first["id"], "approve"), json!({}), &staff).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(app.budget_named(&staff, "新华社区").await, before + 20);
    // The overlapping one can no longer be approved, nor a new one booked; rejecting it
    // gives its points back.
    expect_problem(
        post(&app, &decide(&second["id"], "approve"), json!({}), &staff).await,
        StatusCode::CONFLICT,
        "space_unavailable",
    )
    .await;
    expect_problem(
        app.post_with_key(&path, &window(1), &resident.access_token, "b4")
            .await,
        StatusCode::CONFLICT,
        "space_unavailable",
    )
    .await;
    let rejected = expect_json(
        post(
            &app,
            &decide(&second["id"], "reject"),
            json!({ "reason": "时段已被占用" }),
            &staff,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["reason"], "时段已被占用");
    expect_problem(
        post(&app, &decide(&second["id"], "approve"), json!({}), &staff).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let wallet = app.wallet(&resident.access_token).await;
    assert_eq!(wallet["points"]["held"], 0);
    assert_eq!(wallet["points"]["balance"], 80);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn twenty_racing_approvals_of_one_slot_leave_exactly_one_booking() {
    let app = spawn_app().await;
    let space_id = space(&app, 0).await;
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let mut ids = Vec::new();
    for i in 0..20 {
        let resident = app.login_neighbour(&format!("racer{i}"), "新华社区").await;
        // Overlapping windows, each shifted by a few minutes.
        let from = start + chrono::Duration::minutes(i * 3);
        let booked = expect_json(
            app.post_with_key(
                &format!("/api/v1/spaces/{space_id}/bookings"),
                &json!({ "starts_at": from, "ends_at": from + chrono::Duration::hours(2), "purpose": "活动", "attendees": 5 }),
                &resident.access_token,
                &format!("race-{i}"),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        ids.push(booked["id"].as_str().unwrap().to_owned());
    }
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let answers = futures_util::future::join_all(ids.iter().map(|id| {
        let path = format!("/api/v1/staff/spaces/bookings/{id}/approve");
        let (app, staff) = (&app, &staff);
        async move { app.post(&path, &json!({}), Some(staff)).await.status() }
    }))
    .await;
    let won = answers.iter().filter(|s| **s == StatusCode::OK).count();
    let lost = answers
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won, lost), (1, 19), "{answers:?}");
    let pairs = partners::service::spaces::overlapping_pairs(&app.state.db)
        .await
        .unwrap();
    assert_eq!(pairs, 0);
}

#[tokio::test]
async fn the_three_lists_export_as_one_workbook_in_scope_with_text_kept_as_text() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app().await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let community = app.org_id("新华社区").await;
    let hostile = "=HYPERLINK(\"http://x\",\"点我\")";
    expect_json(
        post(&app, "/api/v1/staff/needs", json!({ "community_id": community, "category": "health", "title": hostile, "source": "visit" }), &staff).await,
        StatusCode::CREATED,
    )
    .await;
    let sheets = |bytes: Vec<u8>| {
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("a workbook");
        ["资源清单", "需求清单", "问题清单"].map(|name| {
            book.worksheet_range(name)
                .unwrap_or_else(|e| panic!("sheet {name}: {e}"))
                .rows()
                .map(|r| r.to_vec())
                .collect::<Vec<Vec<Data>>>()
        })
    };
    let download = |token: String| {
        let app = &app;
        async move {
            let response = app
                .get("/api/v1/staff/exports/partner-lists.xlsx", Some(&token))
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            response.bytes().await.unwrap().to_vec()
        }
    };
    let [resources, needs, problems] = sheets(download(staff.clone()).await);
    assert_eq!(needs[0][3], Data::String("标题".into()));
    // The demo's 长者助餐与探访, its two needs and its problem, and the hostile title as text.
    assert!(resources
        .iter()
        .any(|r| r[4] == Data::String("长者助餐与探访".into())));
    assert!(needs.iter().any(|r| r[3] == Data::String(hostile.into())));
    assert!(needs
        .iter()
        .any(|r| r[3] == Data::String("四点半课堂".into())));
    assert!(problems
        .iter()
        .any(|r| r[2] == Data::String("楼道堆物".into())));
    // Another street's staff get the headers only.
    let other = other_street_staff(&app).await;
    let [resources, needs, problems] = sheets(download(other).await);
    assert_eq!((resources.len(), needs.len(), problems.len()), (1, 1, 1));
    let resident = app.login_resident("nobody").await.access_token;
    expect_problem(
        app.get("/api/v1/staff/exports/partner-lists.xlsx", Some(&resident))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
