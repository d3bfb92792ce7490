//! Experience replay of token transitions for deep Q-learning of a token model's Q head.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use burn::tensor::{Bool, Device, Tensor, TensorData};
use rand::{Rng, RngExt};

use crate::env::text::TokenState;
use crate::error::{Error, Result, check_count, check_finite_f32, check_gamma};
use crate::lm::{TokenEpisode, TokenPositions};
use crate::replay::{Replay, SampledBatch, TransitionBatch};
use crate::tensor_ops::index_tensor;

/// One stored step: a position in a shared sequence (the action is the token after it).
#[derive(Debug, Clone)]
struct StoredStep {
    sequence: Arc<TokenState>,
    /// Index of the state's last token in the sequence.
    position: usize,
    reward: f32,
    terminated: bool,
}

impl StoredStep {
    /// The token taken: the one after the state's position.
    fn action(&self) -> usize {
        let generated = self.position + 1 - self.sequence.prompt.len();
        self.sequence.generated[generated]
    }
}

/// A uniform replay memory of token transitions, for [`crate::algo::dqn::Dqn`] on a
/// [`crate::lm::TokenModel`]'s Q head: a [`Replay`] whose items are whole episodes and whose
/// batches are [`TokenPositions`].
///
/// It stores whole episodes ([`TokenEpisode`]s, e.g. from [`crate::lm::TokenCollector`]) and
/// each of their steps as a position in the episode's sequence, so a step costs a few words,
/// not a copy of its prefix. A sample is a [`TransitionBatch`] of [`TokenPositions`] (in a
/// [`SampledBatch`], with each row's slot): the
/// sequences the sampled steps reference, padded once, with the state at `position` and the
/// next state at `position + 1`, so the model reads both from one pass per sequence. The last
/// step of a terminated episode does not bootstrap (every episode a
/// [`crate::lm::TokenCollector`] plays ends so, `max_new_tokens` included); every other step
/// bootstraps with discount `gamma`. When full, the oldest steps go first.
///
/// # Example
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use valuefn::lm::{TokenEpisode, TokenReplay};
/// use valuefn::replay::Replay;
///
/// let device = valuefn::device::default_device();
/// let mut replay = TokenReplay::new(100, 0.9)?;
/// // Prompt <bos> 4, then tokens 5 and 6 (rewards 1 and 0), terminated.
/// replay.push(&TokenEpisode {
///     tokens: vec![1, 4, 5, 6],
///     prompt_len: 2,
///     rewards: vec![1.0, 0.0],
///     terminated: true,
/// })?;
/// assert_eq!(replay.len(), 2);
/// let batch = replay.sample(8, &device, &mut StdRng::seed_from_u64(0))?.batch;
/// assert_eq!(batch.len(), 8);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenReplay {
    capacity: usize,
    gamma: f64,
    steps: VecDeque<StoredStep>,
}

impl TokenReplay {
    /// The largest batch [`Replay::sample`] draws, `2^24` steps.
    pub const MAX_BATCH: usize = 1 << 24;

    /// The largest capacity accepted: 2^24 steps.
    pub const MAX_CAPACITY: usize = 1 << 24;

    /// An empty memory of at most `capacity` steps, bootstrapping with `gamma`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a capacity of 0 or above [`TokenReplay::MAX_CAPACITY`], or a
    /// `gamma` outside `[0, 1]`.
    pub fn new(capacity: usize, gamma: f64) -> Result<Self> {
        if capacity == 0 || capacity > Self::MAX_CAPACITY {
            return Err(Error::config(
                "capacity",
                "in [1, 2^24] (TokenReplay::MAX_CAPACITY)",
                capacity,
            ));
        }
        check_gamma(gamma)?;
        Ok(Self {
            capacity,
            gamma,
            steps: VecDeque::new(),
        })
    }
}

/// `episode`'s rewards as stored, after checking that it fits a replay: one finite reward per
/// generated token, after a non-empty prompt.
fn checked_rewards(episode: &TokenEpisode) -> Result<Vec<f32>> {
    let generated = episode.tokens.len().checked_sub(episode.prompt_len);
    if episode.prompt_len == 0 || generated != Some(episode.rewards.len()) {
        return Err(Error::ShapeMismatch {
            what: "token episode (one reward per generated token after a non-empty prompt)",
            expected: vec![generated.unwrap_or(0)],
            actual: vec![episode.rewards.len()],
        });
    }
    episode
        .rewards
        .iter()
        .map(|&r| check_finite_f32("token episode reward", r))
        .collect()
}

impl TokenReplay {
    /// Stores every step of every episode of `episodes`, all or none.
    ///
    /// # Errors
    ///
    /// As [`Replay::push`] for the first episode that does not fit; nothing is stored then.
    pub fn push_all(&mut self, episodes: &[TokenEpisode]) -> Result<()> {
        for episode in episodes {
            checked_rewards(episode)?;
        }
        episodes.iter().try_for_each(|episode| self.push(episode))
    }
}

