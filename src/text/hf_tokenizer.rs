//! A Hugging Face `tokenizer.json` (byte-level BPE for GPT-2, Llama 3 and Qwen; WordPiece for
//! BERT; any pipeline the `tokenizers` crate reads), with the special tokens its folder names.

use std::path::Path;

use crate::error::{Error, Result};
use crate::text::vocab::read_text;
use crate::text::{TextPair, TokenId, TokenTask, TokenVocabulary};

/// A pretrained model's tokenizer, read from its folder with the `tokenizers` crate: the ids it
/// gives are the ones `transformers` gives, for any text (Unicode, whitespace runs, special
/// tokens written in the text).
///
/// Special tokens come from `tokenizer_config.json` (`bos_token`, `eos_token`, `pad_token`),
/// then `generation_config.json` (`eos_token_id`, ...), then `config.json`.
///
/// # Example
///
/// ```
/// use valuefn::text::HfTokenizer;
///
/// let tok = HfTokenizer::from_folder("tests/data/hf/gpt2")?;
/// let ids = tok.encode("The cat sat", false)?;
/// assert_eq!(ids, vec![265, 799, 262, 274]);
/// assert_eq!(tok.decode(&ids, false)?, "The cat sat");
/// assert_eq!((tok.vocab_size(), tok.eos_id()), (1000, Some(0)));
/// assert!(tok.decode(&[1000], false).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    vocab_size: usize,
    bos: Option<TokenId>,
    eos: Option<TokenId>,
    pad: Option<TokenId>,
}

fn decode_error(what: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Decode {
        what,
        message: e.to_string(),
    }
}

/// A JSON file of the folder, or `None` when it is absent.
fn read_json(dir: &Path, name: &'static str) -> Result<Option<serde_json::Value>> {
    let path = dir.join(name);
    if !path.is_file() {
        return Ok(None);
    }
    serde_json::from_str(&read_text(&path)?)
        .map(Some)
        .map_err(|e| decode_error(name, e))
}

impl TokenVocabulary for HfTokenizer {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn eos_id(&self) -> Option<TokenId> {
        self.eos
    }
}

