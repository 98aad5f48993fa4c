use serde::Serialize;

/// One problem with one input field, as shown to API clients in `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Field-level validation failures collected while parsing a request into domain types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was collected, so parsers can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), Self> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// The trimmed value; records an error unless it has `min..=max` characters and no control
/// characters other than newlines.
pub fn text_field(
    errors: &mut ValidationErrors,
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> String {
    let value = value.trim().to_owned();
    let len = value.chars().count();
    if len < min || len > max {
        errors.add(field, format!("must be {min} to {max} characters"));
    } else if value.chars().any(|c| c.is_control() && c != '\n') {
        errors.add(field, "must not contain control characters");
    }
    value
}

/// The trimmed value of a name shown to others (an org, lot, category, merchant, nickname);
/// records an error unless it has `1..=max` characters on one line, with no control
/// characters and no invisible formatting characters (bidirectional overrides, zero-width
/// marks) that could make one name look like another.
pub fn name_field(errors: &mut ValidationErrors, field: &str, value: &str, max: usize) -> String {
    let value = value.trim().to_owned();
    let len = value.chars().count();
    if len == 0 || len > max {
        errors.add(field, format!("must be 1 to {max} characters"));
    } else if value
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        errors.add(
            field,
            "must be one line without control or invisible formatting characters",
        );
    }
    value
}

/// Unicode format characters (category Cf) that change how text around them is shown.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The first control character in `value` that free text may not carry: anything but a
/// newline, carriage return or tab. Used at the HTTP boundary for every string input.
pub fn has_forbidden_control(value: &str) -> bool {
    value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_clean_line() {
        for bad in [
            "",
            "   ",
            "a\nb",
            "a\u{0}b",
            "a\u{7f}",
            "x\u{202E}gpj.exe",
            "\u{200B}",
        ] {
            let mut errors = ValidationErrors::new();
            name_field(&mut errors, "name", bad, 10);
            assert!(!errors.is_empty(), "{bad:?} was accepted");
        }
        let mut errors = ValidationErrors::new();
        assert_eq!(
            name_field(&mut errors, "name", " 新华社区 <b> ", 10),
            "新华社区 <b>"
        );
        assert!(errors.is_empty());
        name_field(&mut errors, "name", "一二三四五六七八九十一", 10);
        assert_eq!(errors.0[0].field, "name");
    }

    #[test]
    fn free_text_keeps_line_breaks_and_tabs_only() {
        assert!(!has_forbidden_control("第一行\r\n第二行\t缩进"));
        assert!(has_forbidden_control("a\u{0}"));
        assert!(has_forbidden_control("a\u{1b}[31m"));
        assert!(has_forbidden_control("a\u{85}"));
    }
}
