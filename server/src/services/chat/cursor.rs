//! Opaque cursors: a list position (timestamp and id) packed into a URL-safe string.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};

use crate::{db::Position, support::FieldErrors};

/// A page size from a request: 1 to 100, `default` when absent.
pub fn page_limit(limit: Option<u32>, default: u32) -> Result<u32, FieldErrors> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(FieldErrors::from([("limit".to_owned(), vec!["limit must be between 1 and 100.".to_owned()])])),
    }
}

/// A cursor from a request's `field`: `None` when absent or blank, an error when it is not one of ours.
pub fn from_param(raw: Option<&str>, field: &str) -> Result<Option<Position>, FieldErrors> {
    match raw.filter(|c| !c.trim().is_empty()) {
        None => Ok(None),
        Some(raw) => decode(raw)
            .map(Some)
            .ok_or_else(|| FieldErrors::from([(field.to_owned(), vec!["This cursor is not valid.".to_owned()])])),
    }
}

pub fn encode(position: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", position.at.timestamp_micros(), position.id))
}

/// The times a cursor can carry: this server stamps rows with the clock (and imports keep their sources'
/// times), so anything outside years 1 to 9999 was not made here, and PostgreSQL could not compare it.
const EARLIEST_MICROS: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z
const LATEST_MICROS: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z

/// `None` for anything that is not a cursor this server made.
pub fn decode(cursor: &str) -> Option<Position> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?).ok()?;
    let (micros, id) = raw.split_once('|')?;
    let micros: i64 = micros.parse().ok().filter(|m| (EARLIEST_MICROS..=LATEST_MICROS).contains(m))?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros)?;
    Some(Position { at, id: id.parse().ok()? })
}

/// How deep search results can be paged: ranked results are paged by offset, and nobody reads a
/// thousand pages of them.
const MAX_OFFSET: u32 = 10_000;

/// A cursor for ranked results (search), which have no stable sort key to continue from: how many
/// results came before.
pub fn encode_offset(offset: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset|{offset}"))
}

/// The offset in a search cursor from a request's `field`: 0 when absent or blank, an error when it is
/// not one of ours.
pub fn offset_from_param(raw: Option<&str>, field: &str) -> Result<u32, FieldErrors> {
    let Some(raw) = raw.filter(|c| !c.trim().is_empty()) else { return Ok(0) };
    URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("offset|")?.parse::<u32>().ok())
        .filter(|offset| *offset <= MAX_OFFSET)
        .ok_or_else(|| FieldErrors::from([(field.to_owned(), vec!["This cursor is not valid.".to_owned()])]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let position =
            Position { at: DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap(), id: uuid::Uuid::now_v7() };
        assert_eq!(decode(&encode(position)), Some(position));
        for edge in [EARLIEST_MICROS, LATEST_MICROS] {
            let position = Position { at: DateTime::from_timestamp_micros(edge).unwrap(), id: uuid::Uuid::now_v7() };
            assert_eq!(decode(&encode(position)), Some(position));
        }
        let id = uuid::Uuid::now_v7();
        let far_past = URL_SAFE_NO_PAD.encode(format!("-8200000000000000000|{id}"));
        let far_future = URL_SAFE_NO_PAD.encode(format!("{}|{id}", LATEST_MICROS + 1));
        for garbage in [
            "",
            "abc",
            "!!!",
            &URL_SAFE_NO_PAD.encode("12|not-a-uuid"),
            &URL_SAFE_NO_PAD.encode("x|y"),
            &far_past,
            &far_future,
        ] {
            assert_eq!(decode(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn offset_cursors_round_trip_and_others_are_refused() {
        assert_eq!(offset_from_param(Some(&encode_offset(40)), "cursor").unwrap(), 40);
        assert_eq!(offset_from_param(None, "cursor").unwrap(), 0);
        let position = Position { at: DateTime::from_timestamp_micros(1).unwrap(), id: uuid::Uuid::now_v7() };
        for garbage in ["abc", &encode(position), &encode_offset(MAX_OFFSET + 1), &URL_SAFE_NO_PAD.encode("offset|-1")]
        {
            assert!(offset_from_param(Some(garbage), "cursor").is_err(), "{garbage:?}");
        }
    }
}
