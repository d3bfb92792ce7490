//! Algorithmic tasks with known answers: copy, reverse, sort, addition.
//!
//! Each generator draws random instances from a seeded `rand` generator and returns them as
//! [`TextPair`]s over a small character alphabet, so [`crate::text::CharTokenizer`] covers
//! them and the text MDP stays small enough to enumerate exactly.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::text::{Corpus, TextPair};

/// Draws prompt/target pairs.
pub trait TaskGenerator {
    /// One random pair.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> TextPair;

    /// `count` random pairs as a corpus.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when `count` is 0.
    fn corpus<R: Rng + ?Sized>(&self, count: usize, rng: &mut R) -> Result<Corpus> {
        Corpus::new((0..count).map(|_| self.sample(rng)).collect())
    }
}

/// What a [`SequenceTask`] asks for, given a random string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SequenceOp {
    /// The string itself.
    Copy,
    /// The string backwards.
    Reverse,
    /// The string's characters in ascending order.
    Sort,
}

/// Random strings over `alphabet` with lengths in `min_len..=max_len`; the target applies
/// [`SequenceOp`] to the prompt.
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use valuefn::text::{SequenceOp, SequenceTask, TaskGenerator};
///
/// let task = SequenceTask::new(SequenceOp::Reverse, "ab", 3, 3).unwrap();
/// let pair = task.sample(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(pair.target, pair.prompt.chars().rev().collect::<String>());
/// assert!(SequenceTask::new(SequenceOp::Copy, "", 1, 2).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SequenceTaskFields", into = "SequenceTaskFields")]
pub struct SequenceTask {
    op: SequenceOp,
    alphabet: Vec<char>,
    min_len: usize,
    max_len: usize,
    separator: Option<char>,
}

/// The serialized form of a [`SequenceTask`], checked by [`SequenceTask::new`] on the way in.
#[derive(Serialize, Deserialize)]
struct SequenceTaskFields {
    op: SequenceOp,
    alphabet: String,
    min_len: usize,
    max_len: usize,
    // Absent (and left out when `None`): the form before separators existed reads the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    separator: Option<char>,
}

impl TryFrom<SequenceTaskFields> for SequenceTask {
    type Error = Error;

    fn try_from(f: SequenceTaskFields) -> Result<Self> {
        let task = Self::new(f.op, &f.alphabet, f.min_len, f.max_len)?;
        match f.separator {
            Some(separator) => task.with_separator(separator),
            None => Ok(task),
        }
    }
}

impl From<SequenceTask> for SequenceTaskFields {
    fn from(t: SequenceTask) -> Self {
        Self {
            op: t.op,
            alphabet: t.alphabet.into_iter().collect(),
            min_len: t.min_len,
            max_len: t.max_len,
            separator: t.separator,
        }
    }
}

impl SequenceTask {
    /// The longest sequence a task may ask for: 2^20 characters ([`TaskGenerator::sample`]
    /// allocates that many).
    pub const MAX_LEN: usize = 1 << 20;

    /// A generator.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty alphabet; [`Error::InvalidConfig`] when `min_len` is 0 or
    /// above `max_len`, or `max_len` is above [`SequenceTask::MAX_LEN`].
    pub fn new(op: SequenceOp, alphabet: &str, min_len: usize, max_len: usize) -> Result<Self> {
        let alphabet: Vec<char> = alphabet.chars().collect();
        if alphabet.is_empty() {
            return Err(Error::Empty { what: "alphabet" });
        }
        if min_len == 0 {
            return Err(Error::config("min_len", "at least 1", min_len));
        }
        if max_len < min_len {
            return Err(Error::config("max_len", "at least min_len", max_len));
        }
        if max_len > Self::MAX_LEN {
            return Err(Error::config(
                "max_len",
                "at most 2^20 (SequenceTask::MAX_LEN)",
                max_len,
            ));
        }
        Ok(Self {
            op,
            alphabet,
            min_len,
            max_len,
            separator: None,
        })
    }

    /// Prompts end with `separator` (e.g. `'='`), so a model reading a prompt token by token
    /// knows where it ends. Without one, a sequence can be both "prompt `ab`, then `a`
    /// generated" and "prompt `aba`", which want different next tokens: no policy gets every
    /// token right.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `separator` is in the alphabet.
    ///
    /// # Example
    ///
    /// ```
    /// use rand::SeedableRng;
    /// use valuefn::text::{SequenceOp, SequenceTask, TaskGenerator};
    ///
    /// let task = SequenceTask::new(SequenceOp::Copy, "ab", 2, 2)?.with_separator('=')?;
    /// let pair = task.sample(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(pair.prompt, format!("{}=", pair.target));
    /// assert!(SequenceTask::new(SequenceOp::Copy, "ab", 2, 2)?.with_separator('a').is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn with_separator(mut self, separator: char) -> Result<Self> {
        if self.alphabet.contains(&separator) {
            return Err(Error::config(
                "separator",
                "a character outside the alphabet",
                separator,
            ));
        }
        self.separator = Some(separator);
        Ok(self)
    }
}

impl TaskGenerator for SequenceTask {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> TextPair {
        let len = rng.random_range(self.min_len..=self.max_len);
        let prompt: Vec<char> = (0..len)
            .map(|_| self.alphabet[rng.random_range(0..self.alphabet.len())])
            .collect();
        let mut target = prompt.clone();
        match self.op {
            SequenceOp::Copy => {}
            SequenceOp::Reverse => target.reverse(),
            SequenceOp::Sort => target.sort_unstable(),
        }
        TextPair::new(
            prompt.into_iter().chain(self.separator).collect::<String>(),
            target.into_iter().collect::<String>(),
        )
    }
}

/// `"a+b="` -> the decimal sum, for operands in `0..=max_operand`.
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use valuefn::text::{AdditionTask, TaskGenerator};
///
/// let pair = AdditionTask::new(99).unwrap().sample(&mut rand::rngs::StdRng::seed_from_u64(3));
/// let (a, b) = pair.prompt.trim_end_matches('=').split_once('+').unwrap();
/// assert_eq!(pair.target.parse::<u64>().unwrap(), a.parse::<u64>().unwrap() + b.parse::<u64>().unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AdditionTaskFields", into = "AdditionTaskFields")]
pub struct AdditionTask {
    max_operand: u64,
}

/// The serialized form of an [`AdditionTask`], checked by [`AdditionTask::new`].
#[derive(Clone, Copy, Serialize, Deserialize)]
struct AdditionTaskFields {
    max_operand: u64,
}

impl TryFrom<AdditionTaskFields> for AdditionTask {
    type Error = Error;

    fn try_from(f: AdditionTaskFields) -> Result<Self> {
        Self::new(f.max_operand)
    }
}

impl From<AdditionTask> for AdditionTaskFields {
    fn from(t: AdditionTask) -> Self {
        Self {
            max_operand: t.max_operand,
        }
    }
}

impl AdditionTask {
    /// A generator of sums of two operands up to `max_operand`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `max_operand` exceeds `u64::MAX / 2` (the sum would
    /// overflow).
    pub fn new(max_operand: u64) -> Result<Self> {
        if max_operand > u64::MAX / 2 {
            return Err(Error::config(
                "max_operand",
                "at most u64::MAX / 2",
                max_operand,
            ));
        }
        Ok(Self { max_operand })
    }
}

impl TaskGenerator for AdditionTask {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> TextPair {
        let a = rng.random_range(0..=self.max_operand);
        let b = rng.random_range(0..=self.max_operand);
        TextPair::new(format!("{a}+{b}="), (a + b).to_string())
    }
}
