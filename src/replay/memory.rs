//! The replay memory trait that off-policy training loops are generic over.

use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::error::Result;
use crate::replay::{Transition, TransitionBatch};

/// A sampled batch and the memory slots its rows came from.
///
/// `indices[i]` is the slot of row `i` of `batch`; pass the slots back to
/// [`Replay::update_priorities`] with the rows' new TD errors. A slot can appear more than
/// once: sampling draws with replacement.
///
/// # Example
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use valuefn::replay::{Replay, ReplayBuffer, ReplayConfig, Transition};
///
/// let device = valuefn::device::default_device();
/// let mut rng = StdRng::seed_from_u64(0);
/// let mut buffer = ReplayBuffer::new(&ReplayConfig::new(4, 1, 2))?;
/// buffer.push(Transition::one_step(&[0.5], 1, 1.0, &[0.6], false, 0.9))?;
/// assert!(buffer.sample(3, &device, &mut rng).is_err()); // only one transition stored
/// let sampled = buffer.sample(1, &device, &mut rng)?;
/// assert_eq!((sampled.batch.len(), sampled.indices), (1, vec![0]));
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SampledBatch<I = Tensor<2>> {
    /// The transitions, as tensors.
    pub batch: TransitionBatch<I>,
    /// The memory slot of each row.
    pub indices: Vec<usize>,
}

/// A replay memory for off-policy learning: what a DQN-style training loop pushes into,
/// samples batches of transitions from and feeds TD errors back to.
///
/// Implemented by [`ReplayBuffer`](crate::replay::ReplayBuffer) (uniform) and
/// [`PrioritizedReplay`](crate::replay::PrioritizedReplay) (proportional prioritized), which
/// store feature rows ([`RowReplay`]; fill one with n-step transitions through
/// [`NStepCollector`](crate::replay::NStepCollector)), and by
/// [`TokenReplay`](crate::lm::TokenReplay), which stores token episodes and samples their steps
/// as positions of the stored sequences. A memory says what one push stores (`Item`) and what
/// the states of a sampled batch are (`Input`, what the Q-function reads).
///
/// # Example
///
/// A loop written once for both row memories:
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use valuefn::replay::{PrioritizedConfig, PrioritizedReplay, Replay, ReplayBuffer, ReplayConfig, RowReplay, Transition};
///
/// fn fill_and_sample(memory: &mut impl RowReplay) -> valuefn::Result<Vec<usize>> {
///     let device = valuefn::device::default_device();
///     let mut rng = StdRng::seed_from_u64(0);
///     for i in 0..8 {
///         let x = [i as f32];
///         memory.push(Transition::one_step(&x, i % 2, 1.0, &x, false, 0.99))?;
///     }
///     memory.set_progress(0.5);
///     let sampled = memory.sample(4, &device, &mut rng)?;
///     memory.update_priorities(&sampled.indices, &[0.1, 2.0, 0.3, 0.0])?;
///     Ok(sampled.indices)
/// }
///
/// let config = ReplayConfig::new(8, 1, 2);
/// assert_eq!(fill_and_sample(&mut ReplayBuffer::new(&config)?)?.len(), 4);
/// let mut per = PrioritizedReplay::new(&config, &PrioritizedConfig::new())?;
/// assert_eq!(fill_and_sample(&mut per)?.len(), 4);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub trait Replay {
    /// What one push stores: a borrowed [`Transition`] of feature rows, or a whole token
    /// episode.
    type Item<'a>;

    /// The states of a sampled batch.
    type Input;

    /// Stores `item`, overwriting the oldest transitions when the memory is full.
    ///
    /// # Errors
    ///
    /// When `item` does not fit the memory (for rows: as [`Transition::validate`] against
    /// [`RowReplay::observation_dim`] and [`RowReplay::num_actions`]); on `Err` nothing is
    /// stored.
    fn push(&mut self, item: Self::Item<'_>) -> Result<()>;

    /// Number of transitions stored (at most [`Replay::capacity`]).
    fn len(&self) -> usize;

    /// Whether no transition is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most transitions the memory keeps.
    fn capacity(&self) -> usize;

    /// Draws `batch_size` transitions with replacement and moves them to `device`, one
    /// host-to-device transfer per column.
    ///
    /// # Shapes
    ///
    /// Rows: `observations`, `next_observations`: `[batch_size, observation_dim]`; the other
    /// columns `[batch_size]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) (field `batch_size`) when
    /// `batch_size` is 0 (row memories also refuse one larger than [`Replay::len`]);
    /// [`Error::Empty`](crate::Error::Empty) when nothing is stored.
    fn sample<R: Rng + ?Sized>(
        &mut self,
        batch_size: usize,
        device: &Device,
        rng: &mut R,
    ) -> Result<SampledBatch<Self::Input>>;

    /// Feeds back the TD errors of sampled rows (`indices` from [`SampledBatch::indices`]).
    /// Prioritized memories reprioritise those slots; a uniform memory only checks the input.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the lengths differ,
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) (field `indices`) for a slot
    /// `>= len()`, [`Error::NonFinite`](crate::Error::NonFinite) for a NaN or infinite error;
    /// on `Err` nothing changes.
    fn update_priorities(&mut self, indices: &[usize], td_errors: &[f32]) -> Result<()>;

    /// Tells the memory how far training has come, as a fraction in `[0, 1]` (values outside
    /// are clamped, NaN is ignored). Prioritized memories anneal their importance-sampling
    /// exponent with it; a uniform memory ignores it.
    fn set_progress(&mut self, fraction: f64);
}

/// A [`Replay`] of feature rows: [`Transition`]s in, `[batch, observation_dim]` tensors out.
/// What [`NStepCollector`](crate::replay::NStepCollector) fills and
/// [`crate::algo::dqn::train_dqn`] runs.
pub trait RowReplay: for<'a> Replay<Item<'a> = Transition<'a>, Input = Tensor<2>> {
    /// The width every pushed observation must have.
    fn observation_dim(&self) -> usize;

    /// Every pushed action must be below this.
    fn num_actions(&self) -> usize;
}
