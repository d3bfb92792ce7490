//! Token ids and the vocabulary that names them.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A token's index in a [`Vocabulary`]; also the action of a text-generation environment.
pub type TokenId = usize;

/// A list of token strings with four special tokens at fixed ids.
///
/// | id | token | role |
/// |----|-------|------|
/// | 0 | `<pad>` | [`Vocabulary::PAD`]: fills batch rows up to a common length |
/// | 1 | `<bos>` | [`Vocabulary::BOS`]: starts every encoded prompt |
/// | 2 | `<eos>` | [`Vocabulary::EOS`]: ends a generation (an action that terminates) |
/// | 3 | `<unk>` | [`Vocabulary::UNK`]: whatever the vocabulary does not know |
///
/// Ordinary tokens follow from id 4 in the order they were added. Fixed special ids keep
/// every vocabulary compatible with code that masks or pads, and make the `<eos>` action the
/// same in every environment. The special strings are reserved: adding `"<eos>"` as an
/// ordinary token is ignored, so text can never produce a special id except `<unk>`.
///
/// Serialized (with [`Vocabulary::save`] or any serde format) it is just the token list;
/// loading checks the specials and rebuilds the lookup table.
///
/// # Example
///
/// ```
/// use valuefn::text::Vocabulary;
///
/// let vocab = Vocabulary::from_tokens(["the", "cat", "the", "sat"]);
/// assert_eq!(vocab.len(), 4 + 3); // specials + distinct words
/// assert_eq!(vocab.id("cat"), Some(5));
/// assert_eq!(vocab.id_or_unk("dog"), Vocabulary::UNK);
/// assert_eq!(vocab.token(5), Some("cat"));
/// let json = vocab.to_json().unwrap();
/// assert_eq!(Vocabulary::from_json(&json).unwrap(), vocab);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "VocabularyFile", into = "VocabularyFile")]
pub struct Vocabulary {
    tokens: Vec<String>,
    ids: HashMap<String, TokenId>,
}

/// The serialized form: the token list, specials first.
#[derive(Serialize, Deserialize)]
struct VocabularyFile {
    tokens: Vec<String>,
}

impl PartialEq for Vocabulary {
    fn eq(&self, other: &Self) -> bool {
        // `ids` is derived from `tokens`.
        self.tokens == other.tokens
    }
}

impl Eq for Vocabulary {}

impl Default for Vocabulary {
    fn default() -> Self {
        Self::new()
    }
}

/// What a text environment needs to know of a vocabulary: how many token ids there are and
/// which one ends an output. The crate's [`Vocabulary`] has `<eos>` at [`Vocabulary::EOS`]; a
/// pretrained tokenizer ([`crate::text::HfTokenizer`]) has its own, or none.
///
/// # Example
///
/// ```
/// use valuefn::text::{TokenVocabulary, Vocabulary};
///
/// let vocabulary = Vocabulary::from_tokens(["a", "b"]);
/// assert_eq!((vocabulary.vocab_size(), vocabulary.eos_id()), (6, Some(Vocabulary::EOS)));
/// ```
pub trait TokenVocabulary {
    /// Number of token ids (the action space of a text environment).
    fn vocab_size(&self) -> usize;

    /// The id that ends an output, `None` when there is none (episodes then end by the
    /// environment's stop rule or time limit only).
    fn eos_id(&self) -> Option<TokenId>;
}

impl TokenVocabulary for Vocabulary {
    fn vocab_size(&self) -> usize {
        self.len()
    }

    fn eos_id(&self) -> Option<TokenId> {
        Some(Self::EOS)
    }
}

