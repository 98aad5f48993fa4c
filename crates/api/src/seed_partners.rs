//! Demo partners (社区合伙人) of 新华社区 beside its merchants: one of every other kind, a
//! resource, needs and a problem, a running project with an evaluation, a disclosure, an
//! empowerment record and a community space, so the dashboard's partner figures are not
//! all zero; and a few care recipients. All fictional. Seeded once: skipped when the
//! social organisation (or, for care, any recipient) exists.

use crate::seed::DemoOrgs;
use chrono::{Datelike, Duration};
use identity::Actor;
use merchant::service::applications::{self, ApplicationInput};
use merchant::MerchantAction;
use parking::open_hours::Window;
use partners::project_state::ProjectAction;
use partners::service::{disclosures, empowerment, needs, problems, projects, resources, spaces};
use platform::Clock;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};

/// (owner's fake WeChat name, partner name, kind, category).
const PARTNERS: [(&str, &str, &str, &str); 5] = [
    ("shegong", "新华社区社工服务站", "social_org", "社会服务"),
    (
        "wangshifu",
        "王师傅便民维修",
        "capable_resident",
        "便民维修",
    ),
    ("tushuguan", "平城区图书馆新华分馆", "public_unit", "文化"),
    ("aixin", "爱心助老公益团队", "charity_team", "助老"),
    (
        "zhiyuan",
        "新华社区志愿服务队",
        "volunteer_team",
        "志愿服务",
    ),
];

