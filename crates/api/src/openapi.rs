//! The OpenAPI document, generated from the handlers' annotations. `linli openapi` prints it;
//! `api-spec/openapi.json` is the committed copy and a test fails when the two drift.

use crate::routes::{
    activity_exports, auth, care, dashboard, demands, exports, home_services, imports, ledger, me,
    merchants, notifications, ops, orgs, parking, partner_exports, partners, projects, redemptions,
    spaces, staff, supervision, time_bank,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Linli (邻里) API",
        description = "Backend of the community mini-program and the staff dashboard. Errors are RFC 9457 problem+json with a stable `code`. Besides what each operation lists, any path answers 405 `method_not_allowed` to a method it does not have, and any operation 500 `internal_error` if the server fails (logged; never an expected answer).",
    ),
    paths(
        ops::healthz, ops::readyz, ops::metrics,
        auth::wechat_login, auth::staff_login, auth::refresh, auth::logout,
        me::me, me::update_profile, me::bind_phone,
        notifications::list, notifications::read_one, notifications::read_all,
        orgs::tree, orgs::create, staff::create, staff::disable, staff::enable,
        ledger::wallet, ledger::entries, ledger::gift_time_credits, ledger::allocate, ledger::budget,
        ledger::award, ledger::verify_ledger,
        merchants::apply, merchants::list_for_staff, merchants::review, merchants::create_offer,
        merchants::own_offers, merchants::update_offer, merchants::publish_offer, merchants::catalog,
        merchants::offer, merchants::merchant_detail, merchants::invite, merchants::accept_invite,
        merchants::members, merchants::remove_member,
        redemptions::reserve, redemptions::issue_code, redemptions::cancel, redemptions::mine,
        redemptions::of_merchant, redemptions::preview, redemptions::verify, redemptions::stats,
        demands::list_categories, demands::create_category, demands::update_category,
        demands::submit, demands::mine, demands::detail, demands::resident_comment, demands::rate,
        demands::reopen, demands::withdraw, demands::list_for_staff, demands::accept,
        demands::assign, demands::start, demands::transfer, demands::resolve, demands::reject,
        demands::staff_comment, demands::demand_metrics,
        notifications::subscriptions, notifications::allow_subscription,
        time_bank::create_activity, time_bank::list_activities, time_bank::activity_detail,
        time_bank::sign_up, time_bank::cancel_signup, time_bank::staff_signups, time_bank::check_code,
        time_bank::check_in, time_bank::check_out, time_bank::set_check_out, time_bank::settle,
        time_bank::create_help_request, time_bank::list_help_requests, time_bank::help_request_detail,
        time_bank::help_request_action, time_bank::resolve_dispute, time_bank::volunteer_leaderboard,
        parking::create_lot, parking::rotate_secret, parking::list_lots, parking::availability,
        parking::book, parking::my_bookings, parking::cancel, parking::pay, parking::gate_event,
        parking::staff_gate, parking::usage,
        dashboard::dashboard, dashboard::series, exports::demands_csv, exports::demands_xlsx,
        partners::directory_list, partners::profile, partners::offer_resource, partners::list_resources,
        partners::raise_need, partners::list_needs, partners::need_detail, partners::move_need,
        partners::need_matches, partners::record_problem, partners::list_problems, partners::problem_detail,
        partners::resolve_problem,
        projects::propose, projects::list, projects::detail, projects::act, projects::accept,
        projects::evaluate, projects::rate, projects::pay,
        supervision::publish, supervision::disclosures_of, supervision::require, supervision::missing,
        supervision::exit, supervision::grant, supervision::granted,
        spaces::create, spaces::list, spaces::book, spaces::decide, spaces::mine,
        partner_exports::partner_lists, imports::template, imports::import,
        activity_exports::merchants, activity_exports::redemptions,
        activity_exports::parking_usage, activity_exports::volunteer_hours,
        care::register, care::list, care::read, care::visit, care::care_map, care::mine,
        care::withdraw, care::audit, care::register_worker, care::workers_of, care::verify_worker,
        home_services::place, home_services::mine, home_services::detail, home_services::of_partner,
        home_services::dispatch, home_services::complete, home_services::confirm,
        home_services::cancel, home_services::rate,
    ),
    components(schemas(crate::error::Problem, crate::error::ProblemFieldError)),
    modifiers(&BearerAuth, &StandardAnswers, &UniqueOperationIds),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "auth", description = "WeChat and staff login, token refresh, logout"),
        (name = "me", description = "The logged-in user's own account"),
        (name = "orgs", description = "The org tree and staff accounts"),
        (name = "merchants", description = "Merchants and partners, their points services and the catalog"),
        (name = "redemptions", description = "Reserving offers and redeeming them with one-time codes (核销)"),
        (name = "demands", description = "Resident demands (诉求): filing, the staff workflow, ratings, SLA and metrics"),
        (name = "timebank", description = "Time bank (时间银行): activities, attendance, settlement, help requests, leaderboards"),
        (name = "parking", description = "Points for parking (积分停车): lots, bookings, gate events"),
        (name = "dashboard", description = "The staff dashboard's figures"),
        (name = "care", description = "Care for special groups (五色图): recipients, visits, the care map, consent and the access log"),
        (name = "home_services", description = "Home services (家政): orders paid in points or time credits (or by the community for care recipients), dispatch to verified workers, confirmation, rating"),
        (name = "partners", description = "Community partners (社区合伙人): the directory, the resource, need and problem lists, matching"),
        (name = "ledger", description = "Points and time credits: wallets, statements, budgets, awards, gifts, verification"),
    ),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// OpenAPI wants every `operationId` unique, and code generators name functions after them;
