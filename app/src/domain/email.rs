//! Email addresses: trimmed, lower-cased, at most 254 characters, and shaped like `local@domain.tld`.

use std::fmt;

pub const MAX_EMAIL_CHARS: usize = 254;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("Email must be at most 254 characters.")]
    TooLong,
    #[error("Enter a valid email address, like name@example.com.")]
    Invalid,
}

impl Email {
    /// Normalises (trim, lower-case) and checks the syntax. Deliverability is not checked here.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.chars().count() > MAX_EMAIL_CHARS {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = !local.is_empty()
            && local.chars().count() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().count() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let no_bad_chars = !email.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c));
        if local_ok && labels_ok && no_bad_chars { Ok(Email(email)) } else { Err(EmailError::Invalid) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ada@Example.COM \n").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_refused_with_a_reason() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("plainaddress", EmailError::Invalid),
            ("@example.com", EmailError::Invalid),
            ("ada@", EmailError::Invalid),
            ("ada@localhost", EmailError::Invalid),
            ("ada@exa mple.com", EmailError::Invalid),
            ("ada@@example.com", EmailError::Invalid),
            ("a..b@example.com", EmailError::Invalid),
            ("ada@-example.com", EmailError::Invalid),
            ("<ada>@example.com", EmailError::Invalid),
        ];
        for (raw, expected) in cases {
            assert_eq!(Email::parse(raw), Err(expected), "{raw:?}");
        }
        let too_long =
            format!("{}@{}.com", "a".repeat(64), "b".repeat(63) + "." + &"c".repeat(63) + "." + &"d".repeat(60));
        assert_eq!(Email::parse(&too_long), Err(EmailError::TooLong));
    }

    #[test]
    fn ordinary_addresses_pass() {
        for raw in ["a@b.co", "first.last+tag@sub.example.org", "jürgen@bücher.de", "x_y-z@a-b.io"] {
            assert!(Email::parse(raw).is_ok(), "{raw:?}");
        }
    }
}
