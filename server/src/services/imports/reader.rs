//! Reading an uploaded export from its spooled file, one conversation at a time, in bounded memory: the
//! file is never parsed whole. A JSON export is a list of conversations, or (Parley's) an object whose
//! `conversations` member is one; a ChatGPT zip holds `conversations.json` or split files
//! `conversations-000.json`, `conversations-001.json`, … read in order. Blocking: run it on a blocking thread.

use std::{
    fmt,
    fs::File,
    io::{BufReader, Read, Seek},
    path::Path,
};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Why a file cannot be imported: said to the person as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Limits on what a zip may expand to.
#[derive(Clone, Copy, Debug)]
pub struct ZipLimits {
    /// The most bytes all the conversation files together may hold once expanded.
    pub max_expanded_bytes: u64,
    /// The most a file may expand to per byte it takes in the zip (zip bombs expand a thousandfold).
    pub max_ratio: u64,
}

/// What the callback wants next: more, or to end the reading early (its own reason kept aside).
pub enum Flow {
    Continue,
    Stop,
}

/// Calls `each` with every conversation object in the file at `path`, in order.
pub fn for_each_conversation(
    path: &Path,
    limits: ZipLimits,
    each: &mut dyn FnMut(Value) -> Flow,
) -> Result<(), Unreadable> {
    let mut file = File::open(path).map_err(|e| Unreadable(format!("the upload could not be read back: {e}")))?;
    let mut magic = [0u8; 4];
    let read = file.read(&mut magic).map_err(|e| Unreadable(format!("the upload could not be read back: {e}")))?;
    file.rewind().map_err(|e| Unreadable(format!("the upload could not be read back: {e}")))?;
    if read == 0 {
        return Err(Unreadable("the file is empty".to_owned()));
    }
    if magic[..read].starts_with(b"PK") {
        return for_each_in_zip(file, limits, each);
    }
    stream_json(BufReader::with_capacity(256 * 1024, file), "the file", each)
}

fn for_each_in_zip(file: File, limits: ZipLimits, each: &mut dyn FnMut(Value) -> Flow) -> Result<(), Unreadable> {
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| Unreadable(format!("the zip is damaged or truncated ({e})")))?;
    let mut parts: Vec<(String, usize)> = Vec::new();
    let mut expanded: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| Unreadable(format!("the zip is damaged ({e})")))?;
        let name = entry.name().to_owned();
        // Nothing is ever written to disk from the zip, but a name that climbs out of its folder marks a
        // file made to attack extractors: refused whole.
        if entry.enclosed_name().is_none() || name.contains('\\') {
            return Err(Unreadable(format!("the zip holds a file with an unsafe name ({name:?})")));
        }
        let base = name.rsplit('/').next().unwrap_or_default();
        if !is_conversations_file(base) || entry.is_dir() {
            continue;
        }
        let ratio = entry.size() / entry.compressed_size().max(1);
        if entry.size() > 1024 * 1024 && ratio > limits.max_ratio {
            return Err(Unreadable(format!(
                "{name} expands {ratio} times over (at most {} times is accepted): this looks like a zip bomb",
                limits.max_ratio
            )));
        }
        expanded = expanded.saturating_add(entry.size());
        parts.push((name, index));
    }
    if expanded > limits.max_expanded_bytes {
        return Err(Unreadable(format!(
            "the conversations in the zip would expand to {expanded} bytes, more than the {} accepted",
            limits.max_expanded_bytes
        )));
    }
    if parts.is_empty() {
        return Err(Unreadable("the zip holds no conversations.json (nor conversations-000.json, …)".to_owned()));
    }
    parts.sort();
    for (name, index) in parts {
        let entry = archive.by_index(index).map_err(|e| Unreadable(format!("{name} cannot be read ({e})")))?;
        let declared = entry.size();
        // The declared size is what was checked above: reading stops with an error past it.
        let bounded = Bounded { inner: entry, left: declared, name: name.clone() };
        let mut stop = false;
        stream_json(BufReader::with_capacity(256 * 1024, bounded), &name, &mut |item| {
            let flow = each(item);
            stop = matches!(flow, Flow::Stop);
            flow
        })?;
        if stop {
            break;
        }
    }
    Ok(())
}

/// `conversations.json` or a split part `conversations-NNN.json`.
fn is_conversations_file(name: &str) -> bool {
    name == "conversations.json"
        || name
            .strip_prefix("conversations-")
            .and_then(|rest| rest.strip_suffix(".json"))
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// A zip entry's reader that refuses to give more than the entry declared.
struct Bounded<R> {
    inner: R,
    left: u64,
    name: String,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more than declared means the header lied.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!("{} holds more than its declared size", self.name))),
            };
        }
        let room = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Streams one JSON document: each element of a top-level list, or of the `conversations` list of a
/// top-level object, goes to `each` as it is parsed.
fn stream_json(reader: impl Read, what: &str, each: &mut dyn FnMut(Value) -> Flow) -> Result<(), Unreadable> {
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let outcome = Top { each }.deserialize(&mut deserializer).and_then(|()| deserializer.end());
    match outcome {
        Ok(()) => Ok(()),
        Err(error) if error.to_string().starts_with(STOPPED) => Ok(()),
        Err(error) => Err(Unreadable(describe(what, &error))),
    }
}

