//! Many text episodes in lockstep (no tensors: [`crate::encode::PaddedTokens`] turns their
//! states into the padded batch a language model reads).

use crate::env::text::{TextGenerationEnv, TextReward, TokenState};
use crate::env::{SyncVecEnv, VecStep};
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::text::TokenId;

/// `n` copies of a [`TextGenerationEnv`] stepped together; a copy whose episode ends starts
/// the next one at once (see [`SyncVecEnv`]). Copy `i` is seeded with `seed + i`, so the
/// batch behaves exactly like `n` single environments reset with those seeds.
///
/// # Example
///
/// ```
/// use valuefn::env::text::{BatchedTextEnv, TextEnvConfig, TextGenerationEnv, TokenMatch};
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?;
/// let tasks = vec![TokenTask::encode(&TextPair::new("a", "b"), &tok)?];
/// let env = TextGenerationEnv::new(tasks, tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let mut batch = BatchedTextEnv::new(&env, 4)?;
/// batch.reset(Some(0));
/// let b = tok.vocabulary().id("b").unwrap();
/// let step = batch.step(&[b, b, 0, 0])?;
/// assert_eq!(step.rewards, vec![1.0, 1.0, 0.0, 0.0]);
/// // Every copy restarted: <bos> a.
/// assert!(batch.observations().iter().all(|s| s.len() == 2));
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct BatchedTextEnv<R> {
    envs: SyncVecEnv<TextGenerationEnv<R>>,
}

impl<R: TextReward + Clone> BatchedTextEnv<R> {
    /// `n` copies of `env` (the task list is shared, not copied).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `n` is 0.
    pub fn new(env: &TextGenerationEnv<R>, n: usize) -> Result<Self> {
        Ok(Self {
            envs: SyncVecEnv::new((0..n).map(|_| env.replica()).collect())?,
        })
    }

    /// Number of copies.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Never true: there is at least one copy.
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// The copies.
    pub fn envs(&self) -> &[TextGenerationEnv<R>] {
        self.envs.envs()
    }

    /// Resets every copy (copy `i` with `seed + i`) and returns the start states.
    pub fn reset(&mut self, seed: Option<u64>) -> Vec<TokenState> {
        self.envs.reset(seed)
    }

    /// The states the copies act on next (empty before the first reset). Each copy holds its
    /// own; this clones them.
    pub fn observations(&self) -> Vec<TokenState> {
        self.current_states().into_iter().cloned().collect()
    }

    /// Every copy's state, or none before the first reset (after it, auto-reset keeps an
    /// episode running in every copy).
    fn current_states(&self) -> Vec<&TokenState> {
        let states: Vec<&TokenState> = self.envs().iter().filter_map(|e| e.state()).collect();
        if states.len() == self.len() {
            states
        } else {
            Vec::new()
        }
    }

    /// Steps copy `i` with `tokens[i]`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for a wrong count, [`Error::InvalidAction`] for an id outside
    /// the vocabulary, [`Error::NonFinite`] for a NaN or infinite reward,
    /// [`Error::EpisodeFinished`] before the first reset: all checked on every copy (with
    /// [`TextGenerationEnv::outcome`]) before any copy moves.
    pub fn step(&mut self, tokens: &[TokenId]) -> Result<VecStep<TokenState>> {
        if tokens.len() == self.len() {
            for (env, &token) in self.envs.envs().iter().zip(tokens) {
                env.outcome(token)?;
            }
        }
        self.envs.step(tokens)
    }
}
