//! Mainland China licence plates (GA 36): a province character, a letter for the issuing
//! city, then five characters (ordinary plates, the last may be 挂/学/警/港/澳) or six for
//! new-energy vehicles (D or F first for small cars, last for large ones). I and O are never
//! used as letters, to avoid confusion with 1 and 0.

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
const SPECIAL_LAST: &str = "挂学警港澳";

fn is_letter(c: char) -> bool {
    c.is_ascii_uppercase() && c != 'I' && c != 'O'
}

fn is_alnum(c: char) -> bool {
    is_letter(c) || c.is_ascii_digit()
}

/// A valid mainland plate in canonical form; only [`Plate::parse`] makes one, so a use case
/// holding a `Plate` never checks it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plate(String);

impl Plate {
    pub fn parse(raw: &str) -> Option<Self> {
        normalize(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The plate in canonical form (upper case, no spaces or dots), or `None` if it is not a
/// valid mainland plate.
pub fn normalize(raw: &str) -> Option<String> {
    let plate: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '·' && *c != '.' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let chars: Vec<char> = plate.chars().collect();
    let (province, city, rest) = match chars.as_slice() {
        [p, c, rest @ ..] => (*p, *c, rest),
        _ => return None,
    };
    if !PROVINCES.contains(province) || !is_letter(city) {
        return None;
    }
    let valid = match rest.len() {
        // Ordinary: four letters/digits, then one more or a special suffix.
        5 => {
            rest[..4].iter().all(|c| is_alnum(*c))
                && (is_alnum(rest[4]) || SPECIAL_LAST.contains(rest[4]))
        }
        // New energy, small: D/F, a letter or digit, four digits.
        // New energy, large: five digits, then D/F.
        6 => {
            let small = matches!(rest[0], 'D' | 'F')
                && is_alnum(rest[1])
                && rest[2..].iter().all(char::is_ascii_digit);
            let large = rest[..5].iter().all(char::is_ascii_digit) && matches!(rest[5], 'D' | 'F');
            small || large
        }
        _ => false,
    };
    valid.then_some(plate)
}

#[cfg(test)]
mod tests {
    use super::{normalize, Plate};

    #[test]
    fn ordinary_and_new_energy_plates_are_accepted() {
        for (raw, canonical) in [
            ("晋B12345", "晋B12345"),
            ("晋b·12345", "晋B12345"),
            ("晋 B A123Z", "晋BA123Z"),
            ("京AD12345", "京AD12345"),
            ("粤B12345F", "粤B12345F"),
            ("沪AF1234 5", "沪AF12345"),
            ("晋B1234学", "晋B1234学"),
        ] {
            assert_eq!(normalize(raw).as_deref(), Some(canonical), "{raw}");
        }
    }

    #[test]
    fn malformed_plates_are_refused() {
        for raw in [
            "",
            "晋",
            "晋B1234",
            "晋B1234567",
            "AB12345",
            "晋I12345",
            "晋BO1234",
            "晋BX12345",
            "X晋12345",
            "晋B1234挂1",
            "台B12345",
        ] {
            assert_eq!(normalize(raw), None, "{raw}");
        }
    }

    #[test]
    fn a_plate_is_held_in_canonical_form_or_not_at_all() {
        assert_eq!(
            Plate::parse("晋b·12345").map(|p| p.as_str().to_owned()),
            Some("晋B12345".to_owned())
        );
        assert_eq!(Plate::parse("晋I12345"), None);
    }
}
