//! The outermost layer around every request: a request id, a tracing span and log line,
//! metrics, the 1 MiB body cap, problem+json for errors produced outside our handlers
//! (unknown routes, wrong methods, actix's own extractor errors), and the security headers
//! every response carries.

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
use platform::Code;
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
    // `actor_id` is filled in by the authentication extractor, so every line a signed-in
    // request logs names who made it (an id, never a token or phone number).
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.path(),
        actor_id = tracing::field::Empty
    );
    let metrics = req.app_data::<Data<AppState>>().map(|s| s.metrics.clone());
    let log_requests = req
        .app_data::<Data<AppState>>()
        .is_none_or(|s| s.settings.log.requests);

    let refused = if declared_length(&req).is_some_and(|len| len > MAX_BODY_BYTES) {
        Some(ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE))
    } else {
        refuse_control_characters(&req)
    };
    let response = if let Some(error) = refused {
        let (http_req, _) = req.into_parts();
        ServiceResponse::new(http_req, error.error_response())
    } else {
        // Handler and extractor errors arrive here as responses; an `Err` can only come from
        // inner middleware, and actix renders it.
        next.call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body()
    };

    let mut response = problemify(response);
    add_security_headers(response.headers_mut());
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
        } else if log_requests {
            tracing::info!(status, elapsed_ms, route, "request finished");
        }
    });
    Ok(response)
}

/// Control characters in the path (400: no id of ours has one) or in a query parameter (422
/// naming it) are refused here, once for every route; JSON bodies are checked by
/// `extract::JsonBody`. A NUL would otherwise reach PostgreSQL, which refuses it with an error.
fn refuse_control_characters(req: &ServiceRequest) -> Option<ApiError> {
    if percent_decode(req.path()).chars().any(char::is_control) {
        return Some(ApiError::new(
            Code::InvalidPath,
            "The path must not contain control characters.",
        ));
    }
    let query = req.query_string();
    if query.is_empty() {
        return None;
    }
    let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query).ok()?;
    let (name, _) = pairs
        .iter()
        .find(|(k, v)| k.chars().chain(v.chars()).any(char::is_control))?;
    let field = name.replace(char::is_control, "\u{FFFD}");
    Some(platform::ValidationErrors::single(&field, "must not contain control characters").into())
}

/// `%XX` escapes decoded, invalid UTF-8 replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

/// The dashboard loads its script, style and data from this origin only, runs no inline
/// script or style attribute, and may not be framed; API responses carry the same policy so
/// a JSON body opened in a browser can never run as a page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn add_security_headers(headers: &mut actix_web::http::header::HeaderMap) {
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_escapes_decode() {
        assert_eq!(percent_decode("/a%00b"), "/a\u{0}b");
        assert_eq!(percent_decode("/%E6%96%B0%zz%4"), "/新%zz%4");
        assert!(percent_decode("/x%C2%85").chars().any(char::is_control));
    }
}
