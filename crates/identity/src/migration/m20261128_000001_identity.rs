use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
    Kind,
    Name,
    ParentId,
    Path,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Openid,
    Unionid,
    Nickname,
    Phone,
    CommunityId,
    CompoundId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StaffAccounts {
    Table,
    UserId,
    Username,
    PasswordHash,
    CreatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum RoleBindings {
    Table,
    Id,
    UserId,
    Role,
    OrgId,
    MerchantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuthSessions {
    Table,
    Id,
    UserId,
    Method,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    RevokeReason,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    SessionId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

fn id_col<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .string_len(36)
        .not_null()
        .primary_key()
        .to_owned()
}

fn ref_col<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string_len(36).not_null().to_owned()
}

fn ts_col<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Orgs::Table)
                    .col(id_col(Orgs::Id))
                    .col(ColumnDef::new(Orgs::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Orgs::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Orgs::ParentId).string_len(36).null())
                    .col(ColumnDef::new(Orgs::Path).string_len(512).not_null())
                    .col(ts_col(Orgs::CreatedAt))
                    .check(Expr::col(Orgs::Kind).is_in([
                        "district",
                        "street",
                        "community",
                        "compound",
                    ]))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orgs::Table, Orgs::ParentId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_orgs_path")
                    .table(Orgs::Table)
                    .col(Orgs::Path)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Sibling names are unique: two "和平社区" under one street would confuse everyone.
        manager
            .create_index(
                Index::create()
                    .name("ux_orgs_parent_name")
                    .table(Orgs::Table)
                    .col(Orgs::ParentId)
                    .col(Orgs::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(id_col(Users::Id))
                    .col(
                        ColumnDef::new(Users::Openid)
                            .string_len(128)
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Users::Unionid).string_len(128).null())
                    .col(ColumnDef::new(Users::Nickname).string_len(64).null())
                    .col(ColumnDef::new(Users::Phone).string_len(20).null())
                    .col(ColumnDef::new(Users::CommunityId).string_len(36).null())
                    .col(ColumnDef::new(Users::CompoundId).string_len(36).null())
                    .col(ts_col(Users::CreatedAt))
                    .col(ts_col(Users::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::CommunityId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::CompoundId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_users_community")
                    .table(Users::Table)
                    .col(Users::CommunityId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StaffAccounts::Table)
                    .col(id_col(StaffAccounts::UserId))
                    .col(
                        ColumnDef::new(StaffAccounts::Username)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(StaffAccounts::PasswordHash)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ts_col(StaffAccounts::CreatedAt))
                    .col(
                        ColumnDef::new(StaffAccounts::DisabledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(StaffAccounts::Table, StaffAccounts::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RoleBindings::Table)
                    .col(id_col(RoleBindings::Id))
                    .col(ref_col(RoleBindings::UserId))
                    .col(ColumnDef::new(RoleBindings::Role).string_len(32).not_null())
                    .col(ColumnDef::new(RoleBindings::OrgId).string_len(36).null())
                    .col(ColumnDef::new(RoleBindings::MerchantId).string_len(36).null())
                    .col(ts_col(RoleBindings::CreatedAt))
                    .check(Expr::col(RoleBindings::Role).is_in([
                        "merchant_staff",
                        "community_staff",
                        "street_staff",
                        "district_admin",
                    ]))
                    // Exactly one scope: an org for staff roles, a merchant for merchant staff.
                    .check(Expr::cust(
                        "(role = 'merchant_staff' AND merchant_id IS NOT NULL AND org_id IS NULL) OR \
                         (role <> 'merchant_staff' AND org_id IS NOT NULL AND merchant_id IS NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RoleBindings::Table, RoleBindings::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RoleBindings::Table, RoleBindings::OrgId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_role_bindings_user")
                    .table(RoleBindings::Table)
                    .col(RoleBindings::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuthSessions::Table)
                    .col(id_col(AuthSessions::Id))
                    .col(ref_col(AuthSessions::UserId))
                    .col(
                        ColumnDef::new(AuthSessions::Method)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ts_col(AuthSessions::CreatedAt))
                    .col(ts_col(AuthSessions::ExpiresAt))
                    .col(
                        ColumnDef::new(AuthSessions::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AuthSessions::RevokeReason)
                            .string_len(32)
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuthSessions::Table, AuthSessions::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_auth_sessions_user")
                    .table(AuthSessions::Table)
                    .col(AuthSessions::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(id_col(RefreshTokens::Id))
                    .col(ref_col(RefreshTokens::SessionId))
                    .col(
                        ColumnDef::new(RefreshTokens::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ts_col(RefreshTokens::CreatedAt))
                    .col(ts_col(RefreshTokens::ExpiresAt))
                    .col(
                        ColumnDef::new(RefreshTokens::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::SessionId)
                            .to(AuthSessions::Table, AuthSessions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_session")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::SessionId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
