//! Opaque cursors: a list position (timestamp and id) packed into a URL-safe string.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{DateTime, Utc};

use crate::db::Position;

pub fn encode(position: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", position.at.timestamp_micros(), position.id))
}

/// `None` for anything that is not a cursor this server made.
pub fn decode(cursor: &str) -> Option<Position> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?).ok()?;
    let (micros, id) = raw.split_once('|')?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
    Some(Position { at, id: id.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let position = Position { at: DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap(), id: uuid::Uuid::now_v7() };
        assert_eq!(decode(&encode(position)), Some(position));
        for garbage in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode("12|not-a-uuid"), &URL_SAFE_NO_PAD.encode("x|y")] {
            assert_eq!(decode(garbage), None, "{garbage:?}");
        }
    }
}
