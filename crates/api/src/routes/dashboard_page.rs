//! The staff dashboard page, served by the binary itself: the page, its script and style,
//! and Apache ECharts (vendored under `assets/dashboard/vendor`, its version in the name),
//! embedded at build time; nothing is fetched from the internet (government networks are
//! often closed). The page talks to the same JSON API as everyone else. The security headers (CSP, nosniff, no
//! referrer) are added to every response by `middleware::observe`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

const INDEX: &str = include_str!("../../assets/dashboard/index.html");
const SCRIPT: &str = include_str!("../../assets/dashboard/app.js");
const STYLE: &str = include_str!("../../assets/dashboard/app.css");
const ECHARTS: &str = include_str!("../../assets/dashboard/vendor/echarts-6.1.0.min.js");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dashboard").route(web::get().to(index)))
        .service(web::resource("/dashboard/").route(web::get().to(index)))
        .service(web::resource("/dashboard/app.js").route(web::get().to(script)))
        .service(web::resource("/dashboard/app.css").route(web::get().to(style)))
        .service(
            web::resource("/dashboard/vendor/echarts-6.1.0.min.js").route(web::get().to(echarts)),
        );
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

/// A versioned file that never changes under its name: browsers keep it a year.
async fn echarts() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(ECHARTS)
}