/// What a JSON error means to a person.
fn describe(what: &str, error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof => {
            format!("{what} ends early: it is truncated (line {}, column {})", error.line(), error.column())
        }
        Category::Syntax => {
            format!("{what} is not valid JSON (line {}, column {}): {error}", error.line(), error.column())
        }
        Category::Io => format!("{what} could not be read: {error}"),
        Category::Data => format!("{what} is not an export Parley can read: {error}"),
    }
}

const STOPPED: &str = "import stopped";
/// Why a file is refused when it is none of the exports.
pub(super) const NOT_AN_EXPORT: &str = "is not an export Parley can read (ChatGPT's conversations.json or zip, Open WebUI's chat export, or Parley's export)";

struct Top<'a> {
    each: &'a mut dyn FnMut(Value) -> Flow,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of conversations, or an object with a `conversations` list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Elements { each: self.each }.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "conversations" && !found {
                found = true;
                map.next_value_seed(Elements { each: &mut *self.each })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if found { Ok(()) } else { Err(de::Error::custom(format!("it {NOT_AN_EXPORT}"))) }
    }
}

struct Elements<'a> {
    each: &'a mut dyn FnMut(Value) -> Flow,
}

impl<'de> DeserializeSeed<'de> for Elements<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Value>()? {
            if let Flow::Stop = (self.each)(item) {
                return Err(de::Error::custom(STOPPED));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const LIMITS: ZipLimits = ZipLimits { max_expanded_bytes: 1 << 30, max_ratio: 100 };

    fn collect(bytes: &[u8]) -> Result<Vec<Value>, Unreadable> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        let mut items = Vec::new();
        for_each_conversation(file.path(), LIMITS, &mut |item| {
            items.push(item);
            Flow::Continue
        })?;
        Ok(items)
    }

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, bytes) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn lists_and_the_conversations_member_stream_their_elements() {
        assert_eq!(collect(br#"[{"a":1},{"a":2}]"#).unwrap().len(), 2);
        let parley = br#"{"user":{"id":"x"},"conversations":[{"id":"c"}],"tasks":[{"t":1}]}"#;
        assert_eq!(collect(parley).unwrap(), [serde_json::json!({"id": "c"})]);
        assert!(collect(b"[]").unwrap().is_empty());
    }

    #[test]
    fn bad_json_is_named_plainly() {
        let truncated = collect(br#"[{"a":1},{"a":"#).unwrap_err().0;
        assert!(truncated.contains("truncated"), "{truncated}");
        let other = collect(br#"{"hello":"world"}"#).unwrap_err().0;
        assert!(other.contains("not an export Parley can read"), "{other}");
        let garbage = collect(b"hello").unwrap_err().0;
        assert!(garbage.contains("not valid JSON"), "{garbage}");
        assert_eq!(collect(b"").unwrap_err().0, "the file is empty");
        assert!(collect(br#"[{"a":1}] trailing"#).is_err());
    }

    #[test]
    fn a_zip_gives_its_split_conversation_files_in_order() {
        let zip = zip_of(&[
            ("conversations-001.json", br#"[{"n":2}]"#),
            ("chat.html", b"<html>"),
            ("conversations-000.json", br#"[{"n":1}]"#),
        ]);
        let items = collect(&zip).unwrap();
        assert_eq!(items, [serde_json::json!({"n": 1}), serde_json::json!({"n": 2})]);
        let none = collect(&zip_of(&[("user.json", b"{}")])).unwrap_err().0;
        assert!(none.contains("no conversations.json"), "{none}");
        let cut = collect(&zip[..zip.len() - 30]).unwrap_err().0;
        assert!(cut.contains("damaged or truncated"), "{cut}");
        let climbing = collect(&zip_of(&[("../../etc/conversations.json", b"[]")])).unwrap_err().0;
        assert!(climbing.contains("unsafe name"), "{climbing}");
    }

    #[test]
    fn a_zip_bomb_is_refused_before_it_expands() {
        let zeros = vec![b' '; 8 * 1024 * 1024];
        let mut json = b"[".to_vec();
        json.extend_from_slice(&zeros);
        json.push(b']');
        let bomb = zip_of(&[("conversations.json", &json)]);
        let refused = collect(&bomb).unwrap_err().0;
        assert!(refused.contains("zip bomb"), "{refused}");
        let small = ZipLimits { max_expanded_bytes: 5, max_ratio: 100 };
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&zip_of(&[("conversations.json", br#"[{"n":1}]"#)])).unwrap();
        let too_big = for_each_conversation(file.path(), small, &mut |_| Flow::Continue).unwrap_err().0;
        assert!(too_big.contains("more than the 5 accepted"), "{too_big}");
    }

    #[test]
    fn the_reader_stops_when_asked() {
        let mut seen = 0;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(br#"[{"a":1},{"a":2},{"a":3}]"#).unwrap();
        for_each_conversation(file.path(), LIMITS, &mut |_| {
            seen += 1;
            if seen == 2 { Flow::Stop } else { Flow::Continue }
        })
        .unwrap();
        assert_eq!(seen, 2);
    }
}
