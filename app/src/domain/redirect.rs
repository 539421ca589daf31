//! Where to send someone after they log in.

/// Where people land after logging in when no (acceptable) `next` was given.
pub const HOME_AFTER_LOGIN: &str = "/chat";

/// `next` when it is a path on this site, otherwise the chat home. Anything that a browser could read as
/// another origin (`//evil.example`, `/\evil.example`, `https://…`, control characters) is refused, so the
/// login page cannot be used as an open redirect.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(next) = next.map(str::trim).filter(|n| !n.is_empty()) else {
        return HOME_AFTER_LOGIN.to_owned();
    };
    let relative = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if relative { next.to_owned() } else { HOME_AFTER_LOGIN.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed() {
        let cases = [
            (None, "/chat"),
            (Some(""), "/chat"),
            (Some("/account"), "/account"),
            (Some("/chat/123?x=1"), "/chat/123?x=1"),
            (Some("https://evil.example/"), "/chat"),
            (Some("//evil.example"), "/chat"),
            (Some("/\\evil.example"), "/chat"),
            (Some("javascript:alert(1)"), "/chat"),
            (Some("chat"), "/chat"),
            (Some("/\tevil"), "/chat"),
        ];
        for (next, expected) in cases {
            assert_eq!(safe_next(next), expected, "{next:?}");
        }
    }
}

/// Percent-encodes a value for a query string (everything but RFC 3986's unreserved characters and `/`).
pub fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod encoding_tests {
    use super::encode_query_value;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("/chat/1?x=a b&y=é"), "/chat/1%3Fx%3Da%20b%26y%3D%C3%A9");
    }
}
