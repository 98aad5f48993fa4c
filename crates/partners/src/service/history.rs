//! The history rows of the three lists (append-only).

use crate::entity::list_event;
use crate::PartnerError;
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

pub(crate) struct Change<'a> {
    pub list: &'static str,
    pub item_id: &'a str,
    pub action: &'static str,
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub note: &'a str,
}

pub(crate) async fn record(
    conn: &impl ConnectionTrait,
    change: Change<'_>,
    actor_id: &str,
    now: DateTime<Utc>,
) -> Result<(), PartnerError> {
    list_event::Entity::insert(list_event::ActiveModel {
        id: Set(new_id()),
        list: Set(change.list.to_owned()),
        item_id: Set(change.item_id.to_owned()),
        action: Set(change.action.to_owned()),
        from_status: Set(change.from.map(str::to_owned)),
        to_status: Set(change.to.to_owned()),
        actor_id: Set(actor_id.to_owned()),
        note: Set(change.note.to_owned()),
        at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// An entry's history, oldest first.
pub async fn of(
    conn: &impl ConnectionTrait,
    item_id: &str,
) -> Result<Vec<list_event::Model>, PartnerError> {
    Ok(list_event::Entity::find()
        .filter(list_event::Column::ItemId.eq(item_id))
        .order_by_asc(list_event::Column::Id)
        .all(conn)
        .await?)
}
