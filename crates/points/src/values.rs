//! Values with rules, checked once when a request is parsed: a use case receiving them
//! never re-checks.

use platform::ValidationErrors;

/// The largest amount one request may move (well above any real budget).
pub const MAX_AMOUNT: i64 = 1_000_000_000;

/// A positive whole number of points or minutes, at most [`MAX_AMOUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    /// `field` names the request field in the error.
    pub fn parse(field: &str, value: Option<i64>) -> Result<Self, ValidationErrors> {
        match value {
            Some(n) if (1..=MAX_AMOUNT).contains(&n) => Ok(Self(n)),
            _ => Err(ValidationErrors::single(
                field,
                format!("must be a whole number from 1 to {MAX_AMOUNT}"),
            )),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A trimmed note of at most 200 characters: a memo (may be empty) or a reason (may not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    pub const MAX_CHARS: usize = 200;

    /// A memo: empty when absent.
    pub fn memo(field: &str, value: Option<&str>) -> Result<Self, ValidationErrors> {
        let text = value.unwrap_or_default().trim();
        if text.chars().count() > Self::MAX_CHARS {
            return Err(ValidationErrors::single(
                field,
                "must be at most 200 characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// A reason: 1 to 200 characters.
    pub fn reason(field: &str, value: &str) -> Result<Self, ValidationErrors> {
        let text = value.trim();
        if text.is_empty() || text.chars().count() > Self::MAX_CHARS {
            return Err(ValidationErrors::single(
                field,
                "must be 1 to 200 characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_positive_whole_numbers_up_to_the_cap() {
        assert_eq!(Quantity::parse("points", Some(10)).unwrap().get(), 10);
        assert_eq!(
            Quantity::parse("points", Some(MAX_AMOUNT)).unwrap().get(),
            MAX_AMOUNT
        );
        for bad in [None, Some(0), Some(-5), Some(MAX_AMOUNT + 1)] {
            let err = Quantity::parse("minutes", bad).unwrap_err();
            assert_eq!(err.0[0].field, "minutes", "{bad:?}");
        }
    }

    #[test]
    fn notes_are_trimmed_and_capped_in_characters() {
        assert_eq!(Note::memo("memo", None).unwrap().as_str(), "");
        assert_eq!(
            Note::memo("memo", Some("  给妈妈 ")).unwrap().as_str(),
            "给妈妈"
        );
        assert!(Note::memo("memo", Some(&"积".repeat(200))).is_ok());
        assert!(Note::memo("memo", Some(&"积".repeat(201))).is_err());
        assert!(Note::reason("reason", "   ").is_err());
        assert_eq!(
            Note::reason("reason", " 清洁 ").unwrap().into_string(),
            "清洁"
        );
    }
}
