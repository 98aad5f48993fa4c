//! HTTP routes, one module per area. Handlers are thin: parse, call the use case, render.

pub mod auth;
pub mod dashboard;
pub mod dashboard_page;
pub mod demands;
pub mod exports;
pub mod ledger;
pub mod me;
pub mod merchants;
pub mod notifications;
pub mod ops;
pub mod orgs;
pub mod parking;
pub mod redemptions;
pub mod staff;
pub mod time_bank;

use actix_web::web;

/// Everything under `/api/v1`.
pub fn api_v1(cfg: &mut web::ServiceConfig) {
    auth::routes(cfg);
    dashboard::routes(cfg);
    demands::routes(cfg);
    exports::routes(cfg);
    ledger::routes(cfg);
    me::routes(cfg);
    merchants::routes(cfg);
    notifications::routes(cfg);
    orgs::routes(cfg);
    parking::routes(cfg);
    redemptions::routes(cfg);
    staff::routes(cfg);
    time_bank::routes(cfg);
}
