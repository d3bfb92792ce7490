//! The observation of a text environment: prompt plus generated tokens.

use std::sync::Arc;

use rand::{Rng, RngExt};

use crate::error::{Result, check_size};
use crate::space::Space;
use crate::text::TokenId;

/// A state of the text MDP: the prompt (shared, never copied) and the tokens generated so
/// far.
///
/// Two states are equal when both parts are equal, whichever task they came from: the target
/// is hidden from the agent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TokenState {
    /// Prompt ids.
    #[serde(with = "shared_ids")]
    pub prompt: Arc<[TokenId]>,
    /// Ids generated so far.
    pub generated: Vec<TokenId>,
}

/// Serde for a shared id slice, as a plain list (serde's own impl needs its `rc` feature, which
/// would rebuild every crate that uses serde).
mod shared_ids {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::text::TokenId;

    pub(super) fn serialize<S: Serializer>(ids: &Arc<[TokenId]>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ids.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<[TokenId]>, D::Error> {
        Vec::<TokenId>::deserialize(d).map(Arc::from)
    }
}

impl TokenState {
    /// The start state of `prompt`.
    pub fn new(prompt: Arc<[TokenId]>) -> Self {
        Self {
            prompt,
            generated: Vec::new(),
        }
    }

    /// Prompt then generated ids: the sequence a language model reads.
    pub fn tokens(&self) -> impl Iterator<Item = TokenId> + '_ {
        self.prompt.iter().chain(&self.generated).copied()
    }

    /// Length of [`TokenState::tokens`].
    pub fn len(&self) -> usize {
        self.prompt.len() + self.generated.len()
    }

    /// Whether both parts are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The token states of an environment: ids below `vocab_size`, prompts up to `max_prompt`
/// tokens, and up to `max_new_tokens` generated ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSequences {
    vocab_size: usize,
    max_prompt: usize,
    max_new_tokens: usize,
}

impl TokenSequences {
    /// The longest prompt, and the most generated tokens, a space may allow: 2^20 each.
    /// [`Space::sample`] allocates up to that many ids.
    pub const MAX_LEN: usize = 1 << 20;

    /// The space.
    ///
    /// # Errors
    ///
    /// [`crate::Error::TooLarge`] when `max_prompt` or `max_new_tokens` is beyond
    /// [`TokenSequences::MAX_LEN`].
    pub fn new(vocab_size: usize, max_prompt: usize, max_new_tokens: usize) -> Result<Self> {
        for (what, len) in [
            ("prompt tokens of a token-sequence space", max_prompt),
            ("generated tokens of a token-sequence space", max_new_tokens),
        ] {
            check_size(what, len, 1, Self::MAX_LEN)?;
        }
        Ok(Self {
            vocab_size,
            max_prompt,
            max_new_tokens,
        })
    }

    /// The longest sequence ([`TokenState::len`]) in the space.
    pub fn max_len(&self) -> usize {
        self.max_prompt + self.max_new_tokens
    }
}

impl Space for TokenSequences {
    type Element = TokenState;

    /// Uniform lengths, then uniform ids.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> TokenState {
        let ids = |max: usize, rng: &mut R| -> Vec<TokenId> {
            // An empty vocabulary has only the empty sequence.
            let len = if self.vocab_size == 0 {
                0
            } else {
                rng.random_range(0..=max)
            };
            (0..len)
                .map(|_| rng.random_range(0..self.vocab_size))
                .collect()
        };
        let prompt = ids(self.max_prompt, rng);
        let generated = ids(self.max_new_tokens, rng);
        TokenState {
            prompt: prompt.into(),
            generated,
        }
    }

    fn contains(&self, state: &TokenState) -> bool {
        state.prompt.len() <= self.max_prompt
            && state.generated.len() <= self.max_new_tokens
            && state.tokens().all(|id| id < self.vocab_size)
    }
}
