//! The five colours (五色图), the groups cared for, and how personal data is shown: pure.

/// Most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Colour {
    Red,
    Orange,
    Yellow,
    Blue,
    Green,
}

impl Colour {
    pub const ALL: [Colour; 5] = [
        Self::Red,
        Self::Orange,
        Self::Yellow,
        Self::Blue,
        Self::Green,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Orange => "orange",
            Self::Yellow => "yellow",
            Self::Blue => "blue",
            Self::Green => "green",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Days between visits unless the record says otherwise.
    pub fn default_visit_days(self) -> i64 {
        match self {
            Self::Red => 7,
            Self::Orange => 14,
            Self::Yellow => 30,
            Self::Blue => 60,
            Self::Green => 90,
        }
    }
}

pub const GROUPS: [&str; 6] = [
    "living_alone_elderly",
    "disabled",
    "disabled_elderly",
    "hardship",
    "left_behind_child",
    "other",
];

/// `138****1111`: the first three and last four digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `140***********1234`: the first three and last four characters, the rest starred.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// `张*` / `欧阳**`: the family name's first character, the rest starred.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_staff_need_to_recognise_a_record() {
        assert_eq!(mask_phone("13800001111"), "138****1111");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_id_number("140202195001011234"), "140***********1234");
        assert_eq!(mask_id_number("123"), "***");
        assert_eq!(mask_name("张秀英"), "张**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn colours_round_trip_and_visit_more_often_the_more_urgent() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.as_str()), Some(c));
        }
        let days: Vec<i64> = Colour::ALL.iter().map(|c| c.default_visit_days()).collect();
        assert_eq!(days, [7, 14, 30, 60, 90]);
        assert_eq!(Colour::parse("purple"), None);
    }
}