/// utoipa takes the handler's name, which several modules share (`create`, `detail`, `mine`).
/// Those get their path appended (`create_admin_orgs`); unique names stay as they are.
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut seen: std::collections::HashMap<String, usize> = Default::default();
        for item in openapi.paths.paths.values() {
            for operation in operations(item) {
                if let Some(id) = &operation.operation_id {
                    *seen.entry(id.clone()).or_default() += 1;
                }
            }
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let suffix: String = path
                .trim_start_matches("/api/v1/")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
                .split('_')
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            for operation in operations_mut(item) {
                if let Some(id) = operation.operation_id.as_mut() {
                    if seen.get(id.as_str()).is_some_and(|n| *n > 1) {
                        *id = format!("{id}_{suffix}");
                    }
                }
            }
        }
    }
}

fn operations(
    item: &utoipa::openapi::PathItem,
) -> impl Iterator<Item = &utoipa::openapi::path::Operation> {
    [&item.get, &item.post, &item.put, &item.delete, &item.patch]
        .into_iter()
        .flatten()
}

fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// The answers every operation can give besides its own, added where the operation does not
/// describe them itself: what the boundary refuses (400 malformed JSON, path or query; 413;
/// 415; 422 invalid fields or control characters), what authentication answers (401, and
/// 403 for a role or scope that does not reach), what an id in the path or the body that
/// names nothing gets (404), and 503 when the database cannot be reached. The spec says all
/// the server does.
struct StandardAnswers;

impl StandardAnswers {
    const BAD_REQUEST: &'static str =
        "`malformed_json`, `invalid_body`, `invalid_path`, `invalid_query`, `bad_request`: the request could not be read";
    const UNAUTHORIZED: &'static str =
        "`token_missing`, `token_invalid`, `token_expired`, `token_revoked`, `account_disabled`";
    const FORBIDDEN: &'static str = "`forbidden`: the caller's role or scope does not reach this";
    const NOT_FOUND: &'static str =
        "`not_found`: no such object (in the path or named in the body), or not one the caller may see";
    const TOO_LARGE: &'static str = "`payload_too_large`: the body is over 1 MiB";
    const MEDIA_TYPE: &'static str =
        "`unsupported_media_type`: send `Content-Type: application/json`";
    const INVALID: &'static str =
        "`validation_failed` (see `errors`), e.g. a field out of range or carrying control characters";
    const UNAVAILABLE: &'static str =
        "`database_unavailable`: the database is busy or unreachable; retry after `Retry-After`";
}

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

/// The limits the server enforces on the parameters many operations share, stated once.
fn constrain_shared_parameter(parameter: &mut utoipa::openapi::path::Parameter) {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let schema = match parameter.name.as_str() {
        "limit" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .minimum(Some(1))
            .maximum(Some(platform::paging::MAX_LIMIT as i64))
            .description(Some(format!(
                "Page size, default {}, at most {}.",
                platform::paging::DEFAULT_LIMIT,
                platform::paging::MAX_LIMIT
            ))),
        "cursor" => ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(200))
            .description(Some(
                "The `next_cursor` of the previous page; anything else is 422.",
            )),
        "Idempotency-Key" => ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(crate::idempotency::MAX_KEY_LEN))
            .pattern(Some("^[!-~]+$"))
            .description(Some(
                "1 to 200 visible ASCII characters; a retry with the same key and body gets the first response.",
            )),
        _ => return,
    };
    parameter.schema = Some(schema.build().into());
}

