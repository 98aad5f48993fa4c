//! Public reads every client repeats (the org tree, demand categories, parking lots, the
//! catalog, activities): each answer carries an `ETag` over its body and is answered
//! `304 Not Modified` when the client already holds it, with a `Cache-Control` saying how
//! long it may be reused. The stable ones (org tree, categories, lots) are also kept rendered
//! in the cache under a generation that their writers bump after commit ([`forget`]), so a
//! change shows at once on every instance. The catalog and activities carry live counts
//! (stock, places left) that every reservation and sign-up moves: clients revalidate them
//! each time (`no-cache`) and the server renders them afresh.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Orgs,
    Categories,
    Lots,
    Catalog,
    Activities,
}

/// A stored answer also expires on its own after this long: the bound on staleness when a
/// change was made where no instance could bump the generation (`linli admin add-org`
/// without Redis).
pub const KEPT_FOR: Duration = Duration::from_secs(30);
/// Longer than any stored answer lives, so that a generation's expiry cannot revive one.
const GENERATION_TTL: Duration = Duration::from_secs(86_400);

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::Orgs => "orgs",
            Family::Categories => "categories",
            Family::Lots => "lots",
            Family::Catalog => "catalog",
            Family::Activities => "activities",
        }
    }

    fn kept(self) -> bool {
        matches!(self, Family::Orgs | Family::Categories | Family::Lots)
    }

    fn cache_control(self) -> &'static str {
        if self.kept() {
            "public, max-age=30"
        } else {
            "public, no-cache"
        }
    }

    fn generation_key(self) -> String {
        format!("public:generation:{}", self.name())
    }
}

/// Renders (or finds) the answer to a public GET of `family` and sends it with its
/// validators. `render` runs only when no stored answer is current.
pub async fn answer<T, F>(
    state: &AppState,
    request: &HttpRequest,
    family: Family,
    render: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize,
    F: Future<Output = Result<T, ApiError>>,
{
    let body = if family.kept() {
        let key = format!(
            "public:{}:{}",
            family.name(),
            request.uri().path_and_query().map_or("", |p| p.as_str())
        );
        match stored(state, family, &key).await {
            (Some(body), _) => body,
            (None, generation) => {
                let body = serde_json::to_string(&render.await?).map_err(ApiError::internal)?;
                if let Some(generation) = generation {
                    let entry = format!("{generation}\n{body}");
                    if let Err(e) = state.cache.set(&key, &entry, KEPT_FOR).await {
                        tracing::debug!(error = %e, "could not keep a public answer");
                    }
                }
                body
            }
        }
    } else {
        serde_json::to_string(&render.await?).map_err(ApiError::internal)?
    };
    Ok(with_validators(request, family, body))
}

/// The stored body if it was rendered under the current generation, and that generation
/// (`None` when the cache cannot be asked: then nothing is stored either).
async fn stored(state: &AppState, family: Family, key: &str) -> (Option<String>, Option<String>) {
    match state.cache.get_pair(&family.generation_key(), key).await {
        Ok((generation, entry)) => {
            let generation = generation.unwrap_or_else(|| "0".to_owned());
            let body = entry.and_then(|entry| {
                let (stored_under, body) = entry.split_once('\n')?;
                (stored_under == generation).then(|| body.to_owned())
            });
            (body, Some(generation))
        }
        Err(e) => {
            tracing::debug!(error = %e, "cache unavailable; rendering a public answer");
            (None, None)
        }
    }
}

/// Call after committing a change that a `family` answer shows: every instance renders it
/// afresh on the next request.
pub async fn forget(state: &AppState, family: Family) {
    if !family.kept() {
        return;
    }
    if let Err(e) = state
        .cache
        .bump_or_owe(&family.generation_key(), GENERATION_TTL)
        .await
    {
        tracing::warn!(error = %e, family = family.name(), "public answers' invalidation owed to the cache");
    }
}

/// [`forget`] from a process that serves nothing (`linli admin`): bumps the generation in
/// `cache` now or fails; nothing is owed, as the process is about to exit.
pub async fn forget_in(
    cache: &platform::cache::Cache,
    family: Family,
) -> Result<(), platform::cache::CacheError> {
    if family.kept() {
        cache.bump(&family.generation_key(), GENERATION_TTL).await?;
    }
    Ok(())
}

fn with_validators(request: &HttpRequest, family: Family, body: String) -> HttpResponse {
    let digest = platform::ids::sha256_hex(&body);
    let etag = format!("\"{}\"", &digest[..32]);
    let held = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == etag || tag == "*")
        });
    let mut response = if held {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, family.cache_control()));
    if held {
        return response.finish();
    }
    response.content_type("application/json").body(body)
}
