//! The search index without readable words: each folded word of a text is stored as a keyed hash (HMAC-SHA256
//! under a key of its owner, cut to 64 bits and written as 16 letters `a`–`p`), in the order the words
//! came, so the full-text engines still rank, match phrases by position and look words up by their index.
//! A prefix search ("keys" finding "keyset") cannot ask for the beginning of a hash, so every shorter start
//! of each word is indexed too, as hashes of their own (a separate column of the same index).
//!
//! What the index reveals to someone who reads the database without the key: how many words each message
//! has, and which of one user's messages share a word (equal words give equal hashes within one user's
//! history, never across users, whose keys differ). It does not reveal the words, their language or their
//! length, nor whether two users wrote the same thing. Whoever holds `PARLEY_SEARCH_KEY` can test guesses
//! ("is 'divorce' in this user's index?"), which is why it is a secret like the others.

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::support::search_text::{SearchQuery, Term, index_words};

type HmacSha256 = Hmac<Sha256>;

/// The key used when `PARLEY_SEARCH_KEY` is unset (development, or production with encryption off): the
/// index then hides nothing from anyone who reads this source, and is only there so that every deployment
/// runs the same search code.
pub const PUBLIC_SEARCH_KEY: &[u8] = b"parley: public search key, used when PARLEY_SEARCH_KEY is unset";

/// The deployment's search key, from which each user's own key is derived.
#[derive(Clone)]
pub struct SearchKey {
    secret: Zeroizing<Vec<u8>>,
    id: String,
}

impl std::fmt::Debug for SearchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SearchKey({})", self.id)
    }
}

impl SearchKey {
    pub fn new(secret: &[u8]) -> Self {
        // A name for the key that reveals nothing of it, stored beside each indexed row so that a change
        // of key is noticed and the rows indexed under the old one rebuilt (`parley reencrypt`).
        let digest = Sha256::new().chain_update(b"parley search key id\0").chain_update(secret).finalize();
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        SearchKey { secret: Zeroizing::new(secret.to_vec()), id }
    }

    pub fn public() -> Self {
        Self::new(PUBLIC_SEARCH_KEY)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key of one user's index: the same word hashes differently for every user.
    pub fn for_user(&self, user_id: Uuid) -> UserIndexKey {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        mac.update(b"parley search v1\0");
        mac.update(user_id.as_bytes());
        UserIndexKey(Zeroizing::new(mac.finalize().into_bytes().into()))
    }
}

/// One user's index key.
pub struct UserIndexKey(Zeroizing<[u8; 32]>);

/// What separates the two kinds of token, so that a word and a prefix of the same letters never collide.
const WORD: &[u8] = b"w\0";
const PREFIX: &[u8] = b"p\0";

impl UserIndexKey {
    fn token(&self, kind: &[u8], folded: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(self.0.as_ref()).expect("HMAC takes a key of any length");
        mac.update(kind);
        mac.update(folded.as_bytes());
        let digest = mac.finalize().into_bytes();
        // Letters only: both engines' tokenizers take a run of letters as one word and do nothing else to it.
        digest[..8].iter().flat_map(|b| [char::from(b'a' + (b >> 4)), char::from(b'a' + (b & 15))]).collect()
    }

    /// The index of `text`: its words' tokens in order (for ranking and phrases), and the distinct tokens
    /// of every shorter start of each word (for the prefix search), each space-separated.
    pub fn index(&self, text: &str) -> IndexedText {
        let words = index_words(text);
        let mut prefixes = BTreeSet::new();
        for word in &words {
            let ends: Vec<usize> = word.char_indices().map(|(at, _)| at).skip(1).collect();
            for end in ends {
                prefixes.insert(self.token(PREFIX, &word[..end]));
            }
        }
        let words: Vec<String> = words.iter().map(|w| self.token(WORD, w)).collect();
        IndexedText { words: words.join(" "), prefixes: prefixes.into_iter().collect::<Vec<_>>().join(" ") }
    }

