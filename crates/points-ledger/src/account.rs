use crate::Asset;
use serde::{Deserialize, Serialize};

/// The kinds of account. Only the issuers may go negative; every other account obeys
/// "debits must not exceed credits" (`balance - held >= 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// The district treasury: the only source of points. Owner: the district org.
    Treasury,
    /// A street's or community's points budget. Owner: the org.
    OrgBudget,
    /// A resident's wallet. Owner: the user.
    Wallet,
    /// A merchant or partner receiving redeemed points. Owner: the merchant.
    Merchant,
    /// A parking lot operator receiving parking points. Owner: the lot's operator.
    ParkingOperator,
    /// The source of time credits (service hours are created, not moved). Owner: `system`.
    TimebankIssuance,
    /// Where expired points go. Owner: `system`.
    ExpirySink,
    /// Manual corrections. Owner: `system`.
    Adjustments,
}

impl AccountKind {
    pub const ALL: [AccountKind; 8] = [
        Self::Treasury,
        Self::OrgBudget,
        Self::Wallet,
        Self::Merchant,
        Self::ParkingOperator,
        Self::TimebankIssuance,
        Self::ExpirySink,
        Self::Adjustments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Treasury => "treasury",
            Self::OrgBudget => "org_budget",
            Self::Wallet => "wallet",
            Self::Merchant => "merchant",
            Self::ParkingOperator => "parking_operator",
            Self::TimebankIssuance => "timebank_issuance",
            Self::ExpirySink => "expiry_sink",
            Self::Adjustments => "adjustments",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Whether an account of this kind may hold a negative balance for `asset`.
    pub fn may_go_negative(self, asset: Asset) -> bool {
        matches!(
            (self, asset),
            (Self::Treasury, Asset::Points) | (Self::TimebankIssuance, Asset::TimeCredits)
        )
    }

    /// Whether credits to this account form expiry lots (residents' points only).
    pub fn tracks_lots(self, asset: Asset) -> bool {
        self == Self::Wallet && asset.expires()
    }
}

/// Names an account by what it is, not by its row id: the ledger creates it on first use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountRef {
    pub asset: Asset,
    pub kind: AccountKind,
    pub owner_id: String,
}

/// The owner id of system accounts (issuance, expiry sink, adjustments).
pub const SYSTEM_OWNER: &str = "system";

impl AccountRef {
    pub fn new(asset: Asset, kind: AccountKind, owner_id: impl Into<String>) -> Self {
        Self {
            asset,
            kind,
            owner_id: owner_id.into(),
        }
    }

    pub fn wallet(asset: Asset, user_id: &str) -> Self {
        Self::new(asset, AccountKind::Wallet, user_id)
    }

    pub fn treasury(district_id: &str) -> Self {
        Self::new(Asset::Points, AccountKind::Treasury, district_id)
    }

    pub fn org_budget(org_id: &str) -> Self {
        Self::new(Asset::Points, AccountKind::OrgBudget, org_id)
    }

    /// The points a merchant or partner has received (from redemptions) and can spend.
    pub fn merchant(merchant_id: &str) -> Self {
        Self::new(Asset::Points, AccountKind::Merchant, merchant_id)
    }

    /// What residents pay for a parking lot's time.
    pub fn parking_operator(lot_id: &str) -> Self {
        Self::new(Asset::Points, AccountKind::ParkingOperator, lot_id)
    }

    pub fn timebank_issuance() -> Self {
        Self::new(
            Asset::TimeCredits,
            AccountKind::TimebankIssuance,
            SYSTEM_OWNER,
        )
    }

    pub fn expiry_sink() -> Self {
        Self::new(Asset::Points, AccountKind::ExpirySink, SYSTEM_OWNER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_issuers_go_negative_and_only_point_wallets_track_lots() {
        for kind in AccountKind::ALL {
            assert_eq!(AccountKind::parse(kind.as_str()), Some(kind));
            for asset in Asset::ALL {
                let negative = kind.may_go_negative(asset);
                let expected = (kind == AccountKind::Treasury && asset == Asset::Points)
                    || (kind == AccountKind::TimebankIssuance && asset == Asset::TimeCredits);
                assert_eq!(negative, expected, "{kind:?} {asset:?}");
            }
        }
        assert!(AccountKind::Wallet.tracks_lots(Asset::Points));
        assert!(!AccountKind::Wallet.tracks_lots(Asset::TimeCredits));
        assert!(!AccountKind::Merchant.tracks_lots(Asset::Points));
    }
}