impl Replay for TokenReplay {
    type Item<'a> = &'a TokenEpisode;
    type Input = TokenPositions;

    /// Stores every step of `episode`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the rewards do not match the generated tokens (or the
    /// prompt is empty); [`Error::NonFinite`] for a reward that is NaN or infinite. Nothing is
    /// stored on error.
    fn push(&mut self, episode: &TokenEpisode) -> Result<()> {
        let rewards = checked_rewards(episode)?;
        let sequence = Arc::new(episode.state());
        let last = rewards.len().saturating_sub(1);
        for (t, reward) in rewards.into_iter().enumerate() {
            if self.steps.len() == self.capacity {
                self.steps.pop_front();
            }
            self.steps.push_back(StoredStep {
                sequence: Arc::clone(&sequence),
                position: episode.prompt_len - 1 + t,
                reward,
                terminated: episode.terminated && t == last,
            });
        }
        Ok(())
    }

    /// Steps stored.
    fn len(&self) -> usize {
        self.steps.len()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    /// `batch_size` steps drawn uniformly with replacement (more than are stored is fine).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when nothing is stored; [`Error::InvalidConfig`] for a batch size of 0;
    /// [`Error::TooLarge`] above [`TokenReplay::MAX_BATCH`].
    fn sample<R: Rng + ?Sized>(
        &mut self,
        batch_size: usize,
        device: &Device,
        rng: &mut R,
    ) -> Result<SampledBatch<TokenPositions>> {
        if self.steps.is_empty() {
            return Err(Error::Empty {
                what: "token replay",
            });
        }
        if batch_size == 0 {
            return Err(Error::config("batch_size", "at least 1", 0));
        }
        check_count("token replay batch (steps)", batch_size, Self::MAX_BATCH)?;
        let indices: Vec<usize> = (0..batch_size)
            .map(|_| rng.random_range(0..self.steps.len()))
            .collect();
        let picked: Vec<&StoredStep> = indices.iter().map(|&i| &self.steps[i]).collect();
        // Each referenced sequence once, in order of first use.
        let mut index_of: HashMap<*const TokenState, usize> = HashMap::new();
        let mut states: Vec<TokenState> = Vec::new();
        let mut rows = Vec::with_capacity(batch_size);
        let mut actions = Vec::with_capacity(batch_size);
        for step in &picked {
            let index = *index_of
                .entry(Arc::as_ptr(&step.sequence))
                .or_insert_with(|| {
                    states.push((*step.sequence).clone());
                    states.len() - 1
                });
            rows.push((index, step.position));
            actions.push(step.action());
        }
        let next_rows = rows.iter().map(|&(s, p)| (s, p + 1)).collect();
        let observations = TokenPositions::from_states(&states, rows, device)?;
        let next_observations = observations.with_rows(next_rows);
        let column = |f: &dyn Fn(&StoredStep) -> f32| -> Tensor<1> {
            let values: Vec<f32> = picked.iter().map(|s| f(s)).collect();
            Tensor::from_data(TensorData::new(values, [batch_size]), device)
        };
        let terminated: Vec<bool> = picked.iter().map(|s| s.terminated).collect();
        let batch = TransitionBatch {
            observations,
            actions: index_tensor(&actions, device),
            rewards: column(&|s| s.reward),
            next_observations,
            terminated: Tensor::<1, Bool>::from_data(
                TensorData::new(terminated, [batch_size]),
                device,
            ),
            discounts: column(&|_| self.gamma as f32),
            weights: column(&|_| 1.0),
        };
        Ok(SampledBatch { batch, indices })
    }

    /// A uniform memory keeps no priorities: checks the input only.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the lengths differ; [`Error::InvalidConfig`] for a slot
    /// `>= len()`; [`Error::NonFinite`] for a NaN or infinite error.
    fn update_priorities(&mut self, indices: &[usize], td_errors: &[f32]) -> Result<()> {
        if indices.len() != td_errors.len() {
            return Err(Error::ShapeMismatch {
                what: "TD errors (one per sampled index)",
                expected: vec![indices.len()],
                actual: vec![td_errors.len()],
            });
        }
        if let Some(&slot) = indices.iter().find(|&&i| i >= self.steps.len()) {
            return Err(Error::config("indices", "below len()", slot));
        }
        if let Some(&bad) = td_errors.iter().find(|e| !e.is_finite()) {
            return Err(Error::NonFinite {
                what: "TD error",
                value: f64::from(bad),
            });
        }
        Ok(())
    }

    /// A uniform memory has nothing to anneal.
    fn set_progress(&mut self, _fraction: f64) {}
}