impl HfTokenizer {
    /// Reads a `tokenizer.json`, with no special tokens named (see
    /// [`HfTokenizer::from_folder`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::Parse`] when it is not UTF-8;
    /// [`Error::Decode`] for a malformed file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json(&read_text(path.as_ref())?)
    }

    /// Parses the contents of a `tokenizer.json`.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] for a malformed file.
    pub fn from_json(text: &str) -> Result<Self> {
        let inner: tokenizers::Tokenizer = text
            .parse()
            .map_err(|e| decode_error("tokenizer.json", e))?;
        let vocab_size = inner.get_vocab_size(true);
        if vocab_size == 0 {
            return Err(Error::Empty {
                what: "tokenizer vocabulary",
            });
        }
        Ok(Self {
            inner,
            vocab_size,
            bos: None,
            eos: None,
            pad: None,
        })
    }

    /// Reads `dir/tokenizer.json` and the special tokens its folder names.
    ///
    /// # Errors
    ///
    /// As [`HfTokenizer::from_file`]; [`Error::Decode`] for a malformed
    /// `tokenizer_config.json` or `generation_config.json`, or a special token that is not in
    /// the vocabulary.
    pub fn from_folder(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut tokenizer = Self::from_file(dir.join("tokenizer.json"))?;
        let sources = [
            read_json(dir, "tokenizer_config.json")?,
            read_json(dir, "generation_config.json")?,
            read_json(dir, "config.json")?,
        ];
        // The first file that names a role decides it.
        let named = |role: &str| -> Result<Option<TokenId>> {
            for source in sources.iter().flatten() {
                if let Some(id) = tokenizer.special(source, role)? {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        };
        let (bos, eos, pad) = (named("bos")?, named("eos")?, named("pad")?);
        (tokenizer.bos, tokenizer.eos, tokenizer.pad) = (bos, eos, pad);
        Ok(tokenizer)
    }

    /// The id of special token `role` (`bos`, `eos`, `pad`) as `source` names it: a token
    /// string (`"eos_token": "</s>"` or `{"content": "</s>"}`) or an id (`"eos_token_id": 2`,
    /// or a list whose first entry is used).
    fn special(&self, source: &serde_json::Value, role: &str) -> Result<Option<TokenId>> {
        let token = source.get(format!("{role}_token")).and_then(|t| {
            t.as_str()
                .or_else(|| t.get("content").and_then(|c| c.as_str()))
        });
        if let Some(token) = token {
            return match self.id(token) {
                Some(id) => Ok(Some(id)),
                None => Err(decode_error(
                    "special token",
                    format!("{role}_token {token:?} is not in the vocabulary"),
                )),
            };
        }
        let id = source.get(format!("{role}_token_id")).and_then(|v| {
            v.as_u64().or_else(|| {
                v.as_array()
                    .and_then(|a| a.first())
                    .and_then(|f| f.as_u64())
            })
        });
        match id {
            Some(id) if (id as u128) < self.vocab_size as u128 => Ok(Some(id as TokenId)),
            Some(id) => Err(decode_error(
                "special token",
                format!(
                    "{role}_token_id {id} is outside the vocabulary of {}",
                    self.vocab_size
                ),
            )),
            None => Ok(None),
        }
    }

    /// Number of ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The beginning-of-sequence id, when the folder names one.
    pub fn bos_id(&self) -> Option<TokenId> {
        self.bos
    }

    /// The end-of-sequence id, when the folder names one.
    pub fn eos_id(&self) -> Option<TokenId> {
        self.eos
    }

    /// The padding id, when the folder names one.
    pub fn pad_id(&self) -> Option<TokenId> {
        self.pad
    }

    /// The id of a token string (special or not).
    pub fn id(&self, token: &str) -> Option<TokenId> {
        self.inner.token_to_id(token).map(|id| id as TokenId)
    }

    /// The token string of `id`.
    pub fn token(&self, id: TokenId) -> Option<String> {
        u32::try_from(id)
            .ok()
            .and_then(|id| self.inner.id_to_token(id))
    }

    /// The ids of `text`; with `add_special_tokens`, what the tokenizer's post-processor adds
    /// (BERT's `[CLS]` and `[SEP]`; nothing for GPT-2).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the tokenizer fails on the text.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<TokenId>> {
        let encoding = self
            .inner
            .encode(text, add_special_tokens)
            .map_err(|e| decode_error("text", e))?;
        Ok(encoding.get_ids().iter().map(|&id| id as TokenId).collect())
    }

    /// A prompt/target pair as a task: the prompt encoded with the tokenizer's special tokens
    /// (a Llama tokenizer's `<s>`; nothing for GPT-2), the target without.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when the prompt or the target encodes to no token; as
    /// [`HfTokenizer::encode`].
    pub fn task(&self, pair: &TextPair) -> Result<TokenTask> {
        let prompt = self.encode(&pair.prompt, true)?;
        if prompt.is_empty() {
            return Err(Error::Empty {
                what: "task prompt (it encodes to no token)",
            });
        }
        TokenTask::new(prompt, self.encode(&pair.target, false)?)
    }

    /// The text of `ids`; with `skip_special_tokens`, special tokens are left out.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] naming the first id outside the vocabulary.
    pub fn decode(&self, ids: &[TokenId], skip_special_tokens: bool) -> Result<String> {
        if let Some(&bad) = ids.iter().find(|&&id| id >= self.vocab_size) {
            return Err(decode_error(
                "token ids",
                format!("id {bad} is outside the vocabulary of {}", self.vocab_size),
            ));
        }
        let ids: Vec<u32> = ids.iter().map(|&id| id as u32).collect();
        self.inner
            .decode(&ids, skip_special_tokens)
            .map_err(|e| decode_error("token ids", e))
    }
}
