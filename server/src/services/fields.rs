//! Field rules that several services share, each returning the field's messages as the forms and the API
//! show them.

use crate::support::FieldErrors;

/// The longest title a conversation or a task may have.
pub const MAX_TITLE_CHARS: usize = 200;

/// A title: 1 to 200 characters after trimming, stored trimmed.
pub fn title(raw: &str) -> Result<String, FieldErrors> {
    let title = raw.trim();
    let problem = if title.is_empty() {
        "Title cannot be empty."
    } else if title.chars().count() > MAX_TITLE_CHARS {
        "Title must be at most 200 characters."
    } else {
        return Ok(title.to_owned());
    };
    Err(FieldErrors::from([("title".to_owned(), vec![problem.to_owned()])]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_trimmed_and_bounded() {
        assert_eq!(title("  Plans ").unwrap(), "Plans");
        assert!(title("   ").unwrap_err().contains_key("title"));
        assert!(title(&"é".repeat(200)).is_ok());
        assert!(title(&"é".repeat(201)).is_err());
    }
}
