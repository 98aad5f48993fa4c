//! Object-level authorization, generated from the spec: every operation of
//! `api-spec/openapi.json` with an id in its path is called by each role that must not reach
//! the object it names (another resident, staff of another merchant, staff of a sibling
//! community, staff of another street) with a well-formed body built from the operation's
//! schema. Each call must answer 403 or 404, and afterwards the objects, the wallets, the
//! budgets and the ledger must be exactly as before. A new operation joins the matrix by being
//! in the spec; one that is open to everyone by design is listed in `OPEN_BY_DESIGN` with why.

use chrono::{Duration, Utc};
use linli_tests::{spawn_app, Session, TestApp, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Operations any logged-in resident (or anyone) may call on these objects, and why.
const OPEN_BY_DESIGN: &[(&str, &str, &str)] = &[
    (
        "GET",
        "/api/v1/activities/{id}",
        "the activity list is public",
    ),
    ("GET", "/api/v1/offers/{id}", "the catalog is public"),
    (
        "GET",
        "/api/v1/parking/lots/{id}/availability",
        "free slots are public",
    ),
    (
        "POST",
        "/api/v1/activities/{id}/signups",
        "any resident may join an activity",
    ),
    (
        "DELETE",
        "/api/v1/activities/{id}/signups/me",
        "acts on the caller's own sign-up",
    ),
    (
        "POST",
        "/api/v1/activities/{id}/check-in",
        "the on-site code is the proof",
    ),
    (
        "POST",
        "/api/v1/activities/{id}/check-out",
        "the on-site code is the proof",
    ),
    (
        "POST",
        "/api/v1/offers/{id}/redemptions",
        "any resident may reserve an offer",
    ),
    (
        "POST",
        "/api/v1/merchant-invites/{code}/accept",
        "the invite code is the capability",
    ),
    (
        "GET",
        "/api/v1/partners/{id}",
        "the partner directory is public",
    ),
    (
        "GET",
        "/api/v1/partners/{id}/disclosures",
        "disclosures are public by design (信息公开)",
    ),
    (
        "POST",
        "/api/v1/spaces/{id}/bookings",
        "anyone may ask for a space; staff decide",
    ),
];

/// The objects of the victims: 新华社区, its staff, a resident (alice) and a merchant.
struct World {
    alice: Session,
    owner: Session,
    street: Session,
    community: Session,
    admin: Session,
    ids: HashMap<&'static str, String>,
}

impl World {
    fn id(&self, kind: &str) -> &str {
        self.ids
            .get(kind)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("the matrix has no {kind} to aim at"))
    }
}

