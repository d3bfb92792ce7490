//! Prompt/target pairs: as text, from tab-separated files, and as token ids.

use std::path::Path;
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::text::vocab::read_text;
use crate::text::{TokenId, Tokenizer, Vocabulary};

/// A prompt and the completion it should get, as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TextPair {
    /// What the model is given.
    pub prompt: String,
    /// What it should generate.
    pub target: String,
}

impl TextPair {
    /// A pair from its parts.
    pub fn new(prompt: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            target: target.into(),
        }
    }
}

/// A prompt and its target as token ids: what a text environment plays.
///
/// The parts are shared (`Arc`), so the observations of an environment can point at the
/// prompt instead of copying it. Built only through [`TokenTask::new`] (or `encode`), so the
/// target is never empty and never holds `<eos>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenTask {
    prompt: Arc<[TokenId]>,
    target: Arc<[TokenId]>,
}

impl TokenTask {
    /// A task from ids.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty prompt (a model reads at least one token before its
    /// first choice) or target. (A target that holds its environment's `<eos>` is refused by
    /// [`crate::env::text::TextGenerationEnv::new`], which knows that id.)
    pub fn new(prompt: Vec<TokenId>, target: Vec<TokenId>) -> Result<Self> {
        if prompt.is_empty() {
            return Err(Error::Empty {
                what: "task prompt",
            });
        }
        if target.is_empty() {
            return Err(Error::Empty {
                what: "task target",
            });
        }
        Ok(Self {
            prompt: prompt.into(),
            target: target.into(),
        })
    }

    /// Prompt ids (by convention starting with [`Vocabulary::BOS`]).
    pub fn prompt(&self) -> &Arc<[TokenId]> {
        &self.prompt
    }

    /// Target ids, never empty and without `<eos>`: the environment adds the end-of-sequence
    /// position itself when episodes stop at `<eos>` (see [`crate::env::text::Stop`]).
    pub fn target(&self) -> &Arc<[TokenId]> {
        &self.target
    }

    /// Encodes `pair`: prompt = `<bos>` followed by the prompt's tokens, target = the target's
    /// tokens. Unknown text becomes `<unk>`.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when the target encodes to no token.
    pub fn encode(pair: &TextPair, tokenizer: &impl Tokenizer) -> Result<Self> {
        let mut prompt = vec![Vocabulary::BOS];
        prompt.extend(tokenizer.encode(&pair.prompt));
        Self::new(prompt, tokenizer.encode(&pair.target))
    }

    /// Encodes every pair of `corpus`.
    ///
    /// # Errors
    ///
    /// As [`TokenTask::encode`].
    pub fn encode_all(corpus: &Corpus, tokenizer: &impl Tokenizer) -> Result<Vec<Self>> {
        corpus
            .pairs()
            .iter()
            .map(|p| Self::encode(p, tokenizer))
            .collect()
    }
}

/// A non-empty list of prompt/target pairs.
///
/// # Example
///
/// ```
/// use valuefn::text::Corpus;
///
/// let corpus = Corpus::bundled_phrases();
/// let (train, test) = corpus.split(0.2, 7).unwrap();
/// assert_eq!(train.len() + test.len(), corpus.len());
/// // The same seed gives the same split.
/// assert_eq!(corpus.split(0.2, 7).unwrap().1, test);
///
/// let err = Corpus::from_tsv_str("a\tb\nno tab here\n", "tasks.tsv").unwrap_err();
/// assert_eq!(err.to_string(), "tasks.tsv, line 2: expected `prompt<TAB>target`, found no tab");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CorpusFields", into = "CorpusFields")]
pub struct Corpus {
    pairs: Vec<TextPair>,
}

/// The serialized form of a [`Corpus`], checked by [`Corpus::new`] on the way in.
#[derive(Serialize, Deserialize)]
struct CorpusFields {
    pairs: Vec<TextPair>,
}

impl TryFrom<CorpusFields> for Corpus {
    type Error = Error;

    fn try_from(f: CorpusFields) -> Result<Self> {
        Self::new(f.pairs)
    }
}

impl From<Corpus> for CorpusFields {
    fn from(c: Corpus) -> Self {
        Self { pairs: c.pairs }
    }
}

/// `text` without a leading UTF-8 byte-order mark: it would otherwise stay in the first field.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The phrase-completion corpus shipped with the crate (`src/text/phrases.tsv`).
const BUNDLED_PHRASES: &str = include_str!("phrases.tsv");

impl Corpus {
    /// A corpus of `pairs`.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when there are no pairs.
    pub fn new(pairs: Vec<TextPair>) -> Result<Self> {
        if pairs.is_empty() {
            return Err(Error::Empty { what: "corpus" });
        }
        Ok(Self { pairs })
    }

    /// Short phrase completions written for this crate ("the sun rises in the" -> "east"),
    /// lower case, words separated by single spaces: made for [`crate::text::WordTokenizer`].
    pub fn bundled_phrases() -> Self {
        Self::from_tsv_str(BUNDLED_PHRASES, "bundled phrases.tsv")
            .expect("the bundled corpus is valid (tests/text.rs loads it)")
    }

