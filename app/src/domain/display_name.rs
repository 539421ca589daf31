//! Display names: 1 to 80 characters after trimming.

pub const MAX_DISPLAY_NAME_CHARS: usize = 80;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    #[error("Display name cannot be empty.")]
    Empty,
    #[error("Display name must be at most 80 characters.")]
    TooLong,
}

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, DisplayNameError> {
        let name = raw.trim();
        if name.is_empty() {
            Err(DisplayNameError::Empty)
        } else if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            Err(DisplayNameError::TooLong)
        } else {
            Ok(DisplayName(name.to_owned()))
        }
    }

    /// An optional field: blank means "no display name".
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, DisplayNameError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(name) => Self::parse(name).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert_eq!(DisplayName::parse("   "), Err(DisplayNameError::Empty));
        assert!(DisplayName::parse(&"é".repeat(80)).is_ok());
        assert_eq!(DisplayName::parse(&"é".repeat(81)), Err(DisplayNameError::TooLong));
    }

    #[test]
    fn an_optional_blank_name_is_no_name() {
        assert_eq!(DisplayName::parse_optional(None), Ok(None));
        assert_eq!(DisplayName::parse_optional(Some("  ")), Ok(None));
        assert_eq!(DisplayName::parse_optional(Some("Bo")).unwrap().unwrap().as_str(), "Bo");
    }
}