async fn json_of(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let response = app
        .send(app.request(method, path, Some(token)).json(&body))
        .await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path} answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn build_world(app: &TestApp) -> World {
    let alice = app.login_neighbour("alice", "新华社区").await;
    let owner = app.login_resident("laowang").await;
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let mut ids: HashMap<&'static str, String> = HashMap::new();
    let org = app.org_id("新华社区").await;
    ids.insert("org", org.clone());
    ids.insert("user", alice.user_id.clone());
    ids.insert("staff", community.user_id.clone());

    let me = json_of(
        app,
        Method::GET,
        "/api/v1/me",
        &owner.access_token,
        json!(null),
    )
    .await;
    let merchant = me["merchant_ids"][0].as_str().unwrap().to_owned();
    let offers = json_of(
        app,
        Method::GET,
        &format!("/api/v1/merchants/{merchant}/offers"),
        &owner.access_token,
        json!(null),
    )
    .await;
    let offer = offers[0]["id"].as_str().unwrap().to_owned();
    ids.insert("merchant", merchant);
    ids.insert("offer", offer.clone());
    ids.insert("owner", owner.user_id.clone());

    let categories = json_of(
        app,
        Method::GET,
        "/api/v1/demand-categories",
        &alice.access_token,
        json!(null),
    )
    .await;
    let category = categories[0]["id"].as_str().unwrap().to_owned();
    ids.insert("category", category.clone());
    let demand = json_of(
        app,
        Method::POST,
        "/api/v1/demands",
        &alice.access_token,
        json!({"category_id": category, "title": "路灯不亮", "description": "小区门口路灯坏了", "community_id": org}),
    )
    .await;
    let demand_id = demand["id"].as_str().unwrap().to_owned();
    // Accepted by its community's staff: alice gets a notification to aim at too.
    json_of(
        app,
        Method::POST,
        &format!("/api/v1/staff/demands/{demand_id}/accept"),
        &community.access_token,
        json!({}),
    )
    .await;
    ids.insert("demand", demand_id);

    app.give_points(&alice, 500).await;
    let reserved = json_of(
        app,
        Method::POST,
        &format!("/api/v1/offers/{offer}/redemptions"),
        &alice.access_token,
        json!({}),
    )
    .await;
    ids.insert("redemption", reserved["id"].as_str().unwrap().to_owned());
    let notifications = json_of(
        app,
        Method::GET,
        "/api/v1/me/notifications",
        &alice.access_token,
        json!(null),
    )
    .await;
    if let Some(first) = notifications["items"][0]["id"].as_str() {
        ids.insert("notification", first.to_owned());
    }

    let lot = json_of(
        app,
        Method::POST,
        "/api/v1/admin/parking/lots",
        &admin.access_token,
        json!({"name": "社区全天停车场", "org_id": org, "address": "新华街3号", "slot_count": 3,
               "points_per_hour": 10, "billing_unit_minutes": 30, "max_booking_hours": 6,
               "open_hours": [{"days": [1,2,3,4,5,6,7], "from": "00:00", "to": "24:00"}]}),
    )
    .await;
    let lot_id = lot["id"].as_str().unwrap().to_owned();
    let start = Utc::now() + Duration::hours(2);
    let booking = json_of(
        app,
        Method::POST,
        "/api/v1/parking/bookings",
        &alice.access_token,
        json!({"lot_id": lot_id, "plate": "晋B12345", "starts_at": start, "ends_at": start + Duration::hours(1)}),
    )
    .await;
    ids.insert("lot", lot_id);
    ids.insert("booking", booking["id"].as_str().unwrap().to_owned());

    linli_tests::issue_time_credits(&app.state.db, &alice.user_id, 120).await;
    let help = json_of(
        app,
        Method::POST,
        "/api/v1/help-requests",
        &alice.access_token,
        json!({"title": "陪诊", "description": "周三上午", "service_type": "escort", "minutes": 60, "community_id": org}),
    )
    .await;
    ids.insert("help_request", help["id"].as_str().unwrap().to_owned());

    let activities = json_of(
        app,
        Method::GET,
        &format!("/api/v1/activities?org_id={org}"),
        &alice.access_token,
        json!(null),
    )
    .await;
    ids.insert(
        "activity",
        activities["items"][0]["id"].as_str().unwrap().to_owned(),
    );

    let need = json_of(
        app,
        Method::POST,
        "/api/v1/staff/needs",
        &community.access_token,
        json!({"community_id": org, "category": "elderly_care", "title": "独居老人助餐", "source": "visit"}),
    )
    .await;
    ids.insert("need", need["id"].as_str().unwrap().to_owned());
    let problem = json_of(
        app,
        Method::POST,
        "/api/v1/staff/problems",
        &community.access_token,
        json!({"community_id": org, "title": "楼道堆物", "severity": "medium"}),
    )
    .await;
    ids.insert("problem", problem["id"].as_str().unwrap().to_owned());
    let project = json_of(
        app,
        Method::POST,
        "/api/v1/staff/projects",
        &community.access_token,
        json!({"partner_id": ids["merchant"], "community_id": org, "kind": "elderly_care",
               "mechanism": "service_purchase", "title": "长者助餐点",
               "goals": [{"metric": "助餐人次", "target": 100}],
               "starts_on": "2026-12-01", "ends_on": "2027-11-30"}),
    )
    .await;
    ids.insert("project", project["id"].as_str().unwrap().to_owned());
    let space = json_of(
        app,
        Method::POST,
        "/api/v1/admin/spaces",
        &community.access_token,
        json!({"org_id": org, "name": "活动室", "area_m2": 50, "capacity": 10,
               "open_hours": [{"days": [1,2,3,4,5,6,7], "from": "00:00", "to": "24:00"}]}),
    )
    .await;
    let from = Utc::now() + Duration::days(1);
    let space_booking = json_of(
        app,
        Method::POST,
        &format!("/api/v1/spaces/{}/bookings", space["id"].as_str().unwrap()),
        &alice.access_token,
        json!({"starts_at": from, "ends_at": from + Duration::hours(1), "purpose": "读书会", "attendees": 3}),
    )
    .await;
    ids.insert(
        "space_booking",
        space_booking["id"].as_str().unwrap().to_owned(),
    );
    let compound = app.org_id("阳光小区").await;
    let cared = json_of(
        app,
        Method::POST,
        "/api/v1/staff/care-recipients",
        &community.access_token,
        json!({"user_id": alice.user_id, "name": "张秀英", "phone": "13912345678", "compound_id": compound,
               "groups": ["living_alone_elderly"], "colour": "red", "consent": true}),
    )
    .await;
    ids.insert("care_recipient", cared["id"].as_str().unwrap().to_owned());
    let worker = json_of(
        app,
        Method::POST,
        &format!("/api/v1/partners/{}/workers", ids["merchant"]),
        &owner.access_token,
        json!({"name": "李阿姨", "phone": "13700001234", "certificate_no": "家政服务员三级"}),
    )
    .await;
    ids.insert("worker", worker["id"].as_str().unwrap().to_owned());
    let home_service = json_of(
        app,
        Method::POST,
        &format!("/api/v1/merchants/{}/offers", ids["merchant"]),
        &owner.access_token,
        json!({"kind": "home_service", "title": "上门理发", "category": "生活服务", "points_price": 50,
               "cash_value_fen": 3000, "valid_from": Utc::now() - Duration::hours(1),
               "valid_until": Utc::now() + Duration::days(30)}),
    )
    .await;
    let home_service = home_service["id"].as_str().unwrap().to_owned();
    json_of(
        app,
        Method::POST,
        &format!(
            "/api/v1/merchants/{}/offers/{home_service}/publish",
            ids["merchant"]
        ),
        &owner.access_token,
        json!({}),
    )
    .await;
    let ordered = json_of(
        app,
        Method::POST,
        "/api/v1/home-services/orders",
        &alice.access_token,
        json!({"offer_id": home_service, "at": Utc::now() + Duration::days(1), "address_note": "1号楼"}),
    )
    .await;
    ids.insert(
        "home_service_order",
        ordered["id"].as_str().unwrap().to_owned(),
    );
    World {
        alice,
        owner,
        street,
        community,
        admin,
        ids,
    }
}

