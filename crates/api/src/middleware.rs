//! The outermost layer around every request: a request id, a tracing span and log line,
//! metrics, the 1 MiB body cap, and problem+json for errors produced outside our handlers
//! (unknown routes, wrong methods, actix's own extractor errors).

use crate::error::{ApiError, PROBLEM_JSON};
use crate::extract::MAX_BODY_BYTES;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpMessage, ResponseError};
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, also sent back as `X-Request-Id`.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    ok.then(|| value.to_owned())
}

fn declared_length(req: &ServiceRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(platform::ids::new_id);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %req.path());
    let metrics = req.app_data::<Data<AppState>>().map(|s| s.metrics.clone());

    let response = if declared_length(&req).is_some_and(|len| len > MAX_BODY_BYTES) {
        let (http_req, _) = req.into_parts();
        ServiceResponse::new(
            http_req,
            ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE).error_response(),
        )
    } else {
        // Handler and extractor errors arrive here as responses; an `Err` can only come from
        // inner middleware, and actix renders it.
        next.call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body()
    };

    let mut response = problemify(response);
    let status = response.status().as_u16();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(metrics) = metrics {
        metrics
            .requests
            .with_label_values(&[method.as_str(), route.as_str(), &status.to_string()])
            .inc();
        metrics
            .latency
            .with_label_values(&[method.as_str(), route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, elapsed_ms, route, "request finished");
        } else {
            tracing::info!(status, elapsed_ms, route, "request finished");
        }
    });
    Ok(response)
}

/// Replaces a non-problem error body (actix's plain-text 404/405/400) with problem+json.
fn problemify(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return response;
    }
    let (http_req, _) = response.into_parts();
    ServiceResponse::new(http_req, ApiError::for_status(status).error_response())
}
