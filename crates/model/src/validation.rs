//! Validation problems, each with the path of the field it concerns, so an API client or the
//! dashboard can show the message next to the field.

use serde::Serialize;
use std::fmt;

/// One problem with one field, e.g. `variants[1].weight`.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    /// Stable snake_case code, e.g. `out_of_range`, `duplicate`, `required`.
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Every problem found, never just the first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(
        &mut self,
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.0.push(FieldError::new(field, code, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(value)` when nothing was found, else every problem.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", error.field, error.message)?;
        }
        Ok(())
    }
}

/// Keys of experiments, variants, stages and metrics: they end up in URLs and store keys, so
/// they are restricted to a safe alphabet. Returns the problem, if any.
pub fn check_key(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return Some("must not be empty");
    }
    if value.len() > 64 {
        return Some("must be at most 64 characters");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !value.chars().all(allowed) {
        return Some("may contain only ASCII letters, digits, '-', '_' and '.'");
    }
    None
}

/// Names that become a URL segment or a file name on their own — experiment and holdout keys,
/// plugin names: a key ([`check_key`]) that starts with a letter or digit, so `.`, `..` and
/// hidden or option-like names (`.x`, `-x`) are refused.
pub fn check_name(value: &str) -> Option<&'static str> {
    check_key(value).or_else(|| {
        (!value.starts_with(|c: char| c.is_ascii_alphanumeric()))
            .then_some("must start with an ASCII letter or digit")
    })
}

#[cfg(test)]
mod name_tests {
    use super::check_name;

    #[test]
    fn names_start_with_a_letter_or_digit() {
        assert_eq!(check_name("checkout-2"), None);
        assert_eq!(check_name("2fa"), None);
        for bad in [".", "..", ".hidden", "-rf", "_x"] {
            assert_eq!(
                check_name(bad),
                Some("must start with an ASCII letter or digit"),
                "{bad}"
            );
        }
        assert_eq!(check_name(""), Some("must not be empty"));
        assert!(check_name("a/b").is_some());
    }
}
