//! Rewards on the decoded text of a completion: exact match, contains, a regular expression,
//! length, or any closure of the completion and target strings.

use std::sync::Arc;

use regex::Regex;

use crate::env::text::{TextReward, TokenStep};
use crate::error::{Error, Result};
use crate::text::{CharTokenizer, HfTokenizer, TokenId, Tokenizer, WordTokenizer};

/// Ids to text, for rewards that read the decoded completion.
pub trait TextDecoder {
    /// The text of `ids` (a pretrained tokenizer leaves its special tokens out).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] for an id outside the vocabulary.
    fn decode_text(&self, ids: &[TokenId]) -> Result<String>;
}

impl TextDecoder for HfTokenizer {
    fn decode_text(&self, ids: &[TokenId]) -> Result<String> {
        self.decode(ids, true)
    }
}

impl TextDecoder for CharTokenizer {
    fn decode_text(&self, ids: &[TokenId]) -> Result<String> {
        self.decode(ids)
    }
}

impl TextDecoder for WordTokenizer {
    fn decode_text(&self, ids: &[TokenId]) -> Result<String> {
        self.decode(ids)
    }
}

impl<T: TextDecoder + ?Sized> TextDecoder for Arc<T> {
    fn decode_text(&self, ids: &[TokenId]) -> Result<String> {
        (**self).decode_text(ids)
    }
}

/// A reward on text: at the step that ends an episode, `score` of
/// the decoded completion (without the final `<eos>`) and the decoded target; 0 at every
/// other step. Share the tokenizer across environment copies with an [`Arc`].
///
/// The environment checks every id against its vocabulary, so decoding cannot fail on its
/// steps; on a hand-built step with an id the decoder does not know, the reward is NaN, which
/// an environment reports as [`Error::NonFinite`].
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use valuefn::env::text::{DecodedReward, TextReward, TokenStep, text_scores};
/// use valuefn::text::HfTokenizer;
///
/// let tok = Arc::new(HfTokenizer::from_folder("tests/data/hf/gpt2")?);
/// let output = tok.encode(" on the mat", false)?;
/// let (last, before) = output.split_last().unwrap();
/// let target = tok.encode(" mat", false)?;
/// let step = |done| TokenStep {
///     prompt: &[265], generated: before, token: *last, target: &target, done, eos: Some(0),
/// };
/// let contains = DecodedReward::new(tok.clone(), text_scores::contains("the"));
/// assert_eq!(contains.reward(&step(true)), 1.0); // " on the mat"
/// assert_eq!(contains.reward(&step(false)), 0.0); // not scored before the end
/// let exact = DecodedReward::new(tok.clone(), text_scores::exact_match);
/// assert_eq!(exact.reward(&step(true)), 0.0);
/// let length = DecodedReward::new(tok, |completion: &str, _: &str| -(completion.len() as f64) / 10.0);
/// assert_eq!(length.reward(&step(true)), -1.1);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DecodedReward<D, F> {
    decoder: D,
    score: F,
}

impl<D: TextDecoder, F: Fn(&str, &str) -> f64> DecodedReward<D, F> {
    /// A reward that pays `score(completion, target)` at the end of each episode.
    pub fn new(decoder: D, score: F) -> Self {
        Self { decoder, score }
    }
}

impl<D: TextDecoder, F: Fn(&str, &str) -> f64> TextReward for DecodedReward<D, F> {
    fn reward(&self, step: &TokenStep<'_>) -> f64 {
        if !step.done {
            return 0.0;
        }
        match (
            self.decoder.decode_text(&step.output()),
            self.decoder.decode_text(step.target),
        ) {
            (Ok(completion), Ok(target)) => (self.score)(&completion, &target),
            _ => f64::NAN,
        }
    }
}

/// Ready-made scores of a completion against its target for [`DecodedReward`]: 1 or 0.
pub mod text_scores {
    use super::*;

    /// 1 when the completion equals the target, surrounding whitespace aside.
    pub fn exact_match(completion: &str, target: &str) -> f64 {
        f64::from(u8::from(completion.trim() == target.trim()))
    }

    /// 1 when the completion contains `needle`.
    pub fn contains(needle: impl Into<String>) -> impl Fn(&str, &str) -> f64 + Clone {
        let needle = needle.into();
        move |completion, _| f64::from(u8::from(completion.contains(needle.as_str())))
    }

    /// 1 when the regular expression `pattern` matches somewhere in the completion (anchor it
    /// with `^...$` for a whole-completion match).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a pattern that does not compile.
    pub fn matches(pattern: &str) -> Result<impl Fn(&str, &str) -> f64 + Clone> {
        let regex = Regex::new(pattern)
            .map_err(|e| Error::config("pattern", "a valid regular expression", e))?;
        Ok(move |completion: &str, _: &str| f64::from(u8::from(regex.is_match(completion))))
    }

    /// 1 when the completion has between `min` and `max` characters (inclusive).
    pub fn length_within(min: usize, max: usize) -> impl Fn(&str, &str) -> f64 + Clone {
        move |completion, _| {
            let n = completion.chars().count();
            f64::from(u8::from(min <= n && n <= max))
        }
    }
}