impl Vocabulary {
    /// Padding.
    pub const PAD: TokenId = 0;
    /// Beginning of sequence.
    pub const BOS: TokenId = 1;
    /// End of sequence.
    pub const EOS: TokenId = 2;
    /// Unknown token.
    pub const UNK: TokenId = 3;
    /// The special token strings, in id order.
    pub const SPECIAL_TOKENS: [&'static str; 4] = ["<pad>", "<bos>", "<eos>", "<unk>"];

    /// A vocabulary holding only the special tokens.
    pub fn new() -> Self {
        let tokens: Vec<String> = Self::SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
        let ids = tokens.iter().cloned().zip(0..).collect();
        Self { tokens, ids }
    }

    /// The specials followed by `tokens` in first-seen order, duplicates and special strings
    /// skipped.
    pub fn from_tokens<S: AsRef<str>>(tokens: impl IntoIterator<Item = S>) -> Self {
        let mut vocab = Self::new();
        for token in tokens {
            vocab.insert(token.as_ref());
        }
        vocab
    }

    /// Adds `token` if it is new and not a special string; returns its id (the special's id
    /// for a special string).
    pub fn insert(&mut self, token: &str) -> TokenId {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let id = self.tokens.len();
        self.tokens.push(token.to_string());
        self.ids.insert(token.to_string(), id);
        id
    }

    /// Number of tokens, specials included: the size of the action space.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Always false: the specials are always there.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of `token`, if known.
    pub fn id(&self, token: &str) -> Option<TokenId> {
        self.ids.get(token).copied()
    }

    /// The id of `token` as it appears in text: its id when it is an ordinary token, else
    /// [`Vocabulary::UNK`] (special strings included, so text never yields `<eos>`).
    pub fn id_or_unk(&self, token: &str) -> TokenId {
        match self.id(token) {
            Some(id) if !Self::is_special(id) => id,
            _ => Self::UNK,
        }
    }

    /// The string of `id`, if in range.
    pub fn token(&self, id: TokenId) -> Option<&str> {
        self.tokens.get(id).map(String::as_str)
    }

    /// Whether `id` is one of the four special tokens.
    pub fn is_special(id: TokenId) -> bool {
        id < Self::SPECIAL_TOKENS.len()
    }

    /// All token strings in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Checks that every id in `ids` is in range.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAction`] naming the first id out of range (token ids are the actions
    /// of a text environment).
    pub fn check_ids(&self, ids: &[TokenId]) -> Result<()> {
        match ids.iter().find(|&&id| id >= self.len()) {
            Some(&bad) => Err(Error::InvalidAction {
                action: bad.to_string(),
                space: format!("token ids 0..{}", self.len()),
            }),
            None => Ok(()),
        }
    }

    /// The vocabulary as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] if serialization fails (it does not for valid vocabularies).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Decode {
            what: "vocabulary",
            message: e.to_string(),
        })
    }

    /// A vocabulary from JSON written by [`Vocabulary::to_json`].
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] for malformed JSON, missing or misplaced specials, or duplicates.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Decode {
            what: "vocabulary",
            message: e.to_string(),
        })
    }

    /// Writes the vocabulary to `path` as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|e| Error::Io {
            action: "write",
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Reads a vocabulary saved with [`Vocabulary::save`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::Parse`] when it is not UTF-8,
    /// [`Error::Decode`] when it is not a valid vocabulary.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json(&read_text(path.as_ref())?)
    }
}

/// Reads a whole text file: [`Error::Io`] when it cannot be read, [`Error::Parse`] naming the
/// line and byte when it is not UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        action: "read",
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = 1 + bytes[..valid].iter().filter(|&&b| b == b'\n').count();
        Error::Parse {
            source_name: path.display().to_string(),
            line,
            message: format!("invalid UTF-8 at byte {valid} of the file"),
        }
    })
}

impl TryFrom<VocabularyFile> for Vocabulary {
    type Error = String;

    fn try_from(file: VocabularyFile) -> std::result::Result<Self, String> {
        let specials = Self::SPECIAL_TOKENS.len();
        if file.tokens.len() < specials
            || file.tokens[..specials]
                .iter()
                .zip(Self::SPECIAL_TOKENS)
                .any(|(a, b)| a != b)
        {
            return Err(format!(
                "the first tokens must be the specials {:?}",
                Self::SPECIAL_TOKENS
            ));
        }
        let mut ids = HashMap::with_capacity(file.tokens.len());
        for (id, token) in file.tokens.iter().enumerate() {
            if ids.insert(token.clone(), id).is_some() {
                return Err(format!("token {token:?} appears twice"));
            }
        }
        Ok(Self {
            tokens: file.tokens,
            ids,
        })
    }
}

impl From<Vocabulary> for VocabularyFile {
    fn from(vocab: Vocabulary) -> Self {
        Self {
            tokens: vocab.tokens,
        }
    }
}