    /// Parses tab-separated `prompt<TAB>target` lines. A UTF-8 byte-order mark at the start
    /// (which Windows editors write) is dropped, as are a trailing `\r`, blank lines and lines
    /// starting with `#`. The prompt may be empty, the target not.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with `source_name` and the 1-based line number for a line with no tab,
    /// more than one tab, or an empty target; [`Error::Empty`] when no pair remains.
    pub fn from_tsv_str(text: &str, source_name: &str) -> Result<Self> {
        let text = without_bom(text);
        let mut pairs = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |message: &str| Error::Parse {
                source_name: source_name.to_string(),
                line: index + 1,
                message: message.to_string(),
            };
            let mut fields = line.split('\t');
            let (prompt, target) = match (fields.next(), fields.next(), fields.next()) {
                (Some(p), Some(t), None) => (p, t),
                (Some(_), None, _) => {
                    return Err(fail("expected `prompt<TAB>target`, found no tab"));
                }
                _ => {
                    return Err(fail(
                        "expected `prompt<TAB>target`, found more than one tab",
                    ));
                }
            };
            if target.trim().is_empty() {
                return Err(fail("the target is empty"));
            }
            pairs.push(TextPair::new(prompt, target));
        }
        if pairs.is_empty() {
            return Err(Error::Empty { what: "task file" });
        }
        Ok(Self { pairs })
    }

    /// Reads a tab-separated task file (see [`Corpus::from_tsv_str`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::Parse`] when it is not UTF-8, then as [`Corpus::from_tsv_str`] with the
    /// path as the source name.
    pub fn load_tsv(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_tsv_str(&read_text(path)?, &path.display().to_string())
    }

    /// Parses JSON lines, one `{"prompt": ..., "target": ...}` object per line (other keys are
    /// ignored; blank lines are skipped). Prompts and targets are kept exactly, spaces
    /// included: with a pretrained tokenizer, a target usually starts with the space that
    /// separates it from the prompt.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::text::Corpus;
    ///
    /// let corpus = Corpus::from_jsonl_str("{\"prompt\": \"The cat\", \"target\": \" sat\"}\n", "mem")?;
    /// assert_eq!(corpus.pairs()[0].target, " sat");
    /// assert!(Corpus::from_jsonl_str("{\"prompt\": \"x\"}", "mem").is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with `source_name` and the 1-based line number for a line that is not
    /// such an object or whose target is empty; [`Error::Empty`] when no pair remains.
    pub fn from_jsonl_str(text: &str, source_name: &str) -> Result<Self> {
        #[derive(serde::Deserialize)]
        struct Line {
            prompt: String,
            target: String,
        }
        let text = without_bom(text);
        let mut pairs = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let fail = |message: String| Error::Parse {
                source_name: source_name.to_string(),
                line: index + 1,
                message,
            };
            let parsed: Line = serde_json::from_str(line).map_err(|e| {
                fail(format!(
                    "expected {{\"prompt\": ..., \"target\": ...}}: {e}"
                ))
            })?;
            if parsed.target.is_empty() {
                return Err(fail("the target is empty".into()));
            }
            pairs.push(TextPair::new(parsed.prompt, parsed.target));
        }
        if pairs.is_empty() {
            return Err(Error::Empty { what: "task file" });
        }
        Ok(Self { pairs })
    }

    /// Reads a JSON-lines task file (see [`Corpus::from_jsonl_str`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::Parse`] when it is not UTF-8, then
    /// as [`Corpus::from_jsonl_str`] with the path as the source name.
    pub fn load_jsonl(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_jsonl_str(&read_text(path)?, &path.display().to_string())
    }

    /// The pairs.
    pub fn pairs(&self) -> &[TextPair] {
        &self.pairs
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Always false: a corpus holds at least one pair.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Every prompt and target, for fitting a tokenizer.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .flat_map(|p| [p.prompt.as_str(), p.target.as_str()])
    }

    /// The pairs with their first occurrence of each prompt only (in order), so a split
    /// holds out prompts the training side never shows.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::text::{Corpus, TextPair};
    ///
    /// let corpus = Corpus::new(vec![
    ///     TextPair::new("a", "x"),
    ///     TextPair::new("b", "y"),
    ///     TextPair::new("a", "z"),
    /// ])?;
    /// assert_eq!(corpus.distinct_prompts().len(), 2);
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn distinct_prompts(&self) -> Self {
        let mut seen = std::collections::HashSet::new();
        Self {
            pairs: self
                .pairs
                .iter()
                .filter(|p| seen.insert(p.prompt.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// Shuffles the pairs with `seed` and splits off `ceil(test_fraction * len)` of them as
    /// the test set: `(train, test)`, both non-empty.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `test_fraction` is not in `(0, 1)` or leaves either side
    /// empty.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(Error::config("test_fraction", "in (0, 1)", test_fraction));
        }
        let test_len = (test_fraction * self.len() as f64).ceil() as usize;
        if test_len >= self.len() {
            return Err(Error::config(
                "test_fraction",
                "small enough to leave a training pair",
                test_fraction,
            ));
        }
        let mut pairs = self.pairs.clone();
        pairs.shuffle(&mut StdRng::seed_from_u64(seed));
        let train = pairs.split_off(test_len);
        Ok((Self { pairs: train }, Self { pairs }))
    }
}
