//! The org tree.

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::public_reads::{self, Family};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use identity::entity::org;
use identity::service::orgs::{self, NewOrg, OrgNode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/orgs").route(web::get().to(tree)))
        .service(web::resource("/admin/orgs").route(web::post().to(create)));
}

#[derive(Serialize, ToSchema)]
pub struct OrgTreeNode {
    pub id: String,
    /// `district`, `street`, `community` or `compound`.
    pub kind: String,
    pub name: String,
    pub parent_id: Option<String>,
    #[schema(no_recursion)]
    pub children: Vec<OrgTreeNode>,
}

impl From<OrgNode> for OrgTreeNode {
    fn from(node: OrgNode) -> Self {
        Self {
            id: node.id,
            kind: node.kind.as_str().to_owned(),
            name: node.name,
            parent_id: node.parent_id,
            children: node.children.into_iter().map(Into::into).collect(),
        }
    }
}

/// The whole org tree, from the district down to compounds. Public.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", responses((status = 304, description = "Not Modified: the `If-None-Match` ETag is current"), (status = 200, body = Vec<OrgTreeNode>)))]
pub async fn tree(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    public_reads::answer(&state, &request, Family::Orgs, async {
        let roots: Vec<OrgTreeNode> = orgs::tree(&state.reads)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(roots)
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    #[schema(example = "community")]
    pub kind: String,
    #[schema(example = "和平社区", min_length = 1, max_length = 50)]
    pub name: String,
    pub parent_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrgResponse {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<org::Model> for OrgResponse {
    fn from(o: org::Model) -> Self {
        Self {
            id: o.id,
            kind: o.kind,
            name: o.name,
            parent_id: o.parent_id,
            created_at: o.created_at,
        }
    }
}

/// Add a street, community or compound under an org in the caller's scope.
#[utoipa::path(post, path = "/api/v1/admin/orgs", tag = "orgs", security(("bearer" = [])),
    request_body = CreateOrgRequest,
    responses((status = 201, body = OrgResponse),
        (status = 403, description = "`forbidden`: the parent is outside your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<CreateOrgRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateOrgRequest {
        kind,
        name,
        parent_id,
    } = body.0;
    let new = NewOrg::parse(&kind, &name, parent_id)?;
    let created = orgs::create_org(&state.db, &user.0, new, state.clock.now()).await?;
    public_reads::forget(&state, Family::Orgs).await;
    Ok(HttpResponse::Created().json(OrgResponse::from(created)))
}
