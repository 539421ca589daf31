//! What a person types into search, made safe for the full-text index, and the snippet that shows where a
//! message matched.
//!
//! A query is words and "quoted phrases", nothing else: every other character (FTS operators, `*`, `-`,
//! backslashes, stray quotes) separates words. Each word and phrase must match (AND); the last word, when
//! it is not in quotes, also matches as a prefix ("keys" finds "keyset"), so results appear while a word is
//! still being typed.
//!
//! Words are runs of letters and digits, folded here, in one place for both backends: case and diacritics
//! are ignored ([`fold`]). The index stores them only as keyed hashes (`support::at_rest`), so the engines
//! never see a word, and the snippet finds the matched words in the opened text with the same rules.

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// Letters and numbers that unaccent rules turn into punctuation ("ʻ" into an apostrophe, "½" into "1/2"):
/// they separate words, as punctuation does (as they did when the engines cut the words themselves).
pub const UNACCENT_SEPARATORS: &str =
    "¼½¾ŉʹʺʻʼʽˆˈˋː⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞⅟↉⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽⑾⑿⒀⒁⒂⒃⒄⒅⒆⒇⒈⒉⒊⒋⒌⒍⒎⒏⒐⒑⒒⒓⒔⒕⒖⒗⒘⒙⒚⒛🄀🄁🄂🄃🄄🄅🄆🄇🄈🄉🄊";

/// A character that is part of a word: a letter or a number, as both indexes see them.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !UNACCENT_SEPARATORS.contains(c)
}

/// At most this many words and phrases count; the rest of a longer query is ignored.
const MAX_TERMS: usize = 16;
/// Longer runs of letters are not words anyone searches for; they are dropped rather than sent to the index.
const MAX_WORD_CHARS: usize = 64;
/// The snippet: about this many characters, starting a little before the first match.
const SNIPPET_CHARS: usize = 180;
const SNIPPET_LEAD_CHARS: usize = 50;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// One word; `prefix` when it also matches longer words that start with it.
    Word { word: String, prefix: bool },
    /// Two or more words, one after the other.
    Phrase(Vec<String>),
}

/// A parsed search: the terms every result must match. Empty when the text had no words at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// What was typed, trimmed (conversation titles are matched against it as a substring).
    pub text: String,
    pub terms: Vec<Term>,
}

