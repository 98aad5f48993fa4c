//! The demo district: 平城区 with its 12 streets and 31 communities, a few compounds, and the
//! staff logins `admin`, `street` and `community` (password `linli-demo`). Idempotent: run at
//! every start with `demo.seed = true`; existing rows are left alone. Each capability adds its
//! own demo data here.

use identity::entity::org;
use identity::service::orgs::{find_child_by_name, insert_org};
use identity::service::staff::{add_staff_account, username_exists, NewStaff};
use identity::{IdentityError, OrgKind};
use platform::Clock;
use sea_orm::DatabaseConnection;

pub const DEMO_PASSWORD: &str = "linli-demo";
pub const DISTRICT: &str = "平城区";

/// Streets and their communities. The first six streets are those named in the district's
/// own account; 泰园社区 belongs to 武定街道.
const STREETS: [(&str, &[&str]); 12] = [
    ("新华街道", &["新华社区", "和平社区", "友谊社区"]),
    ("开源街道", &["开源社区", "红旗社区", "振华社区"]),
    ("水泊寺街道", &["水泊寺社区", "曹夫楼社区", "魏都社区"]),
    ("迎宾街道", &["迎宾社区", "文瀛湖社区", "御东社区"]),
    ("马军营街道", &["马军营社区", "古城社区", "恒安社区"]),
    ("武定街道", &["泰园社区", "武定社区", "永泰社区"]),
    ("南关街道", &["南关社区", "永和社区"]),
    ("北关街道", &["北关社区", "操场城社区", "兴云社区"]),
    ("新建南路街道", &["富康社区", "康乐社区"]),
    ("新建北路街道", &["平城社区", "安居社区"]),
    ("向阳里街道", &["向阳里社区", "阳和社区"]),
    ("老平旺街道", &["老平旺社区", "平旺东社区"]),
];

const COMPOUNDS: [(&str, &[&str]); 2] = [
    ("新华社区", &["阳光小区", "御河花园"]),
    ("泰园社区", &["泰园小区"]),
];

/// The orgs later seeds hang their data on.
pub struct DemoOrgs {
    pub district: org::Model,
    pub streets: Vec<org::Model>,
    pub communities: Vec<org::Model>,
}

/// Demo budgets: the treasury funds 新华街道, which funds its first community.
const STREET_BUDGET: i64 = 100_000;
const COMMUNITY_BUDGET: i64 = 20_000;

/// Seeds the demo district once; `sealer` seals the demo workers' phones under the
/// server's own `care.encryption_key`.
pub async fn run(
    db: &DatabaseConnection,
    clock: &Clock,
    sealer: &care::sealed::Sealer,
) -> anyhow::Result<DemoOrgs> {
    let orgs = seed_people(db, clock).await?;
    seed_budgets(db, clock, &orgs).await?;
    seed_merchants(db, clock, &orgs).await?;
    seed_demand_categories(db, clock).await?;
    seed_demands(db, clock, &orgs).await?;
    seed_activities(db, clock, &orgs).await?;
    seed_parking(db, clock, &orgs).await?;
    crate::seed_partners::run(db, clock, &orgs).await?;
    crate::seed_partners::care(db, clock).await?;
    crate::seed_partners::home_services(db, clock, sealer).await?;
    Ok(orgs)
}

