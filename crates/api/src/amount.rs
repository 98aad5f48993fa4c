//! Amounts in requests (points, minutes): any JSON number is accepted by the parser so that
//! `0`, `-5` or `10.5` get a clear 422 naming the field, rather than a type error.

use platform::ValidationErrors;
use points::values::Quantity;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A JSON number that must turn out to be a positive integer.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = i64)]
pub struct Amount(serde_json::Number);

impl Amount {
    /// The amount as a [`Quantity`]: a whole number from 1 to `points::values::MAX_AMOUNT`.
    pub fn quantity(&self, field: &str) -> Result<Quantity, ValidationErrors> {
        Quantity::parse(field, self.0.as_i64())
    }

    pub fn positive_integer(&self, field: &str) -> Result<i64, ValidationErrors> {
        self.quantity(field).map(Quantity::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<i64, ValidationErrors> {
        serde_json::from_str::<Amount>(json)
            .unwrap()
            .positive_integer("points")
    }

    #[test]
    fn only_positive_whole_numbers_pass() {
        assert_eq!(parse("10").unwrap(), 10);
        for bad in ["0", "-5", "10.5", "1e12", "10000000000"] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.0[0].field, "points", "{bad}");
        }
        assert!(
            serde_json::from_str::<Amount>("\"10\"").is_err(),
            "a string is a type error"
        );
    }
}
