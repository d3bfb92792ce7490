//! Uniform experience replay.

use burn::tensor::{Device, Tensor};
use rand::{Rng, RngExt};

use crate::error::Result;
use crate::replay::storage::Storage;
use crate::replay::{Replay, ReplayConfig, RowReplay, SampledBatch, Transition};

/// A fixed-size ring of transitions sampled uniformly with replacement (Mnih et al. 2015;
/// Stable-Baselines3's `ReplayBuffer`).
///
/// Storage is allocated at construction as flat host columns and the oldest transition is
/// overwritten once the buffer is full. [`Replay::sample`] draws `batch_size` slots uniformly
/// from the ones in use and builds each column's tensor with one host-to-device transfer; all
/// `weights` are 1. Rewards and discounts are stored as `f32`, the precision of the tensors.
///
/// # Example
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use valuefn::replay::{Replay, ReplayBuffer, ReplayConfig, Transition};
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let mut buffer = ReplayBuffer::new(&ReplayConfig::new(100, 2, 3))?;
/// buffer.push(Transition::one_step(&[0.0, 1.0], 2, 0.5, &[1.0, 1.0], false, 0.99))?;
/// buffer.push(Transition::one_step(&[1.0, 1.0], 0, 1.0, &[2.0, 1.0], true, 0.99))?;
/// assert!(buffer.push(Transition::one_step(&[0.0], 0, 0.0, &[0.0], false, 0.99)).is_err());
/// assert_eq!(buffer.len(), 2);
///
/// let sampled = buffer.sample(4, &device, &mut StdRng::seed_from_u64(0));
/// assert!(sampled.is_err()); // more than the two stored
/// let sampled = buffer.sample(2, &device, &mut StdRng::seed_from_u64(0))?;
/// assert_eq!(sampled.batch.observations.dims(), [2, 2]);
/// assert_eq!(to_vec_f32(sampled.batch.weights), vec![1.0, 1.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReplayBuffer {
    pub(super) storage: Storage,
}

impl ReplayBuffer {
    /// An empty buffer with all storage allocated.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) when `config` does not validate
    /// ([`ReplayConfig::validate`]); nothing is allocated then.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::{Replay, ReplayBuffer, ReplayConfig};
    ///
    /// assert_eq!(ReplayBuffer::new(&ReplayConfig::new(10, 4, 2))?.capacity(), 10);
    /// assert!(ReplayBuffer::new(&ReplayConfig::new(10, 0, 2)).is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn new(config: &ReplayConfig) -> Result<Self> {
        Ok(Self {
            storage: Storage::new(config)?,
        })
    }

    /// The transition stored in `slot` (as in [`SampledBatch::indices`]), or `None` for a slot
    /// not in use. Slots fill `0, 1, ...` and, once the buffer is full, are overwritten from 0.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::{Replay, ReplayBuffer, ReplayConfig, Transition};
    ///
    /// let mut buffer = ReplayBuffer::new(&ReplayConfig::new(2, 1, 1))?;
    /// for x in [1.0, 2.0, 3.0] {
    ///     buffer.push(Transition::one_step(&[x], 0, 0.0, &[x], false, 0.9))?;
    /// }
    /// assert_eq!(buffer.get(0).unwrap().observation, &[3.0]); // overwrote the first
    /// assert_eq!(buffer.get(1).unwrap().observation, &[2.0]);
    /// assert!(buffer.get(2).is_none());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn get(&self, slot: usize) -> Option<Transition<'_>> {
        self.storage.get(slot)
    }
}

impl Replay for ReplayBuffer {
    type Item<'a> = Transition<'a>;
    type Input = Tensor<2>;

    fn push(&mut self, transition: Transition<'_>) -> Result<()> {
        self.storage.push(&transition).map(|_| ())
    }

    fn len(&self) -> usize {
        self.storage.len()
    }

    fn capacity(&self) -> usize {
        self.storage.capacity()
    }

    fn sample<R: Rng + ?Sized>(
        &mut self,
        batch_size: usize,
        device: &Device,
        rng: &mut R,
    ) -> Result<SampledBatch> {
        self.storage.check_batch_size(batch_size)?;
        let len = self.storage.len();
        let indices: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..len)).collect();
        let batch = self.storage.batch(&indices, vec![1.0; batch_size], device);
        Ok(SampledBatch { batch, indices })
    }

    fn update_priorities(&mut self, indices: &[usize], td_errors: &[f32]) -> Result<()> {
        self.storage.check_priority_update(indices, td_errors)
    }

    fn set_progress(&mut self, _fraction: f64) {}
}

impl RowReplay for ReplayBuffer {
    fn observation_dim(&self) -> usize {
        self.storage.observation_dim()
    }

    fn num_actions(&self) -> usize {
        self.storage.num_actions()
    }
}
