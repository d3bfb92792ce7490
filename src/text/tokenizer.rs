//! Character-level and word-level tokenizers over a [`Vocabulary`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::text::{TokenId, Vocabulary};

/// Text to token ids and back.
///
/// `encode` never fails: text the vocabulary does not know becomes [`Vocabulary::UNK`].
/// `decode` renders ordinary tokens and `<unk>`, and leaves out `<pad>`, `<bos>` and `<eos>`,
/// so a generated sequence decodes to its text.
pub trait Tokenizer {
    /// The vocabulary the ids index.
    fn vocabulary(&self) -> &Vocabulary;

    /// The ids of `text`, with no special tokens added.
    fn encode(&self, text: &str) -> Vec<TokenId>;

    /// The text of `ids`.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] naming the first id outside the vocabulary.
    fn decode(&self, ids: &[TokenId]) -> Result<String>;
}

/// One token per Unicode scalar value (`char`).
///
/// Round trip: `decode(encode(s)) == s` for every `s` whose characters are all in the
/// vocabulary.
///
/// # Example
///
/// ```
/// use valuefn::text::{CharTokenizer, Tokenizer, Vocabulary};
///
/// let tok = CharTokenizer::fit(["abc", "cab"]).unwrap();
/// assert_eq!(tok.vocabulary().len(), 4 + 3);
/// let ids = tok.encode("cabx");
/// assert_eq!(ids[3], Vocabulary::UNK);
/// assert_eq!(tok.decode(&ids[..3]).unwrap(), "cab");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CharTokenizerFields", into = "CharTokenizerFields")]
pub struct CharTokenizer {
    vocabulary: Vocabulary,
}

/// The serialized form of a [`CharTokenizer`], checked by [`CharTokenizer::new`].
#[derive(Serialize, Deserialize)]
struct CharTokenizerFields {
    vocabulary: Vocabulary,
}

impl TryFrom<CharTokenizerFields> for CharTokenizer {
    type Error = Error;

    fn try_from(f: CharTokenizerFields) -> Result<Self> {
        Self::new(f.vocabulary)
    }
}

impl From<CharTokenizer> for CharTokenizerFields {
    fn from(t: CharTokenizer) -> Self {
        Self {
            vocabulary: t.vocabulary,
        }
    }
}

impl CharTokenizer {
    /// A tokenizer over an existing vocabulary whose ordinary tokens are single characters.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when an ordinary token is not exactly one character.
    pub fn new(vocabulary: Vocabulary) -> Result<Self> {
        let specials = Vocabulary::SPECIAL_TOKENS.len();
        if let Some(bad) = vocabulary.tokens()[specials..]
            .iter()
            .find(|t| t.chars().count() != 1)
        {
            return Err(Error::Decode {
                what: "character vocabulary",
                message: format!("token {bad:?} is not a single character"),
            });
        }
        Ok(Self { vocabulary })
    }

    /// A vocabulary of every character in `texts`, in sorted order (so the ids do not depend
    /// on the order of the texts).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when the texts hold no character at all.
    pub fn fit<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> Result<Self> {
        let chars = texts
            .into_iter()
            .flat_map(|t| t.as_ref().chars().map(String::from).collect::<Vec<_>>());
        Ok(Self {
            vocabulary: sorted_vocabulary(chars, "text to build a character vocabulary from")?,
        })
    }
}

impl Tokenizer for CharTokenizer {
    fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    fn encode(&self, text: &str) -> Vec<TokenId> {
        let mut buf = [0u8; 4];
        text.chars()
            .map(|c| self.vocabulary.id_or_unk(c.encode_utf8(&mut buf)))
            .collect()
    }

    fn decode(&self, ids: &[TokenId]) -> Result<String> {
        decode_with(&self.vocabulary, ids, "")
    }
}

/// One token per whitespace-separated word.
///
/// Decoding joins words with single spaces, so `decode(encode(s))` is `s` with its
/// whitespace normalised (when every word is known).
///
/// # Example
///
/// ```
/// use valuefn::text::{Tokenizer, Vocabulary, WordTokenizer};
///
/// let tok = WordTokenizer::fit(["the cat sat", "the dog"]).unwrap();
/// let ids = tok.encode("the  cat\tran");
/// assert_eq!(ids[2], Vocabulary::UNK);
/// assert_eq!(tok.decode(&ids).unwrap(), "the cat <unk>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordTokenizer {
    vocabulary: Vocabulary,
}

impl WordTokenizer {
    /// A tokenizer over an existing vocabulary.
    pub fn new(vocabulary: Vocabulary) -> Self {
        Self { vocabulary }
    }

    /// A vocabulary of every word in `texts`, in sorted order.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when the texts hold no word.
    pub fn fit<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> Result<Self> {
        let words = texts.into_iter().flat_map(|t| {
            t.as_ref()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        Ok(Self {
            vocabulary: sorted_vocabulary(words, "text to build a word vocabulary from")?,
        })
    }
}

impl Tokenizer for WordTokenizer {
    fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    fn encode(&self, text: &str) -> Vec<TokenId> {
        text.split_whitespace()
            .map(|w| self.vocabulary.id_or_unk(w))
            .collect()
    }

    fn decode(&self, ids: &[TokenId]) -> Result<String> {
        decode_with(&self.vocabulary, ids, " ")
    }
}

/// A vocabulary of the distinct `tokens` in sorted order, so that ids do not depend on the
/// order of the texts; [`Error::Empty`] naming `what` when there are none.
fn sorted_vocabulary(
    tokens: impl Iterator<Item = String>,
    what: &'static str,
) -> Result<Vocabulary> {
    let mut tokens: Vec<String> = tokens.collect();
    tokens.sort_unstable();
    tokens.dedup();
    if tokens.is_empty() {
        return Err(Error::Empty { what });
    }
    Ok(Vocabulary::from_tokens(tokens))
}

/// Joins the strings of `ids` with `separator`, leaving out PAD, BOS and EOS.
fn decode_with(vocabulary: &Vocabulary, ids: &[TokenId], separator: &str) -> Result<String> {
    if let Some(&bad) = ids.iter().find(|&&id| id >= vocabulary.len()) {
        return Err(Error::Decode {
            what: "token ids",
            message: format!(
                "token id {bad} is outside the vocabulary (ids 0..{})",
                vocabulary.len()
            ),
        });
    }
    let parts: Vec<&str> = ids
        .iter()
        .filter(|&&id| !matches!(id, Vocabulary::PAD | Vocabulary::BOS | Vocabulary::EOS))
        .filter_map(|&id| vocabulary.token(id))
        .collect();
    Ok(parts.join(separator))
}