/// Everything an attacker could have changed, as its owners and staff see it.
async fn snapshot(app: &TestApp, w: &World) -> Value {
    let mut view = Map::new();
    let reads: Vec<(&str, String, &Session)> = vec![
        ("wallet", "/api/v1/me/wallet".into(), &w.alice),
        ("demands", "/api/v1/me/demands".into(), &w.alice),
        (
            "demand",
            format!("/api/v1/demands/{}", w.id("demand")),
            &w.alice,
        ),
        ("redemptions", "/api/v1/me/redemptions".into(), &w.alice),
        (
            "home_service_orders",
            "/api/v1/home-services/orders".into(),
            &w.alice,
        ),
        ("bookings", "/api/v1/me/parking/bookings".into(), &w.alice),
        (
            "space_bookings",
            "/api/v1/me/space-bookings".into(),
            &w.alice,
        ),
        ("notifications", "/api/v1/me/notifications".into(), &w.alice),
        (
            "help",
            format!("/api/v1/help-requests/{}", w.id("help_request")),
            &w.alice,
        ),
        (
            "offers",
            format!("/api/v1/merchants/{}/offers", w.id("merchant")),
            &w.owner,
        ),
        (
            "members",
            format!("/api/v1/merchants/{}/staff", w.id("merchant")),
            &w.owner,
        ),
        (
            "merchant",
            format!("/api/v1/staff/merchants/{}", w.id("merchant")),
            &w.street,
        ),
        (
            "signups",
            format!("/api/v1/staff/activities/{}/signups", w.id("activity")),
            &w.street,
        ),
        (
            "budget",
            format!("/api/v1/staff/budgets/{}", w.id("org")),
            &w.street,
        ),
        ("categories", "/api/v1/demand-categories".into(), &w.street),
        (
            "need",
            format!("/api/v1/staff/needs/{}", w.id("need")),
            &w.community,
        ),
        (
            "problem",
            format!("/api/v1/staff/problems/{}", w.id("problem")),
            &w.community,
        ),
        (
            "project",
            format!("/api/v1/staff/projects/{}", w.id("project")),
            &w.community,
        ),
        ("resources", "/api/v1/staff/resources".into(), &w.community),
        ("lots", "/api/v1/parking/lots".into(), &w.street),
        ("staff_session", "/api/v1/me".into(), &w.community),
        ("ledger", "/api/v1/admin/ledger/verify".into(), &w.admin),
    ];
    for (name, path, who) in reads {
        let response = app.get(&path, Some(&who.access_token)).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        view.insert(name.to_owned(), json!({"status": status, "body": body}));
    }
    Value::Object(view)
}