pub(crate) async fn run(
    db: &DatabaseConnection,
    clock: &Clock,
    orgs: &DemoOrgs,
) -> anyhow::Result<()> {
    let community = &orgs.communities[0];
    let already = merchant::entity::merchant::Entity::find()
        .filter(merchant::entity::merchant::Column::Name.eq(PARTNERS[0].1))
        .one(db)
        .await?;
    if already.is_some() {
        return Ok(());
    }
    let now = clock.now();
    let staff = crate::seed::staff_actor(db, "community").await?;
    let txn = db.begin().await?;
    let mut owners: Vec<(Actor, String)> = Vec::new();
    for (owner, name, kind, category) in PARTNERS {
        let user = identity::service::users::find_or_create_resident(
            &txn,
            &format!("fake-{owner}"),
            None,
            now,
        )
        .await?;
        let applicant = load(&txn, &user.id).await?;
        let created = applications::apply(
            &txn,
            &applicant,
            ApplicationInput {
                name: name.to_owned(),
                category: category.to_owned(),
                license_no: format!("52140202MJ0{}", owner.len()),
                address: format!("{}附近", community.name),
                contact_phone: "13800000000".to_owned(),
                community_id: community.id.clone(),
                description: format!("{name}，{}社区合伙人", community.name),
                partner_type: Some("group".to_owned()),
                kind: Some(kind.to_owned()),
            },
            now,
        )
        .await?;
        applications::transition(&txn, &staff, &created.id, MerchantAction::Approve, "", now)
            .await?;
        owners.push((load(&txn, &user.id).await?, created.id));
    }
    let (social_owner, social_org) = &owners[0];

    resources::offer(
        &txn,
        social_owner,
        social_org,
        resources::NewResource {
            resource_type: "service".to_owned(),
            title: "长者助餐与探访".to_owned(),
            description: "工作日午餐配送，每周探访一次".to_owned(),
            categories: vec!["elderly_care".to_owned()],
            capacity: 30,
            availability: "工作日 11:00–13:00".to_owned(),
        },
        now,
    )
    .await?;
    let (meals, _) = needs::raise(
        &txn,
        &staff,
        needs::NewNeed {
            community_id: community.id.clone(),
            category: "elderly_care".to_owned(),
            title: "独居老人助餐".to_owned(),
            description: "走访发现12户独居老人做饭困难".to_owned(),
            households: Some(12),
            source: "visit".to_owned(),
            demand_ids: Vec::new(),
        },
        now,
    )
    .await?;
    needs::raise(
        &txn,
        &staff,
        needs::NewNeed {
            community_id: community.id.clone(),
            category: "childcare".to_owned(),
            title: "四点半课堂".to_owned(),
            description: "双职工家庭放学后无人看护".to_owned(),
            households: Some(20),
            source: "survey".to_owned(),
            demand_ids: Vec::new(),
        },
        now,
    )
    .await?;
    problems::record(
        &txn,
        &staff,
        problems::NewProblem {
            community_id: community.id.clone(),
            title: "楼道堆物".to_owned(),
            description: "3号楼消防通道有杂物".to_owned(),
            severity: "medium".to_owned(),
        },
        now,
    )
    .await?;

    let today = (now + platform::clock::CHINA_OFFSET).date_naive();
    let project = projects::propose(
        &txn,
        &staff,
        projects::NewProject {
            partner_id: social_org.clone(),
            community_id: community.id.clone(),
            need_ids: vec![meals.id.clone()],
            kind: "elderly_care".to_owned(),
            mechanism: "service_purchase".to_owned(),
            title: "长者助餐点".to_owned(),
            goals: vec![("助餐人次".to_owned(), 400), ("探访户次".to_owned(), 50)],
            starts_on: today - Duration::days(30),
            ends_on: today + Duration::days(335),
            budget_fen: Some(1_200_000),
        },
        now,
    )
    .await?;
    let id = project.project.id;
    projects::accept(&txn, social_owner, social_org, &id, now).await?;
    projects::act(&txn, &staff, &id, ProjectAction::Agree, now).await?;
    projects::act(&txn, &staff, &id, ProjectAction::Start, now).await?;
    let period = format!("{}-{:02}", today.year(), today.month());
    let results = [("助餐人次".to_owned(), 310), ("探访户次".to_owned(), 44)];
    projects::evaluate(
        &txn,
        &staff,
        &id,
        &period,
        &results,
        "运行平稳，老人反馈良好",
        now,
    )
    .await?;
    let quarter = format!("{}-Q{}", today.year(), (today.month() - 1) / 3 + 1);
    disclosures::publish(
        &txn,
        social_owner,
        social_org,
        disclosures::NewDisclosure {
            kind: "finance".to_owned(),
            period: quarter,
            title: "本季度收支公开".to_owned(),
            body: "收入：政府购买服务 30000 元；支出：食材与人工 27600 元".to_owned(),
            amount_fen: Some(2_760_000),
        },
        now,
    )
    .await?;
    empowerment::grant(
        &txn,
        &staff,
        social_org,
        "free_venue",
        "免费使用党群服务中心活动室（每周二）",
        today,
        now,
    )
    .await?;
    spaces::create(
        &txn,
        &staff,
        spaces::NewSpace {
            org_id: community.id.clone(),
            name: "党群服务中心活动室".to_owned(),
            area_m2: 120,
            scenes: vec!["老年活动".to_owned(), "儿童托管".to_owned()],
            open_hours: vec![Window {
                days: vec![1, 2, 3, 4, 5, 6, 7],
                from: "08:00".to_owned(),
                to: "21:00".to_owned(),
            }],
            capacity: 40,
            operator_partner_id: Some(social_org.clone()),
            points_per_hour: 0,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn load(conn: &impl sea_orm::ConnectionTrait, user_id: &str) -> anyhow::Result<Actor> {
    identity::service::auth::load_actor(conn, user_id, "seed")
        .await?
        .ok_or_else(|| anyhow::anyhow!("seeded user {user_id} vanished"))
}

/// Demo care recipients (fictional) in 新华社区's compounds, without phone or ID numbers
/// (so the demo reads the same under any `care.encryption_key`), one visited. Skipped when
/// any is there.
pub(crate) async fn care(db: &DatabaseConnection, clock: &Clock) -> anyhow::Result<()> {
    use care::service::{recipients, visits};
    if care::entity::recipient::Entity::find()
        .one(db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let now = clock.now();
    let staff = crate::seed::staff_actor(db, "community").await?;
    let sealer = care::sealed::Sealer::from_base64(platform::config::DEVELOPMENT_CARE_KEY)?;
    let compounds: Vec<_> = identity::entity::org::Entity::find()
        .filter(identity::entity::org::Column::Kind.eq("compound"))
        .all(db)
        .await?
        .into_iter()
        .filter(|o| staff.can_reach(&o.path))
        .collect();
    let Some(first) = compounds.first() else {
        return Ok(());
    };
    let txn = db.begin().await?;
    let people = [
        ("刘奶奶", "red", "living_alone_elderly", "助餐"),
        ("陈大爷", "orange", "disabled_elderly", "陪诊"),
        ("赵家", "yellow", "hardship", "临时救助"),
    ];
    for (i, (name, colour, group, need)) in people.into_iter().enumerate() {
        let compound = compounds.get(i % compounds.len()).unwrap_or(first);
        let shown = recipients::register(
            &txn,
            &sealer,
            &staff,
            recipients::NewRecipient {
                user_id: None,
                name: name.to_owned(),
                phone: None,
                id_number: None,
                compound_id: compound.id.clone(),
                groups: vec![group.to_owned()],
                colour: colour.to_owned(),
                needs: vec![need.to_owned()],
                visit_every_days: None,
                consent: true,
            },
            now,
        )
        .await?;
        if i == 0 {
            visits::log_visit(
                &txn,
                &staff,
                &shown.record.id,
                now,
                "精神状态良好",
                "well",
                now,
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// The demo home service: 李姐家政 offers a two-hour home cleaning, paid in points or in
/// two hours of time credits, with one worker verified by 新华社区's staff (a fictional
/// phone, sealed under the server's key). Skipped when any worker exists.
pub(crate) async fn home_services(
    db: &DatabaseConnection,
    clock: &Clock,
    sealer: &care::sealed::Sealer,
) -> anyhow::Result<()> {
    use care::service::workers;
    use merchant::offer_rules::OfferInput;
    use merchant::service::offers;
    if care::entity::worker::Entity::find()
        .one(db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let Some(partner) = merchant::entity::merchant::Entity::find()
        .filter(merchant::entity::merchant::Column::Name.eq("李姐家政"))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let now = clock.now();
    let owner = load(db, &partner.applicant_user_id).await?;
    let staff = crate::seed::staff_actor(db, "community").await?;
    let txn = db.begin().await?;
    let offer = offers::create(
        &txn,
        &owner,
        &partner.id,
        OfferInput {
            kind: "home_service".to_owned(),
            title: "上门助洁（两小时）".to_owned(),
            description: "认证家政人员上门保洁两小时，可用积分或志愿时长支付".to_owned(),
            category: partner.category.clone(),
            points_price: 300,
            time_credits_price: Some(120),
            cash_value_fen: 8000,
            stock: None,
            per_user_limit: None,
            valid_from: now,
            valid_until: now + Duration::days(365),
        },
        now,
    )
    .await?;
    offers::set_published(&txn, &owner, &partner.id, &offer.id, true, now).await?;
    let worker = workers::register(
        &txn,
        sealer,
        &owner,
        &partner.id,
        workers::NewWorker {
            name: "李秀兰".to_owned(),
            phone: "13700000001".to_owned(),
            certificate_no: "家政服务员（四级）".to_owned(),
            skills: vec!["保洁".to_owned(), "助老".to_owned()],
        },
        now,
    )
    .await?;
    workers::verify(&txn, sealer, &staff, &worker.worker.id, now).await?;
    txn.commit().await?;
    Ok(())
}
