//! The staff dashboard page, served by the binary itself: three files embedded at build
//! time, nothing fetched from the internet (government networks are often closed). The page
//! talks to the same JSON API as everyone else. The security headers (CSP, nosniff, no
//! referrer) are added to every response by `middleware::observe`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

const INDEX: &str = include_str!("../../assets/dashboard/index.html");
const SCRIPT: &str = include_str!("../../assets/dashboard/app.js");
const STYLE: &str = include_str!("../../assets/dashboard/app.css");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dashboard").route(web::get().to(index)))
        .service(web::resource("/dashboard/").route(web::get().to(index)))
        .service(web::resource("/dashboard/app.js").route(web::get().to(script)))
        .service(web::resource("/dashboard/app.css").route(web::get().to(style)));
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
