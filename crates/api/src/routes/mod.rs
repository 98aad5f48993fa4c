//! HTTP routes, one module per area. Handlers are thin: parse, call the use case, render.

pub mod activity_exports;
pub mod auth;
pub mod care;
pub mod dashboard;
pub mod dashboard_page;
pub mod demands;
pub mod exports;
pub mod home_services;
pub mod imports;
pub mod ledger;
pub mod me;
pub mod merchants;
pub mod notifications;
pub mod ops;
pub mod orgs;
pub mod parking;
pub mod partner_exports;
pub mod partners;
pub mod projects;
pub mod redemptions;
pub mod spaces;
pub mod staff;
pub mod supervision;
pub mod time_bank;

use actix_web::web;

/// Everything under `/api/v1`.
pub fn api_v1(cfg: &mut web::ServiceConfig) {
    activity_exports::routes(cfg);
    auth::routes(cfg);
    care::routes(cfg);
    dashboard::routes(cfg);
    demands::routes(cfg);
    exports::routes(cfg);
    home_services::routes(cfg);
    imports::routes(cfg);
    ledger::routes(cfg);
    me::routes(cfg);
    merchants::routes(cfg);
    notifications::routes(cfg);
    orgs::routes(cfg);
    parking::routes(cfg);
    partner_exports::routes(cfg);
    partners::routes(cfg);
    projects::routes(cfg);
    spaces::routes(cfg);
    supervision::routes(cfg);
    redemptions::routes(cfg);
    staff::routes(cfg);
    time_bank::routes(cfg);
}

#[cfg(test)]
mod tests {
    /// Handlers extract, convert, call and render; anything longer is doing a use case's
    /// work. Every `pub async fn` of a route file stays within 40 lines.
    #[test]
    fn every_handler_is_forty_lines_or_fewer() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut handlers = 0;
        let mut long = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (start, line) in lines.iter().enumerate() {
                let Some(rest) = line.strip_prefix("pub async fn ") else {
                    continue;
                };
                handlers += 1;
                let end = (start..lines.len()).find(|&i| lines[i] == "}").unwrap();
                let length = end - start + 1;
                if length > 40 {
                    let name: String = rest.chars().take_while(|c| *c != '(').collect();
                    long.push(format!("{}::{name}: {length} lines", path.display()));
                }
            }
        }
        assert!(handlers > 90, "found {handlers} handlers");
        assert!(
            long.is_empty(),
            "handlers over 40 lines:\n{}",
            long.join("\n")
        );
    }
}