/// Demo parking: a public unit's car park of 新华街道 opened to residents at night and at
/// weekends, and a community lot open all day. 607 slots in all, as in the district.
async fn seed_parking(
    db: &DatabaseConnection,
    clock: &Clock,
    orgs: &DemoOrgs,
) -> anyhow::Result<()> {
    use parking::open_hours::Window;
    use parking::service::lots::{create, list, LotInput};
    if !list(db, None).await?.is_empty() {
        return Ok(());
    }
    let admin = staff_actor(db, "admin").await?;
    let every_day = vec![1, 2, 3, 4, 5, 6, 7];
    let lots = [
        (
            "区政务中心停车场（夜间及周末开放）",
            &orgs.streets[0],
            "新华街18号",
            480,
            4,
            vec![
                Window {
                    days: vec![1, 2, 3, 4, 5],
                    from: "18:00".into(),
                    to: "08:00".into(),
                },
                Window {
                    days: vec![6, 7],
                    from: "00:00".into(),
                    to: "24:00".into(),
                },
            ],
        ),
        (
            "新华社区共享车位",
            &orgs.communities[0],
            "新华社区3号楼北侧",
            127,
            6,
            vec![Window {
                days: every_day,
                from: "00:00".into(),
                to: "24:00".into(),
            }],
        ),
    ];
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    for (name, org, address, slots, points_per_hour, open_hours) in lots {
        create(
            &txn,
            &admin,
            LotInput {
                partner_id: None,
                name: name.to_owned(),
                org_id: org.id.clone(),
                address: address.to_owned(),
                slot_count: slots,
                points_per_hour,
                billing_unit_minutes: Some(30),
                open_hours,
                max_booking_hours: 14,
                entry_grace_minutes: Some(15),
            },
            clock.now(),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Two upcoming activities of 新华社区: volunteering that earns time credits and points, and
/// a night-school class.
async fn seed_activities(
    db: &DatabaseConnection,
    clock: &Clock,
    orgs: &DemoOrgs,
) -> anyhow::Result<()> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use timebank::service::activities::{create, ActivityInput};
    let community = &orgs.communities[0];
    let existing = timebank::entity::activity::Entity::find()
        .filter(timebank::entity::activity::Column::OrgId.eq(community.id.as_str()))
        .count(db)
        .await?;
    if existing > 0 {
        return Ok(());
    }
    let staff = staff_actor(db, "community").await?;
    let now = clock.now();
    // Tomorrow 09:00 and in three days 19:00, Beijing time.
    let midnight_beijing = platform::clock::local_day_start(now);
    let plans = [
        (
            "周末敬老院志愿服务",
            "volunteer",
            "陪老人聊天、打扫房间",
            "平城区敬老院",
            chrono::Duration::hours(33),
            chrono::Duration::hours(2),
            20,
            10,
            true,
        ),
        (
            "夜校：智能手机入门",
            "night_school",
            "教老人用手机挂号、视频通话",
            "新华社区活动室",
            chrono::Duration::hours(91),
            chrono::Duration::minutes(90),
            30,
            0,
            false,
        ),
    ];
    for (
        title,
        kind,
        description,
        location,
        from_midnight,
        length,
        capacity,
        points_per_hour,
        time_credits,
    ) in plans
    {
        let starts_at = midnight_beijing + from_midnight;
        create(
            db,
            &staff,
            ActivityInput {
                partner_id: None,
                title: title.to_owned(),
                kind: kind.to_owned(),
                org_id: community.id.clone(),
                description: description.to_owned(),
                location: location.to_owned(),
                starts_at,
                ends_at: starts_at + length,
                capacity,
                points_per_hour,
                time_credits,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// A resident of 新华社区 (`dev-wangnainai`, 王奶奶) with demands at each stage, so the
/// staff queue and the mini-program have something to show.
async fn seed_demands(
    db: &DatabaseConnection,
    clock: &Clock,
    orgs: &DemoOrgs,
) -> anyhow::Result<()> {
    use demands::service::actions::{act, Command};
    use demands::service::demands::{list_own, submit, SubmitInput};
    use demands::ActorKind;
    let now = clock.now();
    let user =
        identity::service::users::find_or_create_resident(db, "fake-wangnainai", None, now).await?;
    let resident = identity::service::auth::load_actor(db, &user.id, "seed")
        .await?
        .ok_or_else(|| anyhow::anyhow!("seeded resident vanished"))?;
    if !list_own(db, &resident, 1, None).await?.0.is_empty() {
        return Ok(());
    }
    let staff = staff_actor(db, "community").await?;
    let categories = demands::service::categories::list(db, false).await?;
    let category = |name: &str| {
        categories
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.id.clone())
            .unwrap_or_default()
    };
    let community = &orgs.communities[0];
    let stories: [(&str, &str, &str, &[Command]); 4] = [
        (
            "环境卫生",
            "楼下垃圾桶满了没人清",
            "3号楼下的垃圾桶两天没清运了。",
            &[],
        ),
        (
            "物业维修",
            "单元门禁坏了",
            "2单元门禁刷卡没反应，老人进出不方便。",
            &[Command::Accept { handler_id: None }],
        ),
        (
            "一老一小",
            "想给老伴申请助餐",
            "老伴腿脚不便，想了解社区助餐怎么申请。",
            &[Command::Accept { handler_id: None }, Command::Start],
        ),
        (
            "安全隐患",
            "楼道堆放杂物",
            "5号楼楼道堆满纸箱，有消防隐患。",
            &[
                Command::Accept { handler_id: None },
                Command::Resolve {
                    resolution: "已联系住户清理楼道。".to_owned(),
                    photos: Vec::new(),
                },
            ],
        ),
    ];
    for (i, (category_name, title, description, steps)) in stories.iter().enumerate() {
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        let created = submit(
            &txn,
            &resident,
            SubmitInput {
                category_id: category(category_name),
                title: (*title).to_owned(),
                description: (*description).to_owned(),
                community_id: community.id.clone(),
                location: None,
                photos: Vec::new(),
            },
            now,
        )
        .await?;
        for step in steps.iter() {
            act(
                &txn,
                &staff,
                ActorKind::Staff,
                &created.id,
                step.clone(),
                now,
            )
            .await?;
        }
        if i == 3 {
            let rating = Command::Rate {
                satisfied: true,
                score: 5,
                comment: Some("处理得很快，谢谢！".to_owned()),
            };
            act(
                &txn,
                &resident,
                ActorKind::Resident,
                &created.id,
                rating,
                now,
            )
            .await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

/// Demand categories with their SLA hours: safety hazards and care for the old and young
/// first, neighbour disputes (which need mediation) last.
pub const DEMAND_CATEGORIES: [(&str, i64); 7] = [
    ("环境卫生", 24),
    ("物业维修", 48),
    ("停车交通", 24),
    ("一老一小", 12),
    ("邻里纠纷", 72),
    ("安全隐患", 6),
    ("其他", 48),
];

async fn seed_demand_categories(db: &DatabaseConnection, clock: &Clock) -> anyhow::Result<()> {
    let existing = demands::service::categories::list(db, true).await?;
    for (name, hours) in DEMAND_CATEGORIES {
        if existing.iter().all(|c| c.name != name) {
            demands::service::categories::create(db, None, name, hours, clock.now()).await?;
        }
    }
    Ok(())
}

/// Demo merchants of 新华社区 with published offers; their owners log in as residents with
/// `dev-<owner>` codes (e.g. `dev-laowang`).
/// (title, description, points price, cash value in fen)
type DemoOffer = (&'static str, &'static str, i64, i64);
/// (owner, merchant name, category, offers)
type DemoMerchant = (
    &'static str,
    &'static str,
    &'static str,
    &'static [DemoOffer],
);

const MERCHANTS: [DemoMerchant; 3] = [
    (
        "laowang",
        "老王理发店",
        "生活服务",
        &[
            ("理发一次", "社区理发，凭码享受一次理发", 200, 2000),
            ("老人剪发", "65岁以上老人剪发", 100, 1500),
        ],
    ),
    (
        "lijie",
        "李姐家政",
        "家政服务",
        &[("两小时保洁", "家庭保洁两小时", 600, 8000)],
    ),
    (
        "zhangshifu",
        "张师傅修鞋配钥匙",
        "便民维修",
        &[
            ("配钥匙一把", "普通钥匙一把", 50, 500),
            ("修鞋", "简单修补", 80, 1000),
        ],
    ),
];

async fn seed_merchants(
    db: &DatabaseConnection,
    clock: &Clock,
    orgs: &DemoOrgs,
) -> anyhow::Result<()> {
    use merchant::offer_rules::OfferInput;
    use merchant::service::{applications, offers};
    use merchant::MerchantAction;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let community = &orgs.communities[0];
    let now = clock.now();
    let reviewer = staff_actor(db, "community").await?;
    for (owner, name, category, offer_list) in MERCHANTS {
        let exists = merchant::entity::merchant::Entity::find()
            .filter(merchant::entity::merchant::Column::Name.eq(name))
            .filter(merchant::entity::merchant::Column::CommunityId.eq(community.id.as_str()))
            .one(db)
            .await?
            .is_some();
        if exists {
            continue;
        }
        let user = identity::service::users::find_or_create_resident(
            db,
            &format!("fake-{owner}"),
            None,
            now,
        )
        .await?;
        let owner_actor = identity::service::auth::load_actor(db, &user.id, "seed")
            .await?
            .ok_or_else(|| anyhow::anyhow!("seeded owner vanished"))?;
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        let application = applications::ApplicationInput {
            name: name.to_owned(),
            category: category.to_owned(),
            license_no: format!("92140202MA0{}", owner.len()),
            address: format!("{}附近", community.name),
            contact_phone: "13800000000".to_owned(),
            community_id: community.id.clone(),
            description: format!("{name}，{}合作商户", community.name),
            partner_type: Some("independent".to_owned()),
            kind: None,
        };
        let created = applications::apply(&txn, &owner_actor, application, now).await?;
        applications::transition(
            &txn,
            &reviewer,
            &created.id,
            MerchantAction::Approve,
            "",
            now,
        )
        .await?;
        let owner_actor = identity::service::auth::load_actor(&txn, &user.id, "seed")
            .await?
            .ok_or_else(|| anyhow::anyhow!("seeded owner vanished"))?;
        for (title, description, points, fen) in offer_list.iter() {
            let offer = offers::create(
                &txn,
                &owner_actor,
                &created.id,
                OfferInput {
                    kind: "service".to_owned(),
                    title: (*title).to_owned(),
                    description: (*description).to_owned(),
                    category: category.to_owned(),
                    points_price: *points,
                    time_credits_price: None,
                    cash_value_fen: *fen,
                    stock: Some(100),
                    per_user_limit: Some(5),
                    valid_from: now,
                    valid_until: now + chrono::Duration::days(365),
                },
                now,
            )
            .await?;
            offers::set_published(&txn, &owner_actor, &created.id, &offer.id, true, now).await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

pub(crate) async fn staff_actor(
    db: &DatabaseConnection,
    username: &str,
) -> anyhow::Result<identity::Actor> {
    use identity::entity::staff_account;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let account = staff_account::Entity::find()
        .filter(staff_account::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo staff {username} missing"))?;
    identity::service::auth::load_actor(db, &account.user_id, "seed")
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo staff {username} missing"))
}

async fn seed_budgets(
    db: &DatabaseConnection,
    clock: &Clock,
    orgs: &DemoOrgs,
) -> anyhow::Result<()> {
    use points_ledger::service::transfers::{transfer, TransferCode, TransferRequest};
    use points_ledger::AccountRef;
    let street = &orgs.streets[0];
    let community = &orgs.communities[0];
    // Fixed idempotency keys make re-seeding at every start a no-op.
    for (key, from, to, amount) in [
        (
            "seed:budget:street",
            AccountRef::treasury(&orgs.district.id),
            AccountRef::org_budget(&street.id),
            STREET_BUDGET,
        ),
        (
            "seed:budget:community",
            AccountRef::org_budget(&street.id),
            AccountRef::org_budget(&community.id),
            COMMUNITY_BUDGET,
        ),
    ] {
        let request = TransferRequest {
            idempotency_key: key.to_owned(),
            from,
            to,
            amount,
            code: TransferCode::Allocation,
            memo: "演示预算".to_owned(),
            reference: None,
        };
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        transfer(
            &txn,
            request,
            points_ledger::ExpiryRule::default(),
            clock.now(),
        )
        .await?;
        txn.commit().await?;
    }
    Ok(())
}

async fn seed_people(db: &DatabaseConnection, clock: &Clock) -> Result<DemoOrgs, IdentityError> {
    let orgs = seed_orgs(db, clock).await?;
    let xinhua = &orgs.streets[0];
    let first_community = &orgs.communities[0];
    for (username, role, org_id) in [
        ("admin", "district_admin", &orgs.district.id),
        ("street", "street_staff", &xinhua.id),
        ("community", "community_staff", &first_community.id),
    ] {
        if !username_exists(db, username).await? {
            let new = NewStaff::parse(username, DEMO_PASSWORD, role, org_id)?;
            add_staff_account(db, new, clock.now()).await?;
        }
    }
    Ok(orgs)
}

async fn ensure_org(
    db: &DatabaseConnection,
    clock: &Clock,
    kind: OrgKind,
    name: &str,
    parent: Option<&org::Model>,
) -> Result<org::Model, IdentityError> {
    match find_child_by_name(db, parent.map(|p| p.id.as_str()), name).await? {
        Some(existing) => Ok(existing),
        None => insert_org(db, kind, name, parent, clock.now()).await,
    }
}

async fn seed_orgs(db: &DatabaseConnection, clock: &Clock) -> Result<DemoOrgs, IdentityError> {
    let district = ensure_org(db, clock, OrgKind::District, DISTRICT, None).await?;
    let mut streets = Vec::new();
    let mut communities = Vec::new();
    for (street_name, community_names) in STREETS {
        let street = ensure_org(db, clock, OrgKind::Street, street_name, Some(&district)).await?;
        for name in community_names {
            let community = ensure_org(db, clock, OrgKind::Community, name, Some(&street)).await?;
            if let Some((_, compounds)) = COMPOUNDS.iter().find(|(c, _)| c == name) {
                for compound in *compounds {
                    ensure_org(db, clock, OrgKind::Compound, compound, Some(&community)).await?;
                }
            }
            communities.push(community);
        }
        streets.push(street);
    }
    Ok(DemoOrgs {
        district,
        streets,
        communities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_district_has_the_published_shape() {
        assert_eq!(STREETS.len(), 12);
        assert_eq!(STREETS.iter().map(|(_, c)| c.len()).sum::<usize>(), 31);
        let wuding = STREETS.iter().find(|(s, _)| *s == "武定街道").unwrap();
        assert!(wuding.1.contains(&"泰园社区"));
    }
}
