//! Tables of the shared plumbing (idempotency records, in-app notifications, the
//! WeChat subscribe-message outbox and residents' consents, the audit trail). Forward-only.

use sea_orm_migration::MigrationTrait;

mod m20261128_000050_idempotency;
mod m20261128_000060_notifications;
mod m20261128_000070_wechat_outbox;
mod m20261201_000080_audit;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261128_000050_idempotency::Migration),
        Box::new(m20261128_000060_notifications::Migration),
        Box::new(m20261128_000070_wechat_outbox::Migration),
        Box::new(m20261201_000080_audit::Migration),
    ]
}