    /// The query with each word replaced by its token.
    pub fn query(&self, query: &SearchQuery) -> BlindQuery {
        let terms = query
            .terms
            .iter()
            .map(|term| match term {
                Term::Word { word, prefix: false } => BlindTerm::Word(self.token(WORD, word)),
                Term::Word { word, prefix: true } => {
                    BlindTerm::WordOrLonger { word: self.token(WORD, word), start: self.token(PREFIX, word) }
                }
                Term::Phrase(words) => BlindTerm::Phrase(words.iter().map(|w| self.token(WORD, w)).collect()),
            })
            .collect();
        BlindQuery { terms }
    }
}

/// A text as the index stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedText {
    pub words: String,
    pub prefixes: String,
}

enum BlindTerm {
    Word(String),
    /// The word itself, or a longer word that starts with it.
    WordOrLonger {
        word: String,
        start: String,
    },
    Phrase(Vec<String>),
}

/// A search in tokens: every term must match.
pub struct BlindQuery {
    terms: Vec<BlindTerm>,
}

impl BlindQuery {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// In FTS5's syntax. Tokens are letters only, so quoting them can never be a syntax error.
    pub fn fts5(&self) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|term| match term {
                BlindTerm::Word(token) => format!("\"{token}\""),
                BlindTerm::WordOrLonger { word, start } => format!("(\"{word}\" OR \"{start}\")"),
                BlindTerm::Phrase(tokens) => format!("\"{}\"", tokens.join(" ")),
            })
            .collect();
        terms.join(" AND ")
    }

    /// In PostgreSQL's `to_tsquery` syntax: `|` for either, `<->` between a phrase's words, `&` between terms.
    pub fn tsquery(&self) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|term| match term {
                BlindTerm::Word(token) => format!("'{token}'"),
                BlindTerm::WordOrLonger { word, start } => format!("('{word}' | '{start}')"),
                BlindTerm::Phrase(tokens) => {
                    format!("({})", tokens.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(" <-> "))
                }
            })
            .collect();
        terms.join(" & ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn the_index_holds_no_word_and_differs_per_user() {
        let key = SearchKey::new(b"0123456789abcdef0123456789abcdef");
        let text = "Crème brûlée at the lighthouse";
        let alice = key.for_user(user(1)).index(text);
        let bob = key.for_user(user(2)).index(text);
        assert_ne!(alice, bob, "the same words are different tokens for another user");
        for word in ["creme", "Crème", "brulee", "lighthouse", "light", "the"] {
            assert!(!alice.words.contains(word) && !alice.prefixes.contains(word), "{word} is readable");
        }
        assert_eq!(alice.words.split(' ').count(), 5, "one token per word, in order");
        assert!(alice.words.chars().all(|c| c == ' ' || ('a'..='p').contains(&c)));
        // "at" has one shorter start ("a"), "the" two, "creme" four...: distinct ones only.
        assert!(alice.prefixes.split(' ').count() >= 4 + 5 + 1 + 2 + 9);
    }

    #[test]
    fn queries_use_the_same_tokens_as_the_index() {
        let key = SearchKey::new(b"0123456789abcdef0123456789abcdef").for_user(user(1));
        let indexed = key.index("Keyset pagination, said Émile");
        let words: Vec<&str> = indexed.words.split(' ').collect();
        let query = key.query(&SearchQuery::parse(r#""keyset pagination" emi"#));
        assert_eq!(
            query.fts5(),
            format!(
                "\"{} {}\" AND (\"{}\" OR \"{}\")",
                words[0],
                words[1],
                key.token(WORD, "emi"),
                key.token(PREFIX, "emi")
            )
        );
        assert!(indexed.prefixes.split(' ').any(|p| p == key.token(PREFIX, "emi")), "the start of Émile is indexed");
        assert_eq!(
            query.tsquery(),
            format!(
                "('{}' <-> '{}') & ('{}' | '{}')",
                words[0],
                words[1],
                key.token(WORD, "emi"),
                key.token(PREFIX, "emi")
            )
        );
    }

    #[test]
    fn a_key_has_a_name_that_reveals_nothing_of_it() {
        let key = SearchKey::new(b"0123456789abcdef0123456789abcdef");
        assert_eq!(key.id().len(), 12);
        assert_ne!(key.id(), SearchKey::public().id());
        assert!(!format!("{key:?}").contains("0123"));
    }
}
