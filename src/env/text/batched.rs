//! Many text episodes in lockstep, and the padded tensors a language model reads.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::encode::ObservationEncoder;
use crate::env::text::{TextGenerationEnv, TextReward, TokenState};
use crate::env::{SyncVecEnv, VecStep};
use crate::error::{Error, Result};
use crate::tensor_ops::index_tensor;
use crate::text::{TokenId, Vocabulary};

/// A batch of token states as right-padded tensors.
///
/// Row `i` holds the prompt and generated ids of state `i`, followed by
/// [`Vocabulary::PAD`] up to the longest row.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    /// `[batch, max_len]` token ids.
    pub ids: Tensor<2, Int>,
    /// `[batch, max_len]`: true on real tokens, false on padding.
    pub mask: Tensor<2, Bool>,
    /// `[batch]`: the number of real tokens of each row (the last one is at `lengths - 1`,
    /// where a causal model reads the state's summary).
    pub lengths: Tensor<1, Int>,
}

impl TokenBatch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.dims()[0]
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch padded on the right to `width` columns (`<pad>`, mask false); unchanged when
    /// it is already that wide or wider.
    pub fn padded_to(&self, width: usize) -> Self {
        let [rows, current] = self.ids.dims();
        if current >= width {
            return self.clone();
        }
        let device = self.ids.device();
        let extra = [rows, width - current];
        Self {
            ids: Tensor::cat(
                vec![
                    self.ids.clone(),
                    Tensor::full(extra, Vocabulary::PAD as i64, &device),
                ],
                1,
            ),
            mask: Tensor::cat(
                vec![self.mask.clone(), Tensor::full(extra, false, &device)],
                1,
            ),
            lengths: self.lengths.clone(),
        }
    }
}

/// Rows of token batches: minibatches of a token rollout select rows, and batches of
/// different widths concatenate after padding to the widest.
impl crate::batch::BatchRows for TokenBatch {
    fn num_rows(&self) -> usize {
        self.len()
    }

    fn select_rows(&self, indices: Tensor<1, Int>) -> Self {
        let ids = self.ids.clone().select(0, indices.clone());
        let lengths = self.lengths.clone().select(0, indices);
        // The mask is rebuilt from the lengths rather than selected: burn-flex 0.22.1's
        // `select` on a bool tensor returns a u8 tensor that later bool ops refuse.
        Self {
            mask: prefix_mask(&lengths, ids.dims()[1]),
            ids,
            lengths,
        }
    }

    fn concat_rows(parts: Vec<Self>) -> Self {
        let width = parts.iter().map(|p| p.ids.dims()[1]).max().unwrap_or(0);
        let parts: Vec<Self> = parts.iter().map(|p| p.padded_to(width)).collect();
        Self {
            ids: Tensor::cat(parts.iter().map(|p| p.ids.clone()).collect(), 0),
            mask: Tensor::cat(parts.iter().map(|p| p.mask.clone()).collect(), 0),
            lengths: Tensor::cat(parts.iter().map(|p| p.lengths.clone()).collect(), 0),
        }
    }
}

/// `[B, width]`: true on each row's first `lengths[b]` positions.
pub(crate) fn prefix_mask(lengths: &Tensor<1, Int>, width: usize) -> Tensor<2, Bool> {
    let rows = lengths.dims()[0];
    Tensor::<1, Int>::arange(0..width as i64, &lengths.device())
        .unsqueeze_dim::<2>(0)
        .expand([rows, width])
        .lower(lengths.clone().unsqueeze_dim::<2>(1).expand([rows, width]))
}

/// The [`ObservationEncoder`] that turns token states into a [`TokenBatch`].
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use valuefn::encode::ObservationEncoder;
/// use valuefn::env::text::{PaddedTokens, TokenState};
/// use valuefn::tensor_ops::to_indices;
///
/// let device = valuefn::device::default_device();
/// let a = TokenState { prompt: Arc::from(vec![1, 4]), generated: vec![5] };
/// let b = TokenState::new(Arc::from(vec![1]));
/// let batch = PaddedTokens.encode(&[a, b], &device).unwrap();
/// assert_eq!(batch.ids.dims(), [2, 3]);
/// assert_eq!(batch.ids.clone().into_data().convert::<i64>().try_to_vec::<i64>().unwrap(), vec![1, 4, 5, 1, 0, 0]);
/// assert_eq!(to_indices(batch.lengths), vec![3, 1]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaddedTokens;

impl ObservationEncoder<TokenState> for PaddedTokens {
    type Output = TokenBatch;

    /// # Errors
    ///
    /// [`Error::Empty`] for an empty batch.
    fn encode(&self, states: &[TokenState], device: &Device) -> Result<TokenBatch> {
        padded(&states.iter().collect::<Vec<_>>(), device)
    }
}

/// Right-pads `states` into a [`TokenBatch`]; [`Error::Empty`] for no states.
fn padded(states: &[&TokenState], device: &Device) -> Result<TokenBatch> {
    if states.is_empty() {
        return Err(Error::Empty {
            what: "batch of token states",
        });
    }
    let lengths: Vec<usize> = states.iter().map(|s| s.len()).collect();
    let width = lengths.iter().copied().max().unwrap_or(0).max(1);
    let mut ids = vec![Vocabulary::PAD as i64; states.len() * width];
    let mut mask = vec![false; states.len() * width];
    for (row, state) in states.iter().enumerate() {
        for (col, id) in state.tokens().enumerate() {
            ids[row * width + col] = id as i64;
            mask[row * width + col] = true;
        }
    }
    let shape = [states.len(), width];
    Ok(TokenBatch {
        ids: Tensor::from_data(TensorData::new(ids, shape), device),
        mask: Tensor::from_data(TensorData::new(mask, shape), device),
        lengths: index_tensor(&lengths, device),
    })
}

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
/// let tensors = batch.tokens(&valuefn::device::default_device())?;
/// assert_eq!(tensors.ids.dims(), [4, 2]); // every copy restarted: <bos> a
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

    /// The current states as padded tensors on `device`.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] before the first reset.
    pub fn tokens(&self, device: &Device) -> Result<TokenBatch> {
        padded(&self.current_states(), device)
    }
}
