//! The org tree: district > street > community > compound.

use crate::entity::org;
use crate::{Actor, IdentityError, OrgKind};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use platform::ValidationErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use std::collections::HashMap;

pub const MAX_ORG_NAME_CHARS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgNode {
    pub id: String,
    pub kind: OrgKind,
    pub name: String,
    pub parent_id: Option<String>,
    pub children: Vec<OrgNode>,
}

/// The whole tree, children in creation order.
pub async fn tree(conn: &impl ConnectionTrait) -> Result<Vec<OrgNode>, IdentityError> {
    let orgs = org::Entity::find()
        .order_by_asc(org::Column::CreatedAt)
        .order_by_asc(org::Column::Id)
        .all(conn)
        .await?;
    let mut children: HashMap<Option<String>, Vec<org::Model>> = HashMap::new();
    for o in orgs {
        children.entry(o.parent_id.clone()).or_default().push(o);
    }
    fn build(
        parent: Option<String>,
        children: &mut HashMap<Option<String>, Vec<org::Model>>,
    ) -> Vec<OrgNode> {
        let Some(level) = children.remove(&parent) else {
            return Vec::new();
        };
        level
            .into_iter()
            .filter_map(|o| {
                let kind = OrgKind::parse(&o.kind)?;
                Some(OrgNode {
                    children: build(Some(o.id.clone()), children),
                    id: o.id,
                    kind,
                    name: o.name,
                    parent_id: o.parent_id,
                })
            })
            .collect()
    }
    Ok(build(None, &mut children))
}

