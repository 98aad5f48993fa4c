//! The HTTP side of the unit of work (`platform::unit_of_work`): a handler names the caller,
//! the `Idempotency-Key` and what makes the request itself, hands over the use case, and
//! gets back the answer to send: the fresh one, or the stored one of an earlier success with
//! the same key (marked `Idempotent-Replayed: true`).
//!
//! ```ignore
//! let actor = user.0.clone();
//! state
//!     .unit(&actor, key, &("reserve", offer_id.as_str()))
//!     .respond(StatusCode::CREATED, move |conn| {
//!         Box::pin(async move { reserve(conn, &actor, &offer_id, now).await.map(Response::from) })
//!     })
//!     .await
//! ```

use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use futures_util::future::BoxFuture;
use identity::Actor;
use platform::unit_of_work::{Answer, Request, Settled};
use platform::Problem;
use sea_orm::DatabaseTransaction;
use serde::Serialize;

/// One request's unit of work, ready to run.
pub struct Unit<'a> {
    state: &'a AppState,
    request: Request,
    /// Which group-commit lane it joins (`platform::group_commit`): the caller's home.
    route: Option<String>,
}

impl AppState {
    /// A unit for `actor`'s request. `fingerprint` is the operation and its parsed command:
    /// a retry with the same key must match it to get the first answer back.
    pub fn unit(
        &self,
        actor: &Actor,
        key: IdempotencyKey,
        fingerprint: &impl Serialize,
    ) -> Unit<'_> {
        Unit {
            state: self,
            request: Request::new(&actor.user_id, key.0, fingerprint),
            route: Some(home_of(actor).to_owned()),
        }
    }

    /// A unit without an `Idempotency-Key` (operations that are safe to repeat, or that
    /// refuse a second time by their own rules).
    pub fn unkeyed_unit(&self) -> Unit<'_> {
        Unit {
            state: self,
            request: Request::unkeyed(),
            route: None,
        }
    }
}

/// Where an actor's writes mostly land, so that one community's requests (its budget, its
/// demand counts, its shops) share a group-commit lane: a resident's community, a staff
/// member's org, a cashier's merchant; the user for anyone else.
fn home_of(actor: &Actor) -> &str {
    use identity::Binding;
    if let Some(community) = &actor.community_id {
        return community;
    }
    match actor.bindings.first() {
        Some(Binding::Org { org, .. }) => &org.id,
        Some(Binding::Merchant { merchant_id }) => merchant_id,
        None => &actor.user_id,
    }
}

impl Unit<'_> {
    /// Joins the lane of `actor`'s home (see [`home_of`]); for units without a key, which
    /// otherwise spread over the lanes.
    pub fn routed_by(mut self, actor: &Actor) -> Self {
        self.route = Some(home_of(actor).to_owned());
        self
    }

    /// Joins the lane of `route`, an id of what the unit writes to (a parking lot for a gate
    /// event, say), when no caller's home says it better.
    pub fn routed_to(mut self, route: &str) -> Self {
        self.route = Some(route.to_owned());
        self
    }

    /// Runs the work; the caller renders the answer (see [`answer`]) after what it does
    /// once the unit has committed.
    pub async fn run<T, E, F>(self, status: StatusCode, work: F) -> Result<Settled<T>, ApiError>
    where
        T: Serialize + Send + 'static,
        E: Into<Problem> + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>>
            + Clone
            + Send
            + 'static,
    {
        let now = self.state.clock.now();
        let committer = &self.state.committer;
        Ok(committer
            .run(
                self.route.as_deref(),
                self.request,
                status.as_u16(),
                now,
                work,
            )
            .await?)
    }

    /// Runs the work and answers with its result.
    pub async fn respond<T, E, F>(
        self,
        status: StatusCode,
        work: F,
    ) -> Result<HttpResponse, ApiError>
    where
        T: Serialize + Send + 'static,
        E: Into<Problem> + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<T, E>>
            + Clone
            + Send
            + 'static,
    {
        Ok(answer(self.run(status, work).await?.answer()))
    }
}

/// The HTTP response of a unit's answer (204 carries no body, whatever the work returned).
pub fn answer(answer: &Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if status == StatusCode::NO_CONTENT {
        return response.finish();
    }
    response.content_type("application/json");
    if answer.replayed {
        response.insert_header(("idempotent-replayed", "true"));
    }
    response.body(answer.body.clone())
}