/// A well-formed value for a schema of the spec, aimed at the victims' objects.
fn example(spec: &Value, schema: &Value, field: &str, w: &World) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return example(spec, &spec["components"]["schemas"][name], field, w);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let concrete = options
            .iter()
            .find(|o| o["type"] != "null")
            .unwrap_or(&Value::Null);
        return example(spec, concrete, field, w);
    }
    let kind = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    };
    match kind.as_str().unwrap_or("object") {
        "object" => {
            let mut out = Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            // Every field, optional ones too: a request refused for a missing reason would
            // prove nothing about who may make it.
            if let Some(properties) = schema["properties"].as_object() {
                for (name, property) in properties {
                    let nullable = property["type"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|t| t == "null"));
                    if required.contains(&name.as_str()) || !nullable || name == "reason" {
                        out.insert(name.clone(), example(spec, property, name, w));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => match field {
            "attendances" => json!([{"user_id": w.id("user"), "minutes": 0}]),
            _ => json!([]),
        },
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        "number" => json!(1.0),
        "boolean" => json!(true),
        _ => {
            if let Some(example) = schema.get("example") {
                return example.clone();
            }
            if schema["format"] == "date-time" {
                return json!(Utc::now() + Duration::hours(3));
            }
            match field {
                "user_id" | "to_user_id" => json!(w.id("user")),
                "handler_id" => json!(w.id("staff")),
                "org_id" | "community_id" => json!(w.id("org")),
                "lot_id" => json!(w.id("lot")),
                "offer_id" => json!(w.id("offer")),
                "category_id" => json!(w.id("category")),
                "code" => json!("00000000"),
                "plate" => json!("晋B12345"),
                _ => json!("矩阵测试"),
            }
        }
    }
}

/// The id a path parameter names, from the collection it sits under.
fn path_value(template: &str, name: &str, w: &World) -> Vec<String> {
    let segments: Vec<&str> = template.split('/').collect();
    let at = segments
        .iter()
        .position(|s| *s == format!("{{{name}}}"))
        .unwrap();
    let before = segments[at - 1];
    let kind = match (before, name) {
        (_, "offer_id") => "offer",
        ("attendances", "user_id") => "user",
        ("staff", "user_id") if template.starts_with("/api/v1/admin/") => "staff",
        ("staff", "user_id") => "owner",
        ("budgets", "org_id") => "org",
        ("bookings", _) if template.starts_with("/api/v1/staff/spaces/") => "space_booking",
        ("demands", _) => "demand",
        ("care-recipients", _) => "care_recipient",
        ("workers", _) => "worker",
        ("orders", _) => "home_service_order",
        ("help-requests", _) => "help_request",
        ("redemptions", _) => "redemption",
        ("bookings", _) => "booking",
        ("lots", _) => "lot",
        ("merchants", _) | ("partners", _) => "merchant",
        ("needs", _) => "need",
        ("problems", _) => "problem",
        ("projects", _) => "project",
        ("offers", _) => "offer",
        ("activities", _) => "activity",
        ("demand-categories", _) => "category",
        ("notifications", _) => "notification",
        ("merchant-invites", _) => "invite",
        _ => panic!("the authorization matrix does not know what {name} of {template} names"),
    };
    vec![w.id(kind).to_owned()]
}

/// `{action}` parameters list their values in the description: `a | b | c`.
fn expand(template: &str, operation: &Value, w: &World) -> Vec<String> {
    let mut paths = vec![template.to_owned()];
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] != "path" {
            continue;
        }
        let name = parameter["name"].as_str().unwrap();
        let values: Vec<String> = match parameter["description"].as_str() {
            Some(d) if d.contains(" | ") => d.split('|').map(|v| v.trim().to_owned()).collect(),
            _ => path_value(template, name, w),
        };
        paths = paths
            .iter()
            .flat_map(|p| {
                values
                    .iter()
                    .map(move |v| p.replace(&format!("{{{name}}}"), v))
            })
            .collect();
    }
    paths
}