pub async fn find(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<org::Model>, IdentityError> {
    Ok(by_id(conn, id).await?)
}

/// [`find`] for the other contexts, in the database's own error: the org `id` names, read
/// once per process ([`KnownOrgs`]).
pub async fn by_id(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<org::Model>, sea_orm::DbErr> {
    if let Some(org) = KnownOrgs::get(id) {
        return Ok(Some(org));
    }
    let found = org::Entity::find_by_id(id.to_owned()).one(conn).await?;
    if let Some(org) = &found {
        KnownOrgs::keep(org);
    }
    Ok(found)
}

/// The orgs this process has read, by id. An org never changes once created (nothing
/// renames, moves or deletes one), so a row read once is the row for good, on every
/// instance: almost every request names an org (a budget, a community, a scope) and asked
/// the database again each time. Only orgs that exist are kept (an org created later is
/// read when first named); an id is random and never reused, so two databases served by
/// one process (tests, the load harness) cannot answer for each other. Bounded: past
/// [`KnownOrgs::LIMIT`] orgs, the rest are read each time.
struct KnownOrgs;

static KNOWN_ORGS: std::sync::LazyLock<std::sync::RwLock<HashMap<String, org::Model>>> =
    std::sync::LazyLock::new(Default::default);

impl KnownOrgs {
    /// Far above a district's orgs (Pingcheng: 12 streets, 31 communities, their compounds).
    const LIMIT: usize = 50_000;

    fn get(id: &str) -> Option<org::Model> {
        KNOWN_ORGS.read().ok()?.get(id).cloned()
    }

    fn keep(org: &org::Model) {
        if let Ok(mut known) = KNOWN_ORGS.write() {
            if known.len() < Self::LIMIT {
                known.insert(org.id.clone(), org.clone());
            }
        }
    }
}

/// Every org under the tree path `path` (the org of the path itself included): id → name,
/// for reports and exports that name what they count.
pub async fn names_under(
    conn: &impl ConnectionTrait,
    path: &str,
) -> Result<HashMap<String, String>, sea_orm::DbErr> {
    Ok(org::Entity::find()
        .filter(org::Column::Path.starts_with(path))
        .all(conn)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

/// The tree path of the org a list is filtered by (`org_id` of a query), or `None` for no
/// filter; an id that names no org is a field error.
pub async fn filter_path(
    conn: &impl ConnectionTrait,
    org_id: Option<&str>,
) -> Result<Option<String>, IdentityError> {
    let Some(id) = org_id else {
        return Ok(None);
    };
    let org = find(conn, id)
        .await?
        .ok_or_else(|| ValidationErrors::single("org_id", "is not an org"))?;
    Ok(Some(org.path))
}

/// The org named by `org_id`, or the district (the root) when none is named.
pub async fn find_or_root(
    conn: &impl ConnectionTrait,
    org_id: Option<&str>,
) -> Result<org::Model, IdentityError> {
    let org = match org_id {
        Some(id) => find(conn, id).await?,
        None => {
            org::Entity::find()
                .filter(org::Column::ParentId.is_null())
                .one(conn)
                .await?
        }
    };
    org.ok_or_else(|| ValidationErrors::single("org_id", "is not an org").into())
}

#[derive(Debug, Clone)]
pub struct NewOrg {
    pub kind: OrgKind,
    pub name: String,
    pub parent_id: Option<String>,
}

impl NewOrg {
    /// Checks the request's shape; scope and the parent's existence are checked on create.
    pub fn parse(
        kind: &str,
        name: &str,
        parent_id: Option<String>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let kind = OrgKind::parse(kind);
        if kind.is_none() {
            errors.add(
                "kind",
                "must be one of district, street, community, compound",
            );
        }
        let name = platform::validation::name_field(&mut errors, "name", name, MAX_ORG_NAME_CHARS);
        if kind.is_some_and(|k| k.parent_kind().is_some()) && parent_id.is_none() {
            errors.add("parent_id", "is required for this kind");
        }
        errors.into_result()?;
        Ok(Self {
            kind: kind.unwrap_or(OrgKind::Compound),
            name,
            parent_id,
        })
    }
}

/// Creates an org under a parent the actor is staff of.
pub async fn create_org(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    new: NewOrg,
    now: DateTime<Utc>,
) -> Result<org::Model, IdentityError> {
    actor.require_org_staff("Only district, street and community staff manage orgs.")?;
    let Some(parent_id) = new.parent_id.clone() else {
        // A new root district is a deployment decision: `linli admin add-org`.
        return Err(IdentityError::Forbidden(
            "new districts are created with the CLI",
        ));
    };
    let parent = find(conn, &parent_id).await?.ok_or_else(|| {
        IdentityError::Validation(ValidationErrors::single("parent_id", "no such org"))
    })?;
    if !actor.can_reach(&parent.path) {
        return Err(IdentityError::Forbidden(
            "the parent org is outside your scope",
        ));
    }
    if new.kind.parent_kind().map(OrgKind::as_str) != Some(parent.kind.as_str()) {
        return Err(IdentityError::Validation(ValidationErrors::single(
            "kind",
            format!(
                "a {} cannot be created under a {}",
                new.kind.as_str(),
                parent.kind
            ),
        )));
    }
    insert_org(conn, new.kind, &new.name, Some(&parent), now).await
}

/// Inserts without a scope check (seeding and the CLI). A sibling with the same name → 409.
pub async fn insert_org(
    conn: &impl ConnectionTrait,
    kind: OrgKind,
    name: &str,
    parent: Option<&org::Model>,
    now: DateTime<Utc>,
) -> Result<org::Model, IdentityError> {
    if let Some(existing) = find_child_by_name(conn, parent.map(|p| p.id.as_str()), name).await? {
        return Err(IdentityError::Validation(ValidationErrors::single(
            "name",
            format!(
                "an org named {} already exists here ({})",
                existing.name, existing.id
            ),
        )));
    }
    let id = new_id();
    let path = format!("{}{id}/", parent.map_or("/", |p| p.path.as_str()));
    Ok(org::ActiveModel {
        id: Set(id),
        kind: Set(kind.as_str().to_owned()),
        name: Set(name.to_owned()),
        parent_id: Set(parent.map(|p| p.id.clone())),
        path: Set(path),
        created_at: Set(now),
    }
    .insert(conn)
    .await?)
}

pub async fn find_child_by_name(
    conn: &impl ConnectionTrait,
    parent_id: Option<&str>,
    name: &str,
) -> Result<Option<org::Model>, IdentityError> {
    let query = org::Entity::find().filter(org::Column::Name.eq(name));
    let query = match parent_id {
        Some(p) => query.filter(org::Column::ParentId.eq(p)),
        None => query.filter(org::Column::ParentId.is_null()),
    };
    Ok(query.one(conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm_migration::SchemaManager;

    /// On the backend the suite runs on.
    #[tokio::test]
    async fn an_org_read_once_is_answered_from_memory_and_an_unknown_id_is_asked_again() {
        let db = platform::testing::fresh_database().await;
        let mut migrations = platform::migration::migrations();
        migrations.extend(crate::migration::migrations());
        for migration in migrations {
            migration.up(&SchemaManager::new(&db)).await.unwrap();
        }
        let now = Utc::now();
        let district = insert_org(&db, OrgKind::District, "平城区", None, now)
            .await
            .unwrap();
        assert_eq!(
            find(&db, &district.id).await.unwrap(),
            Some(district.clone())
        );
        // Behind Linli's back (nothing in it deletes an org): the row read before answers.
        org::Entity::delete_by_id(district.id.clone())
            .exec(&db)
            .await
            .unwrap();
        assert_eq!(find(&db, &district.id).await.unwrap(), Some(district));
        // An id that names no org is not remembered as missing: created later, it is found.
        let later = new_id();
        assert_eq!(find(&db, &later).await.unwrap(), None);
        org::ActiveModel {
            id: Set(later.clone()),
            kind: Set("district".to_owned()),
            name: Set("后来".to_owned()),
            parent_id: Set(None),
            path: Set(format!("/{later}/")),
            created_at: Set(now),
        }
        .insert(&db)
        .await
        .unwrap();
        assert_eq!(
            find(&db, &later).await.unwrap().map(|o| o.name),
            Some("后来".to_owned())
        );
    }

    #[test]
    fn new_org_requests_are_checked_field_by_field() {
        let err = NewOrg::parse("city", " ", None).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["kind", "name"]);
        let err = NewOrg::parse("community", "和平社区", None).unwrap_err();
        assert_eq!(err.0[0].field, "parent_id");
        let ok = NewOrg::parse("community", " 和平社区 ", Some("p".into())).unwrap();
        assert_eq!(
            (ok.kind, ok.name.as_str()),
            (OrgKind::Community, "和平社区")
        );
    }
}
