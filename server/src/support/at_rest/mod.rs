//! What the database holds of what people write: Fernet tokens instead of text, and a search index of keyed
//! hashes instead of words.
//!
//! [`AtRest`] follows Python's `MultiFernet`: the first key seals, every key opens. A stored value is either
//! a token one of the keys opens or plain text written before encryption was turned on (or with it off);
//! plain text that merely looks like a token stays plain text, since nobody without a key can make one
//! that opens. `parley reencrypt` brings every value under the first key ([`AtRest::is_current`]).

mod blind_index;
mod fernet;

pub use blind_index::{BlindQuery, IndexedText, PUBLIC_SEARCH_KEY, SearchKey, UserIndexKey};
pub use fernet::{FernetKey, looks_like_token};

use std::sync::{Arc, RwLock};

use super::fifo_cache::FifoCache;

/// The keys that seal and open stored text, and the search key.
#[derive(Clone)]
pub struct AtRest {
    /// Every key that opens, the sealing one first.
    keys: Vec<FernetKey>,
    /// Whether new values are sealed (with `keys[0]`); off, the keys only open what they sealed before.
    sealing: bool,
    search: SearchKey,
    /// Tokens opened before, by token: a token never changes what it opens to. Opening one is a base64
    /// decode, a MAC and AES with three allocations, for every message of every page read; a look-up is a
    /// hash of the token under a read lock that every page's readers share. Plain text held in memory,
    /// like the rendered messages' cache (encryption at rest is about what the database holds).
    opened: Arc<RwLock<FifoCache<String>>>,
}

/// The most memory the opened tokens (keys and texts) take per instance.
const OPENED_CACHE_BYTES: usize = 32 * 1024 * 1024;

impl std::fmt::Debug for AtRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtRest")
            .field("keys", &self.keys.len())
            .field("sealing", &self.sealing)
            .field("search", &self.search)
            .finish_non_exhaustive()
    }
}

impl Default for AtRest {
    /// Plain text, and the public search key: development without keys.
    fn default() -> Self {
        AtRest::new(Vec::new(), false, SearchKey::public())
    }
}

impl AtRest {
    /// `keys` open, the first (if `sealing`) seals.
    pub fn new(keys: Vec<FernetKey>, sealing: bool, search: SearchKey) -> Self {
        let sealing = sealing && !keys.is_empty();
        let opened = Arc::new(RwLock::new(FifoCache::new(OPENED_CACHE_BYTES)));
        AtRest { keys, sealing, search, opened }
    }

    pub fn is_sealing(&self) -> bool {
        self.sealing
    }

    pub fn search_key(&self) -> &SearchKey {
        &self.search
    }

    /// What to store for `text`: a token under the first key, or the text itself when not sealing.
    pub fn seal(&self, text: &str) -> String {
        match self.keys.first() {
            Some(key) if self.sealing => key.encrypt(text.as_bytes()),
            _ => text.to_owned(),
        }
    }

    pub fn seal_opt(&self, text: Option<&str>) -> Option<String> {
        text.map(|text| self.seal(text))
    }

