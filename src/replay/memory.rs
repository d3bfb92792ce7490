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

/// A replay memory of transitions for off-policy learning: what a DQN-style training loop
/// pushes into, samples from and feeds TD errors back to.
///
/// Implemented by [`ReplayBuffer`](crate::replay::ReplayBuffer) (uniform) and
/// [`PrioritizedReplay`](crate::replay::PrioritizedReplay) (proportional prioritized); fill one
/// with n-step transitions through [`NStepCollector`](crate::replay::NStepCollector).
///
/// # Example
///
/// A loop written once for both memories:
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use valuefn::replay::{PrioritizedConfig, PrioritizedReplay, Replay, ReplayBuffer, ReplayConfig, Transition};
///
/// fn fill_and_sample(memory: &mut impl Replay) -> valuefn::Result<Vec<usize>> {
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
    /// Stores a transition, overwriting the oldest one when the memory is full.
    ///
    /// # Errors
    ///
    /// As [`Transition::validate`] against [`Replay::observation_dim`] and
    /// [`Replay::num_actions`]; on `Err` nothing is stored.
    fn push(&mut self, transition: Transition<'_>) -> Result<()>;

    /// Number of transitions stored (at most [`Replay::capacity`]).
    fn len(&self) -> usize;

    /// Whether no transition is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most transitions the memory keeps.
    fn capacity(&self) -> usize;

    /// The width every pushed observation must have.
    fn observation_dim(&self) -> usize;

    /// Every pushed action must be below this.
    fn num_actions(&self) -> usize;

    /// Draws `batch_size` transitions with replacement and moves them to `device`, one
    /// host-to-device transfer per column.
    ///
    /// # Shapes
    ///
    /// `observations`, `next_observations`: `[batch_size, observation_dim]`; the other columns
    /// `[batch_size]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) (field `batch_size`) when
    /// `batch_size` is 0 or larger than [`Replay::len`].
    fn sample<R: Rng + ?Sized>(
        &mut self,
        batch_size: usize,
        device: &Device,
        rng: &mut R,
    ) -> Result<SampledBatch>;

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
