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