/// Letters and digits, lower-cased, without diacritics: "Émile" and "emile" are the same word.
pub fn fold(word: &str) -> String {
    word.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// The words of `text` with their places, as character offsets `[start, end)`.
fn words_with_offsets(text: &str) -> Vec<(usize, usize, &str)> {
    let mut words = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (char offset, byte offset)
    for (chars, (bytes, c)) in text.char_indices().enumerate() {
        match (is_word_char(c), start) {
            (true, None) => start = Some((chars, bytes)),
            (false, Some((s, b))) => {
                words.push((s, chars, &text[b..bytes]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some((s, b)) = start {
        words.push((s, text.chars().count(), &text[b..]));
    }
    words
}

/// The words of `text` as the search index keeps them: folded, in order, none longer than a word can be.
pub fn index_words(text: &str) -> Vec<String> {
    words_with_offsets(text)
        .into_iter()
        .map(|(_, _, w)| w)
        .filter(|w| w.chars().count() <= MAX_WORD_CHARS)
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect()
}

impl SearchQuery {
    pub fn parse(text: &str) -> SearchQuery {
        let mut terms = Vec::new();
        // Split on quotes: odd pieces were inside a pair of quotes. A quote without its partner quotes
        // nothing: its piece is plain words.
        let pieces: Vec<&str> = text.split('"').collect();
        let balanced = pieces.len() % 2 == 1;
        let mut last_is_bare_word = false;
        for (n, piece) in pieces.iter().enumerate() {
            let quoted = n % 2 == 1 && (balanced || n + 1 < pieces.len());
            let words = index_words(piece);
            if quoted && words.len() > 1 {
                terms.push(Term::Phrase(words));
                last_is_bare_word = false;
            } else if quoted {
                terms.extend(words.into_iter().map(|word| Term::Word { word, prefix: false }));
                last_is_bare_word = false;
            } else {
                last_is_bare_word = !words.is_empty();
                terms.extend(words.into_iter().map(|word| Term::Word { word, prefix: false }));
            }
        }
        // The last word typed, outside quotes and with nothing after it, may still be unfinished.
        let ends_in_word = text.trim_end().chars().last().is_some_and(is_word_char);
        if last_is_bare_word
            && ends_in_word
            && let Some(Term::Word { prefix, .. }) = terms.last_mut()
        {
            *prefix = true;
        }
        let mut unique = Vec::new();
        for term in terms {
            if !unique.contains(&term) {
                unique.push(term);
            }
        }
        unique.truncate(MAX_TERMS);
        SearchQuery { text: text.trim().to_owned(), terms: unique }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Where in `text` the query's terms occur, as character ranges `[start, end)`, in order.
    pub fn matches_in(&self, text: &str) -> Vec<(usize, usize)> {
        let words: Vec<(usize, usize, String)> =
            words_with_offsets(text).into_iter().map(|(s, e, w)| (s, e, fold(w))).collect();
        let mut found = Vec::new();
        for (i, (start, end, word)) in words.iter().enumerate() {
            for term in &self.terms {
                match term {
                    Term::Word { word: wanted, prefix } => {
                        if word == wanted || (*prefix && word.starts_with(wanted.as_str())) {
                            found.push((*start, *end));
                        }
                    }
                    Term::Phrase(phrase) => {
                        let fits = words.len() - i >= phrase.len()
                            && phrase.iter().zip(&words[i..]).all(|(wanted, (_, _, w))| w == wanted);
                        if fits {
                            found.push((*start, words[i + phrase.len() - 1].1));
                        }
                    }
                }
            }
        }
        found.sort_unstable();
        // Overlapping ranges (a word that is also part of a phrase) become one.
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (start, end) in found {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

/// A short piece of `text` around its first match, on one line, with the matches inside it as character
/// ranges into the snippet. Cut ends are marked with "…".
pub fn snippet(query: &SearchQuery, text: &str) -> (String, Vec<(usize, usize)>) {
    let matches = query.matches_in(text);
    let chars: Vec<char> = text.chars().collect();
    let first = matches.first().map_or(0, |m| m.0);
    // Start a little before the first match, at the beginning of a word.
    let mut start = first.saturating_sub(SNIPPET_LEAD_CHARS);
    if start > 0 {
        while start < first && !chars[start - 1].is_whitespace() {
            start += 1;
        }
    }
    let mut end = (start + SNIPPET_CHARS).min(chars.len());
    if end < chars.len() {
        // End at a word boundary, unless a single word fills the whole window.
        let mut cut = end;
        while cut > start && !chars[cut].is_whitespace() {
            cut -= 1;
        }
        if cut > first {
            end = cut;
        }
    }
    // Copy the window, collapsing each run of whitespace into one space, and note where each character
    // lands so the matches can be found again in the copy.
    let mut snippet = String::new();
    let mut written = 0;
    let mut landed: Vec<Option<usize>> = vec![None; end - start];
    if start > 0 {
        snippet.push('…');
        written += 1;
    }
    let mut pending_space = false;
    for (i, c) in chars[start..end].iter().enumerate() {
        if c.is_whitespace() {
            pending_space = written > usize::from(start > 0);
            continue;
        }
        if pending_space {
            snippet.push(' ');
            written += 1;
            pending_space = false;
        }
        landed[i] = Some(written);
        snippet.push(*c);
        written += 1;
    }
    if end < chars.len() {
        snippet.push('…');
    }
    let highlights = matches
        .iter()
        .filter(|&&(s, e)| s < end && e > start)
        .filter_map(|&(s, e)| {
            let (s, e) = (s.max(start) - start, e.min(end) - start);
            let first = landed[s..e].iter().flatten().next()?;
            let last = landed[s..e].iter().flatten().last()?;
            Some((*first, last + 1))
        })
        .collect();
    (snippet, highlights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(w: &str, prefix: bool) -> Term {
        Term::Word { word: w.to_owned(), prefix }
    }

    #[test]
    fn words_phrases_and_a_prefix_on_the_last_bare_word() {
        let q = SearchQuery::parse(r#"Rust "keyset pagination" keys"#);
        assert_eq!(
            q.terms,
            vec![word("rust", false), Term::Phrase(vec!["keyset".into(), "pagination".into()]), word("keys", true)]
        );
        // A finished word (a space after it) or a quoted one is not a prefix.
        assert_eq!(SearchQuery::parse("keys.").terms, vec![word("keys", false)]);
        assert_eq!(SearchQuery::parse(r#""keys""#).terms, vec![word("keys", false)]);
    }

    #[test]
    fn operators_and_punctuation_are_plain_words_or_nothing() {
        for hostile in [r#"""#, "*", "(", "-", "\\", "()", "'", ":*", "&|!<->", "^"] {
            let q = SearchQuery::parse(hostile);
            assert!(q.is_empty(), "{hostile:?} has no words: {q:?}");
        }
        let q = SearchQuery::parse(r#"cats OR "dogs NEAR(x -y\z ' it's"#);
        let words: Vec<&str> = q
            .terms
            .iter()
            .map(|t| match t {
                Term::Word { word, .. } => word.as_str(),
                Term::Phrase(_) => "a phrase",
            })
            .collect();
        assert_eq!(words, ["cats", "or", "dogs", "near", "x", "y", "z", "it", "s"]);
        assert!(SearchQuery::parse(&"word ".repeat(2_000)).terms.len() <= MAX_TERMS);
    }

    #[test]
    fn letters_that_unaccent_makes_punctuation_separate_words() {
        let q = SearchQuery::parse("ʻokina ½ ⑴x");
        assert_eq!(q.terms, vec![word("okina", false), word("x", true)]);
    }

    #[test]
    fn case_and_diacritics_fold() {
        assert_eq!(fold("Crème BRÛLÉE"), "creme brulee");
        assert_eq!(SearchQuery::parse("ÉMILE").terms, vec![word("emile", true)]);
    }

    #[test]
    fn matches_are_found_in_the_original_text() {
        let q = SearchQuery::parse(r#""keyset pagination" émi"#);
        let text = "About Keyset  Pagination, said Émile.";
        let found = q.matches_in(text);
        let pieces: Vec<String> = found.iter().map(|&(s, e)| text.chars().skip(s).take(e - s).collect()).collect();
        assert_eq!(pieces, vec!["Keyset  Pagination", "Émile"]);
    }

    #[test]
    fn a_snippet_centres_the_match_and_its_highlights_point_at_it() {
        let q = SearchQuery::parse("needle");
        let text = format!("{} the needle is here\n\nand {}", "hay ".repeat(100), "more hay ".repeat(100));
        let (snippet, highlights) = snippet(&q, &text);
        assert!(snippet.starts_with('…') && snippet.ends_with('…'), "{snippet}");
        assert!(snippet.chars().count() <= SNIPPET_CHARS + 2);
        assert!(!snippet.contains('\n') && !snippet.contains("  "));
        assert_eq!(highlights.len(), 1);
        let (s, e) = highlights[0];
        assert_eq!(snippet.chars().skip(s).take(e - s).collect::<String>(), "needle");

        let (short, marks) = super::snippet(&SearchQuery::parse("b"), "a b c");
        assert_eq!((short.as_str(), marks), ("a b c", vec![(2, 3)]));
        let (none, marks) = super::snippet(&SearchQuery::parse("zzz"), "nothing here");
        assert_eq!((none.as_str(), marks), ("nothing here", vec![]));
    }
}