/// Staff created by the district admin for the attacks.
async fn staff(app: &TestApp, admin: &Session, username: &str, role: &str, org: &str) -> Session {
    json_of(
        app,
        Method::POST,
        "/api/v1/admin/staff",
        &admin.access_token,
        json!({"username": username, "password": "matrix-pass-1", "role": role, "org_id": app.org_id(org).await}),
    )
    .await;
    app.login_staff(username, "matrix-pass-1").await
}

#[tokio::test]
async fn no_role_reaches_an_object_outside_its_scope() {
    let app = spawn_app().await;
    let world = build_world(&app).await;
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(linli_tests::workspace_dir().join("api-spec/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    let attackers: Vec<(&str, Session)> = vec![
        (
            "another resident",
            app.login_neighbour("bob", "开源社区").await,
        ),
        (
            "another merchant's staff",
            app.login_resident("lijie").await,
        ),
        (
            "a sibling community's staff",
            staff(
                &app,
                &world.admin,
                "heping.staff",
                "community_staff",
                "和平社区",
            )
            .await,
        ),
        (
            "another street's staff",
            staff(
                &app,
                &world.admin,
                "kaiyuan.street",
                "street_staff",
                "开源街道",
            )
            .await,
        ),
    ];
    let mut operations = 0;
    let mut calls = 0;
    let mut breaches = Vec::new();
    let mut before = snapshot(&app, &world).await;
    for (template, item) in spec["paths"].as_object().unwrap() {
        if !template.contains('{') {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let method_name = method.to_uppercase();
            if OPEN_BY_DESIGN
                .iter()
                .any(|(m, p, _)| *m == method_name && p == template)
            {
                continue;
            }
            operations += 1;
            let body = operation["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|s| example(&spec, &Value::Object(s.clone()), "", &world));
            for path in expand(template, operation, &world) {
                for (who, session) in &attackers {
                    let mut request = app.request(
                        Method::from_bytes(method_name.as_bytes()).unwrap(),
                        &path,
                        Some(&session.access_token),
                    );
                    if let Some(body) = &body {
                        request = request.json(body);
                    }
                    let response = app.send(request).await;
                    calls += 1;
                    let status = response.status();
                    if status != StatusCode::FORBIDDEN && status != StatusCode::NOT_FOUND {
                        let text = response.text().await.unwrap_or_default();
                        breaches.push(format!("{who}: {method_name} {path} → {status} {text}"));
                    }
                }
            }
            let after = snapshot(&app, &world).await;
            if after != before {
                breaches.push(format!("{method_name} {template} changed the victims' objects:\nbefore {before}\nafter  {after}"));
                before = after;
            }
        }
    }
    assert!(
        operations >= 40,
        "the matrix covered {operations} operations"
    );
    assert!(
        breaches.is_empty(),
        "{} breaches in {calls} calls over {operations} operations:\n{}",
        breaches.len(),
        breaches.join("\n")
    );
    eprintln!("authorization matrix: {operations} operations, {calls} calls, every one refused");
    app.assert_ledger_balanced().await;
}