    /// What to store for bytes that need not be text (a chunk of an uploaded file): a token's characters
    /// under the first key, or the bytes themselves when not sealing.
    pub fn seal_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match self.keys.first() {
            Some(key) if self.sealing => key.encrypt(bytes).into_bytes(),
            _ => bytes.to_vec(),
        }
    }

    /// The bytes of a value stored by [`AtRest::seal_bytes`]: a token opened, or the bytes as they are.
    /// Not cached: each chunk is read once.
    pub fn open_bytes(&self, stored: Vec<u8>) -> Vec<u8> {
        let opened = match std::str::from_utf8(&stored) {
            Ok(text) if fernet::may_be_token(text) => self.keys.iter().find_map(|key| key.decrypt(text)),
            _ => None,
        };
        opened.unwrap_or(stored)
    }

    /// The text of a stored value: a token opened by whichever key made it, or plain text as it is.
    pub fn open(&self, stored: String) -> String {
        // The cheap tests first: this runs for every message of every page read.
        if self.keys.is_empty() || !fernet::may_be_token(&stored) {
            return stored;
        }
        if let Some(text) = self.opened.read().ok().and_then(|cache| cache.get(stored.as_str())) {
            return text.to_string();
        }
        match self.keys.iter().find_map(|key| key.decrypt(&stored)) {
            Some(bytes) => {
                let text =
                    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                if let Ok(mut cache) = self.opened.write() {
                    let weight = stored.len() + text.len();
                    cache.insert(stored, Arc::from(text.as_str()), weight);
                }
                text
            }
            None => {
                // Either text someone wrote that happens to look like a token, or a token whose key has been
                // removed too early (before `parley reencrypt` finished). Shown as stored either way; the log
                // tells the operator in the second case.
                if looks_like_token(&stored) {
                    tracing::warn!(
                        "a stored value looks like a Fernet token that none of PARLEY_ENCRYPTION_KEYS opens"
                    );
                }
                stored
            }
        }
    }

    pub fn open_opt(&self, stored: Option<String>) -> Option<String> {
        stored.map(|stored| self.open(stored))
    }

    /// Whether a stored value is as this configuration would write it now: under the first key when sealing,
    /// plain text when not. `parley reencrypt` rewrites the rest.
    pub fn is_current(&self, stored: &str) -> bool {
        match self.keys.first() {
            Some(first) if self.sealing => first.decrypt(stored).is_some(),
            _ => !looks_like_token(stored) || self.keys.iter().all(|key| key.decrypt(stored).is_none()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FernetKey {
        FernetKey::parse(&FernetKey::generate()).unwrap()
    }

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let (old, new) = (key(), key());
        let before = AtRest::new(vec![old.clone()], true, SearchKey::public());
        let sealed_by_old = before.seal("hello");
        assert_ne!(sealed_by_old, "hello");
        let rotated = AtRest::new(vec![new.clone(), old.clone()], true, SearchKey::public());
        assert_eq!(rotated.open(sealed_by_old.clone()), "hello");
        assert!(!rotated.is_current(&sealed_by_old), "a value under the old key is due for rewriting");
        let sealed_by_new = rotated.seal("hello");
        assert!(rotated.is_current(&sealed_by_new));
        assert_eq!(AtRest::new(vec![new], true, SearchKey::public()).open(sealed_by_new), "hello");
    }

    #[test]
    fn an_opened_token_is_remembered_and_opens_the_same() {
        let at_rest = AtRest::new(vec![key()], true, SearchKey::public());
        let sealed = at_rest.seal("remember me");
        assert_eq!(at_rest.open(sealed.clone()), "remember me");
        assert!(at_rest.opened.read().unwrap().get(sealed.as_str()).is_some(), "kept after the first open");
        assert_eq!(at_rest.clone().open(sealed), "remember me", "clones share what was opened");
    }

    #[test]
    fn bytes_are_sealed_and_opened_like_text() {
        let at_rest = AtRest::new(vec![key()], true, SearchKey::public());
        let zip_start = b"PK\x03\x04\xff\x00 not text".to_vec();
        let sealed = at_rest.seal_bytes(&zip_start);
        assert!(looks_like_token(std::str::from_utf8(&sealed).unwrap()));
        assert_eq!(at_rest.open_bytes(sealed), zip_start);
        assert_eq!(at_rest.open_bytes(zip_start.clone()), zip_start, "bytes stored before keys stay as they are");
        assert_eq!(AtRest::default().seal_bytes(&zip_start), zip_start);
    }

    #[test]
    fn plain_text_stays_readable_and_is_due_for_sealing() {
        let at_rest = AtRest::new(vec![key()], true, SearchKey::public());
        assert_eq!(at_rest.open("written before the keys".to_owned()), "written before the keys");
        assert!(!at_rest.is_current("written before the keys"));
        let lookalike = key().encrypt(b"someone else's token");
        assert_eq!(at_rest.open(lookalike.clone()), lookalike, "a token no key opens is shown as written");
    }

    #[test]
    fn with_sealing_off_the_keys_only_open_and_tokens_are_due_for_opening() {
        let k = key();
        let sealed = AtRest::new(vec![k.clone()], true, SearchKey::public()).seal("secret");
        let off = AtRest::new(vec![k], false, SearchKey::public());
        assert_eq!(off.seal("new"), "new");
        assert_eq!(off.open(sealed.clone()), "secret");
        assert!(!off.is_current(&sealed), "turning encryption off rewrites tokens as text");
        assert!(off.is_current("new"));
        assert!(AtRest::default().is_current("anything"));
    }
}
