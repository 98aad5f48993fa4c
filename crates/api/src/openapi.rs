//! The OpenAPI document, generated from the handlers' annotations. `linli openapi` prints it;
//! `api-spec/openapi.json` is the committed copy and a test fails when the two drift.

use crate::routes::{
    auth, dashboard, demands, exports, ledger, me, merchants, notifications, ops, orgs, parking,
    redemptions, staff, time_bank,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Linli (邻里) API",
        description = "Backend of the community mini-program and the staff dashboard. Errors are RFC 9457 problem+json with a stable `code`.",
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
    ),
    components(schemas(crate::error::Problem, crate::error::ProblemFieldError)),
    modifiers(&BearerAuth),
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