impl Modify for StandardAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for parameter in operation.parameters.iter_mut().flatten() {
                    constrain_shared_parameter(parameter);
                }
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let in_path = parameters
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Path));
                let has_input = !parameters.is_empty() || operation.request_body.is_some();
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut answers = vec![("400", Self::BAD_REQUEST), ("503", Self::UNAVAILABLE)];
                if secured {
                    answers.extend([("401", Self::UNAUTHORIZED), ("403", Self::FORBIDDEN)]);
                }
                if in_path || operation.request_body.is_some() {
                    answers.push(("404", Self::NOT_FOUND));
                }
                if operation.request_body.is_some() {
                    answers.extend([("413", Self::TOO_LARGE), ("415", Self::MEDIA_TYPE)]);
                }
                if has_input {
                    answers.push(("422", Self::INVALID));
                }
                for (status, description) in answers {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem_response(description));
                }
            }
        }
    }
}

/// The spec as pretty JSON with a trailing newline, exactly as committed.
pub fn spec_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    /// utoipa keys schemas by name: a second type of the same name silently replaces the first
    /// in the spec (the ledger's verify report was once documented as a redemption). Every
    /// `ToSchema` type of the API must have its own name (or its own `#[schema(as = ...)]`).
    #[test]
    fn schema_names_are_unique() {
        let routes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut names: Vec<(String, String)> = Vec::new();
        let mut files = vec![routes];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines = text.lines().peekable();
            while let Some(line) = lines.next() {
                if !(line.trim_start().starts_with("#[derive(") && line.contains("ToSchema")) {
                    continue;
                }
                let mut renamed = None;
                for next in lines.by_ref() {
                    let next = next.trim();
                    if let Some(rest) = next.strip_prefix("#[schema(as = ") {
                        renamed = Some(rest.trim_end_matches(")]").to_owned());
                    }
                    let declared = next
                        .strip_prefix("pub struct ")
                        .or_else(|| next.strip_prefix("pub enum "));
                    if let Some(declared) = declared {
                        let name: String = declared
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        names.push((renamed.unwrap_or(name), path.display().to_string()));
                        break;
                    }
                }
            }
        }
        assert!(names.len() > 50, "found the API's schemas: {}", names.len());
        let mut seen = std::collections::HashMap::new();
        for (name, file) in &names {
            if let Some(other) = seen.insert(name.clone(), file.clone()) {
                panic!("two schemas are named {name}: in {other} and {file}");
            }
        }
    }

    #[test]
    fn every_operation_documents_the_answers_of_the_boundary() {
        let spec: serde_json::Value = serde_json::from_str(&spec_json()).unwrap();
        let mut operations = 0;
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                operations += 1;
                let responses = operation["responses"].as_object().unwrap();
                let secured = operation.get("security").is_some();
                for status in ["400", "503"]
                    .into_iter()
                    .chain(secured.then_some(["401", "403"]).into_iter().flatten())
                    .chain(path.contains('{').then_some("404"))
                    .chain(operation.get("requestBody").map(|_| "415"))
                {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
        assert!(operations > 90, "{operations}");
    }

    /// Clients switch on the problem code, so each one of `platform::problem::Code` must be
    /// documented (as `` `code` `` in a response's description) under the status it carries.
    #[test]
    fn every_problem_code_is_documented_with_its_status() {
        let spec: serde_json::Value = serde_json::from_str(&spec_json()).unwrap();
        let mut documented: std::collections::HashMap<String, Vec<String>> = Default::default();
        for item in spec["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    let description = response["description"].as_str().unwrap_or_default();
                    for (i, quoted) in description.split('`').enumerate() {
                        if i % 2 == 1 {
                            documented
                                .entry(quoted.to_owned())
                                .or_default()
                                .push(status.clone());
                        }
                    }
                }
            }
        }
        // Answered outside any one operation: stated once in the document's description.
        let general = spec["info"]["description"].as_str().unwrap_or_default();
        for (status, name) in [(405, "method_not_allowed"), (500, "internal_error")] {
            assert!(general.contains(&format!("{status} `{name}`")), "{general}");
            documented
                .entry(name.to_owned())
                .or_default()
                .push(status.to_string());
        }
        let missing: Vec<String> = platform::Code::ALL
            .iter()
            .filter_map(|code| {
                let status = crate::error::status_of(code.kind()).as_u16().to_string();
                let statuses = documented.get(code.as_str());
                (!statuses.is_some_and(|s| s.contains(&status))).then(|| {
                    format!(
                        "`{}` under {status} (documented under {statuses:?})",
                        code.as_str()
                    )
                })
            })
            .collect();
        assert!(
            missing.is_empty(),
            "undocumented problem codes:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn committed_spec_matches_the_code() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../api-spec/openapi.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == spec_json(),
            "api-spec/openapi.json is out of date; regenerate it with `cargo run -q -- openapi > api-spec/openapi.json`"
        );
    }
}
