//! The password policy: 8 to 128 characters with at least one lowercase letter, one uppercase letter and one
//! digit. Unicode is allowed; lengths count characters (Unicode scalar values), not bytes.

use std::fmt;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// One rule of the password policy, in the order the checklist shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PasswordRule {
    Length,
    Lowercase,
    Uppercase,
    Digit,
}

impl PasswordRule {
    pub const ALL: [PasswordRule; 4] =
        [PasswordRule::Length, PasswordRule::Lowercase, PasswordRule::Uppercase, PasswordRule::Digit];

    /// What the rule asks for, as the checklist shows it.
    pub fn label(self) -> &'static str {
        match self {
            PasswordRule::Length => "8 to 128 characters",
            PasswordRule::Lowercase => "A lowercase letter",
            PasswordRule::Uppercase => "An uppercase letter",
            PasswordRule::Digit => "A digit",
        }
    }

    /// The sentence shown when a submitted password breaks the rule.
    pub fn violation(self) -> &'static str {
        match self {
            PasswordRule::Length => "Password must be 8 to 128 characters long.",
            PasswordRule::Lowercase => "Password must contain a lowercase letter.",
            PasswordRule::Uppercase => "Password must contain an uppercase letter.",
            PasswordRule::Digit => "Password must contain a digit.",
        }
    }

    pub fn is_met_by(self, candidate: &str) -> bool {
        match self {
            PasswordRule::Length => (MIN_CHARS..=MAX_CHARS).contains(&candidate.chars().count()),
            PasswordRule::Lowercase => candidate.chars().any(char::is_lowercase),
            PasswordRule::Uppercase => candidate.chars().any(char::is_uppercase),
            PasswordRule::Digit => candidate.chars().any(char::is_numeric),
        }
    }
}

/// Every rule with whether `candidate` meets it: the one function behind both the live checklist and the
/// server's check.
pub fn check_password(candidate: &str) -> [(PasswordRule, bool); 4] {
    PasswordRule::ALL.map(|rule| (rule, rule.is_met_by(candidate)))
}

/// A password that satisfies the policy. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the password breaks {} rule(s) of the policy", unmet.len())]
pub struct PasswordError {
    pub unmet: Vec<PasswordRule>,
}

impl PasswordError {
    pub fn messages(&self) -> Vec<String> {
        self.unmet.iter().map(|rule| rule.violation().to_owned()).collect()
    }
}

impl Password {
    pub fn parse(candidate: String) -> Result<Self, PasswordError> {
        let unmet: Vec<PasswordRule> =
            check_password(&candidate).into_iter().filter_map(|(rule, met)| (!met).then_some(rule)).collect();
        if unmet.is_empty() { Ok(Password(candidate)) } else { Err(PasswordError { unmet }) }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PasswordRule::*;

    fn unmet(candidate: &str) -> Vec<PasswordRule> {
        match Password::parse(candidate.to_owned()) {
            Ok(_) => vec![],
            Err(error) => error.unmet,
        }
    }

    #[test]
    fn the_policy_accepts_and_refuses_as_specified() {
        let cases: Vec<(String, Vec<PasswordRule>, &str)> = vec![
            ("Abcdef1".into(), vec![Length], "7 characters is one too few"),
            ("Abcdefg1".into(), vec![], "8 characters is the minimum"),
            (format!("Ab1{}", "x".repeat(125)), vec![], "128 characters is the maximum"),
            (format!("Ab1{}", "x".repeat(126)), vec![Length], "129 characters is one too many"),
            ("ABCDEFG1".into(), vec![Lowercase], "no lowercase letter"),
            ("abcdefg1".into(), vec![Uppercase], "no uppercase letter"),
            ("Abcdefgh".into(), vec![Digit], "no digit"),
            ("".into(), vec![Length, Lowercase, Uppercase, Digit], "empty breaks every rule"),
            ("abc".into(), vec![Length, Uppercase, Digit], "what a person types first"),
            ("Ünïcödé1".into(), vec![], "non-ASCII letters count as letters"),
            ("ÉCOLEÉTÉ9".into(), vec![Lowercase], "non-ASCII uppercase is not lowercase"),
            ("Пароль123".into(), vec![], "Cyrillic letters count"),
            ("密码密码密码Aa1".into(), vec![], "letters without case still count towards length"),
            ("Añ1ñññ".into(), vec![Length], "length counts characters, not bytes (6 chars, 9 bytes)"),
            (format!("Ab1{}", "é".repeat(125)), vec![], "128 two-byte characters are allowed"),
        ];
        for (candidate, expected, why) in cases {
            assert_eq!(unmet(&candidate), expected, "{why}: {candidate:?}");
        }
    }

    #[test]
    fn the_checklist_reports_every_rule_in_order() {
        let checks = check_password("abc");
        assert_eq!(checks, [(Length, false), (Lowercase, true), (Uppercase, false), (Digit, false)]);
    }

    #[test]
    fn debug_output_never_reveals_the_password() {
        let password = Password::parse("Secret123".into()).expect("valid password");
        assert!(!format!("{password:?}").contains("Secret123"));
    }

    #[test]
    fn errors_carry_a_sentence_per_broken_rule() {
        let error = Password::parse("abc".into()).expect_err("weak password");
        assert_eq!(
            error.messages(),
            vec![
                "Password must be 8 to 128 characters long.",
                "Password must contain an uppercase letter.",
                "Password must contain a digit.",
            ]
        );
    }
}
