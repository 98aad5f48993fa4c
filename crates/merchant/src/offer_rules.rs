//! What makes an offer (积分服务) valid, as pure checks that name the offending field.

use chrono::{DateTime, Utc};
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;

pub const MAX_TITLE_CHARS: usize = 60;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_CATEGORY_CHARS: usize = 30;
pub const MAX_POINTS_PRICE: i64 = 1_000_000;
pub const MAX_CASH_VALUE_FEN: i64 = 100_000_000;
pub const MAX_STOCK: i64 = 1_000_000;
pub const MAX_PER_USER_LIMIT: i64 = 1_000;
/// Minutes of volunteer service: at most 100 hours for one home service.
pub const MAX_TIME_CREDITS_PRICE: i64 = 6_000;

/// What an offer is: a service reserved and redeemed with a code at the merchant (the
/// default), or a home service (家政) ordered, dispatched to a verified worker and confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferKind {
    Service,
    HomeService,
}

impl OfferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::HomeService => "home_service",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Service, Self::HomeService]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// An offer's editable fields, already trimmed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFields {
    pub kind: OfferKind,
    pub title: String,
    pub description: String,
    pub category: String,
    pub points_price: i64,
    /// Home services may also be paid in minutes of time credits; `None`: points only.
    pub time_credits_price: Option<i64>,
    pub cash_value_fen: i64,
    /// `None`: unlimited.
    pub stock: Option<i64>,
    /// `None`: no limit per resident.
    pub per_user_limit: Option<i64>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

/// The raw input, before checks.
#[derive(Debug, Clone)]
pub struct OfferInput {
    /// `service` or `home_service`.
    pub kind: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub points_price: i64,
    pub time_credits_price: Option<i64>,
    pub cash_value_fen: i64,
    pub stock: Option<i64>,
    pub per_user_limit: Option<i64>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

fn range(errors: &mut ValidationErrors, field: &str, value: i64, min: i64, max: i64) {
    if !(min..=max).contains(&value) {
        errors.add(field, format!("must be a whole number from {min} to {max}"));
    }
}

impl OfferInput {
    pub fn check(self, now: DateTime<Utc>) -> Result<OfferFields, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let kind = OfferKind::parse(&self.kind);
        if kind.is_none() {
            errors.add("kind", "must be service or home_service");
        }
        let title = name_field(&mut errors, "title", &self.title, MAX_TITLE_CHARS);
        let description = text_field(
            &mut errors,
            "description",
            &self.description,
            0,
            MAX_DESCRIPTION_CHARS,
        );
        let category = name_field(&mut errors, "category", &self.category, MAX_CATEGORY_CHARS);
        range(
            &mut errors,
            "points_price",
            self.points_price,
            1,
            MAX_POINTS_PRICE,
        );
        range(
            &mut errors,
            "cash_value_fen",
            self.cash_value_fen,
            0,
            MAX_CASH_VALUE_FEN,
        );
        if let Some(minutes) = self.time_credits_price {
            if kind == Some(OfferKind::Service) {
                errors.add(
                    "time_credits_price",
                    "only home services are paid in time credits",
                );
            } else {
                range(
                    &mut errors,
                    "time_credits_price",
                    minutes,
                    1,
                    MAX_TIME_CREDITS_PRICE,
                );
            }
        }
        if let Some(stock) = self.stock {
            range(&mut errors, "stock", stock, 0, MAX_STOCK);
        }
        if let Some(limit) = self.per_user_limit {
            range(&mut errors, "per_user_limit", limit, 1, MAX_PER_USER_LIMIT);
        }
        if self.valid_until <= self.valid_from {
            errors.add("valid_until", "must be after valid_from");
        } else if self.valid_until <= now {
            errors.add("valid_until", "must be in the future");
        }
        errors.into_result()?;
        Ok(OfferFields {
            kind: kind.unwrap_or(OfferKind::Service),
            title,
            description,
            category,
            points_price: self.points_price,
            time_credits_price: self.time_credits_price,
            cash_value_fen: self.cash_value_fen,
            stock: self.stock,
            per_user_limit: self.per_user_limit,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        })
    }
}

/// Offer states: draft → published ⇄ unpublished. Only drafts and unpublished offers are
/// edited; residents see published ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferStatus {
    Draft,
    Published,
    Unpublished,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Unpublished => "unpublished",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Unpublished]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    pub fn editable(self) -> bool {
        self != Self::Published
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn input(now: DateTime<Utc>) -> OfferInput {
        OfferInput {
            kind: "service".into(),
            title: " 理发一次 ".into(),
            description: "社区理发店，凭码享受一次理发服务 ✂️".into(),
            category: "生活服务".into(),
            points_price: 200,
            time_credits_price: None,
            cash_value_fen: 2000,
            stock: Some(50),
            per_user_limit: Some(2),
            valid_from: now,
            valid_until: now + Duration::days(30),
        }
    }

    fn fields_of(err: ValidationErrors) -> Vec<String> {
        err.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_offer_passes_trimmed() {
        let now = Utc::now();
        let fields = input(now).check(now).unwrap();
        assert_eq!(fields.title, "理发一次");
    }

    #[test]
    fn each_bad_field_is_named() {
        let now = Utc::now();
        let bad = OfferInput {
            title: "长".repeat(10_000),
            points_price: -5,
            cash_value_fen: -1,
            stock: Some(-1),
            per_user_limit: Some(0),
            valid_until: now - Duration::days(1),
            ..input(now)
        };
        assert_eq!(
            fields_of(bad.check(now).unwrap_err()),
            vec![
                "title",
                "points_price",
                "cash_value_fen",
                "stock",
                "per_user_limit",
                "valid_until"
            ]
        );
        let past = OfferInput {
            valid_from: now - Duration::days(10),
            valid_until: now - Duration::days(1),
            ..input(now)
        };
        assert_eq!(fields_of(past.check(now).unwrap_err()), vec!["valid_until"]);
    }

    #[test]
    fn only_home_services_take_a_time_credit_price() {
        let now = Utc::now();
        let service = OfferInput {
            time_credits_price: Some(120),
            ..input(now)
        };
        assert_eq!(
            fields_of(service.check(now).unwrap_err()),
            vec!["time_credits_price"]
        );
        let home = OfferInput {
            kind: "home_service".into(),
            time_credits_price: Some(120),
            ..input(now)
        };
        let fields = home.check(now).unwrap();
        assert_eq!(fields.kind, OfferKind::HomeService);
        assert_eq!(fields.time_credits_price, Some(120));
        let bad = OfferInput {
            kind: "delivery".into(),
            ..input(now)
        };
        assert_eq!(fields_of(bad.check(now).unwrap_err()), vec!["kind"]);
        let too_long = OfferInput {
            kind: "home_service".into(),
            time_credits_price: Some(MAX_TIME_CREDITS_PRICE + 1),
            ..input(now)
        };
        assert_eq!(
            fields_of(too_long.check(now).unwrap_err()),
            vec!["time_credits_price"]
        );
    }
}
