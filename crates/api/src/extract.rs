//! Request extractors: strict JSON bodies with field-level errors, the authenticated actor,
//! and the client address used for rate limits.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::web::{BytesMut, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use identity::Actor;
use platform::Code;
use platform::FieldError;
use serde::de::DeserializeOwned;

/// The largest request body accepted anywhere.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON object request body. Unlike `web::Json`, a failure names the offending field:
/// malformed JSON and wrong types → 400, missing or unknown fields → 422, over 1 MiB → 413.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
            }
            let body = read_body(&mut payload).await?;
            parse_json(&body).map(JsonBody)
        })
    }
}

/// A JSON body that may be left out entirely (an empty body, or JSON `null`, reads as
/// `T::default()`: the spec declares such bodies nullable), for actions whose every field is
/// optional, e.g. accepting a demand with or without a handler.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_body(&mut payload).await?;
            if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
                return Ok(OptionalJsonBody(T::default()));
            }
            if !is_json {
                return Err(ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
            }
            parse_json(&body).map(OptionalJsonBody)
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.mime_type()
        .ok()
        .flatten()
        .is_some_and(|m| m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
}

async fn read_body(payload: &mut Payload) -> Result<BytesMut, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(Code::BadRequest, format!("Could not read the body: {e}"))
        })?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Every request body in the API is an object; serde would otherwise also accept a struct
    // written as an array of its fields.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
    {
        return Err(ApiError::new(
            Code::InvalidBody,
            "The body must be a JSON object.",
        ));
    }
    refuse_control_characters(body)?;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        classify(
            if path == "." { String::new() } else { path },
            err.into_inner(),
        )
    })?;
    // Trailing garbage after the value is malformed JSON too.
    deserializer.end().map_err(|e| classify(String::new(), e))?;
    Ok(value)
}

/// 422 naming the field when any string of a JSON body (a value or a key) carries a control
/// character other than a line break or tab: a NUL would reach PostgreSQL and fail there, and
/// escape sequences have no place in a name or a note. Bodies that are not valid JSON pass
/// through, for the parser to name what is wrong with them.
pub fn refuse_control_characters(body: &[u8]) -> Result<(), ApiError> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(());
    };
    match first_control_character(&value, String::new()) {
        None => Ok(()),
        Some(field) => Err(platform::ValidationErrors::single(
            &field,
            "must not contain control characters",
        )
        .into()),
    }
}

fn first_control_character(value: &serde_json::Value, path: String) -> Option<String> {
    use platform::validation::has_forbidden_control;
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if has_forbidden_control(s) => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_control_character(v, join(&i.to_string()))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if has_forbidden_control(k) {
                // The key is echoed back in `errors[].field`: without the control characters.
                Some(join(&k.replace(char::is_control, "\u{FFFD}")))
            } else {
                first_control_character(v, join(k))
            }
        }),
        _ => None,
    }
}

fn classify(field: String, inner: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = inner.to_string();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            Code::MalformedJson,
            format!("The body is not valid JSON: {message}"),
        ),
        Category::Data
            if message.starts_with("invalid type") || message.starts_with("invalid length") =>
        {
            ApiError::new(
                Code::InvalidBody,
                format!("A field has the wrong type: {message}"),
            )
            .with_errors(vec![FieldError { field, message }])
        }
        Category::Data => {
            // serde_path_to_error already ends the path with an unknown field's name, but
            // stops at the parent for a missing one.
            let field = match field_name_from(&message) {
                Some(name) if field.is_empty() => name,
                Some(name) if !(field == name || field.ends_with(&format!(".{name}"))) => {
                    format!("{field}.{name}")
                }
                _ => field,
            };
            ApiError::validation(platform::ValidationErrors(vec![FieldError {
                field,
                message,
            }]))
        }
    }
}

/// serde reports missing and unknown fields at the parent's path with the name in the text:
/// "missing field `code`".
fn field_name_from(message: &str) -> Option<String> {
    if !(message.starts_with("missing field") || message.starts_with("unknown field")) {
        return None;
    }
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// The authenticated caller. Missing, invalid, expired or revoked tokens are rejected with
/// 401; there is no silent "anonymous" fallback.
pub struct AuthUser(pub Actor);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("AppState missing"))?;
            let token = token?;
            let actor = state.auth.authenticate(&token).await?;
            tracing::Span::current().record("actor_id", actor.user_id.as_str());
            Ok(AuthUser(actor))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            Code::TokenMissing,
            "Send Authorization: Bearer <access_token>.",
        )
    })?;
    let value = value.to_str().map_err(|_| {
        ApiError::new(
            Code::TokenInvalid,
            "The Authorization header is not readable.",
        )
    })?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::new(Code::TokenInvalid, "Use the Bearer scheme."))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::new(Code::TokenInvalid, "Use the Bearer scheme."));
    }
    Ok(token.trim().to_owned())
}

/// The position a list's `?cursor=` points after (an id), or `None` for the first page.
/// A cursor that no list of ours produced is a 422 naming the `cursor` field.
pub fn cursor_position(cursor: Option<&str>) -> Result<Option<String>, ApiError> {
    match cursor {
        None => Ok(None),
        Some(c) => platform::paging::decode_cursor::<String>(c)
            .map(Some)
            .ok_or_else(|| {
                platform::ValidationErrors::single("cursor", "is not a cursor from this list")
                    .into()
            }),
    }
}

/// The client's address for rate limiting: the peer, or, when `server.trust_forwarded_for`
/// is on and the peer is one of `server.trusted_proxies`, the last `X-Forwarded-For` hop (the
/// one our proxy wrote; `deploy/nginx.conf` replaces whatever the client sent). `Forwarded`
/// and `X-Real-IP` are never read: a client could set them and pass a proxy that does not
/// clear them.
pub fn client_ip(req: &HttpRequest, server: &platform::config::ServerSettings) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    if server.trust_forwarded_for && peer.is_some_and(|p| server.is_trusted_proxy(p)) {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|hop| hop.trim().parse::<std::net::IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip.to_string();
        }
    }
    peer.map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        code: String,
        count: Option<u32>,
    }

    fn code_of(body: &str) -> (u16, &'static str, Vec<String>) {
        let err = parse_json::<Login>(body.as_bytes()).unwrap_err();
        let fields = err.errors().iter().map(|e| e.field.clone()).collect();
        (
            actix_web::ResponseError::status_code(&err).as_u16(),
            err.code(),
            fields,
        )
    }

    #[test]
    fn body_errors_are_classified_and_name_the_field() {
        assert_eq!(code_of("{\"code\": ").1, "malformed_json");
        assert_eq!(code_of("{\"code\": \"a\"} trailing").1, "malformed_json");
        assert_eq!(
            code_of("{\"code\": 5}"),
            (400, "invalid_body", vec!["code".to_owned()])
        );
        assert_eq!(
            code_of("{}"),
            (422, "validation_failed", vec!["code".to_owned()])
        );
        assert_eq!(
            code_of("{\"code\": \"a\", \"extra\": 1}"),
            (422, "validation_failed", vec!["extra".to_owned()])
        );
        assert!(parse_json::<Login>(br#"{"code":"dev-a","count":3}"#).is_ok());
    }

    #[test]
    fn control_characters_are_refused_with_the_field() {
        assert_eq!(
            code_of(r#"{"code": "dev-\u0000a"}"#),
            (422, "validation_failed", vec!["code".to_owned()])
        );
        let nested =
            refuse_control_characters(br#"{"a": [{"b": "x"}, {"c": "\u001b[2J"}]}"#).unwrap_err();
        assert_eq!(nested.errors()[0].field, "a.1.c");
        let key = refuse_control_characters(br#"{"a\u0000": 1}"#).unwrap_err();
        assert_eq!(key.errors()[0].field, "a\u{FFFD}");
        assert!(refuse_control_characters("{\"note\": \"第一行\\n第二行\\t\"}".as_bytes()).is_ok());
    }
}
