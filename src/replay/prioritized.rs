//! Proportional prioritized experience replay.

use burn::tensor::{Device, Tensor};
use rand::{Rng, RngExt};

use crate::error::Result;
use crate::replay::storage::Storage;
use crate::replay::{
    PrioritizedConfig, Replay, ReplayConfig, RowReplay, SampledBatch, SumTree, Transition,
};

/// Proportional prioritized experience replay (Schaul et al. 2016, "Prioritized Experience
/// Replay", Algorithm 1), on the same ring storage as [`ReplayBuffer`](crate::replay::ReplayBuffer).
///
/// - **Priorities.** [`Replay::update_priorities`] sets `p_i = (|delta_i| + epsilon)^alpha`.
///   A new transition gets the largest `p` seen so far (1 before any update), so it is
///   sampled at least once soon; an overwritten slot starts afresh the same way.
/// - **Sampling.** Stratified, as in the paper and OpenAI Baselines: `[0, total)` is split into
///   `batch_size` equal segments and one slot is drawn from each by a uniform prefix sum
///   ([`SumTree::find`]), so slot `i` is drawn with probability `P(i) = p_i / sum_j p_j` per
///   row. Draws are with replacement.
/// - **Weights.** `w_i = (N P(i))^-beta / max_j w_j` with `N` = [`Replay::len`], normalised by
///   the largest weight **in the batch** (the row of smallest `P`), so weights lie in `(0, 1]`
///   and the largest is exactly 1. `beta = beta_start + (beta_end - beta_start) * progress`,
///   with progress set by [`Replay::set_progress`] (0 until then).
///
/// # Example
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use valuefn::replay::{PrioritizedConfig, PrioritizedReplay, Replay, ReplayConfig, Transition};
///
/// let device = valuefn::device::default_device();
/// let config = PrioritizedConfig::new().with_alpha(1.0).with_epsilon(0.5);
/// let mut per = PrioritizedReplay::new(&ReplayConfig::new(10, 1, 2), &config)?;
/// for x in [0.0, 1.0, 2.0, 3.0] {
///     per.push(Transition::one_step(&[x], 0, 0.0, &[x], false, 0.9))?;
/// }
/// assert_eq!(per.priority(3), Some(1.0)); // the initial maximum
/// per.update_priorities(&[0, 1, 2, 3], &[-2.5, 0.5, 0.5, 0.5])?; // p = |delta| + 0.5
/// assert_eq!((per.priority(0), per.priority(1)), (Some(3.0), Some(1.0)));
///
/// per.set_progress(1.0); // beta = 1
/// let sampled = per.sample(2, &device, &mut StdRng::seed_from_u64(0))?;
/// // Two segments of [0, 6): slot 0 covers all of [0, 3), slots 1-3 share [3, 6).
/// assert_eq!(sampled.indices[0], 0);
/// assert_ne!(sampled.indices[1], 0);
/// let weights = valuefn::tensor_ops::to_vec_f32(sampled.batch.weights);
/// assert_eq!(weights, vec![1.0 / 3.0, 1.0]); // (p_min / p_i)^beta
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PrioritizedReplay {
    pub(super) storage: Storage,
    pub(super) tree: SumTree,
    config: PrioritizedConfig,
    /// Largest priority `p` set so far; new transitions get it.
    pub(super) max_priority: f64,
    pub(super) progress: f64,
}

impl PrioritizedReplay {
    /// An empty memory of `replay.capacity` slots.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) when either config does not
    /// validate, or the capacity exceeds [`SumTree::MAX_CAPACITY`].
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::{PrioritizedConfig, PrioritizedReplay, ReplayConfig};
    ///
    /// let replay = ReplayConfig::new(1000, 4, 2);
    /// assert!(PrioritizedReplay::new(&replay, &PrioritizedConfig::new()).is_ok());
    /// assert!(PrioritizedReplay::new(&replay, &PrioritizedConfig::new().with_beta_end(2.0)).is_err());
    /// ```
    pub fn new(replay: &ReplayConfig, prioritized: &PrioritizedConfig) -> Result<Self> {
        prioritized.validate()?;
        let storage = Storage::new(replay)?;
        Ok(Self {
            tree: SumTree::new(storage.capacity())?,
            storage,
            config: prioritized.clone(),
            max_priority: 1.0,
            progress: 0.0,
        })
    }

    /// The transition stored in `slot`, or `None` for a slot not in use (see
    /// [`ReplayBuffer::get`](crate::replay::ReplayBuffer::get)).
    pub fn get(&self, slot: usize) -> Option<Transition<'_>> {
        self.storage.get(slot)
    }

    /// The priority `p` of `slot` (its sampling weight before normalisation), or `None` for a
    /// slot not in use.
    pub fn priority(&self, slot: usize) -> Option<f64> {
        (slot < self.storage.len())
            .then(|| self.tree.get(slot))
            .flatten()
    }

    /// The importance-sampling exponent at the current progress.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::{PrioritizedConfig, PrioritizedReplay, Replay, ReplayConfig};
    ///
    /// let mut per = PrioritizedReplay::new(&ReplayConfig::new(8, 1, 1), &PrioritizedConfig::new())?;
    /// assert_eq!(per.beta(), 0.4);
    /// per.set_progress(0.5);
    /// assert!((per.beta() - 0.7).abs() < 1e-12);
    /// per.set_progress(3.0); // clamped
    /// assert_eq!(per.beta(), 1.0);
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn beta(&self) -> f64 {
        let PrioritizedConfig {
            beta_start,
            beta_end,
            ..
        } = self.config;
        beta_start + (beta_end - beta_start) * self.progress
    }

    /// The settings.
    pub fn config(&self) -> &PrioritizedConfig {
        &self.config
    }
}

impl Replay for PrioritizedReplay {
    type Item<'a> = Transition<'a>;
    type Input = Tensor<2>;

    fn push(&mut self, transition: Transition<'_>) -> Result<()> {
        let slot = self.storage.push(&transition)?;
        self.tree
            .update(slot, self.max_priority)
            .expect("slots are below capacity and max_priority is finite and positive");
        Ok(())
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
        let total = self.tree.total();
        let segment = total / batch_size as f64;
        let indices = (0..batch_size)
            .map(|i| {
                let u: f64 = rng.random();
                self.tree.find((i as f64 + u) * segment)
            })
            .collect::<Result<Vec<usize>>>()?;
        // w_i = (N p_i / total)^-beta; dividing by the batch maximum gives
        // (p_min / p_i)^beta with p_min the smallest priority in the batch.
        let beta = self.beta();
        let priorities: Vec<f64> = indices
            .iter()
            .map(|&i| self.tree.get(i).expect("found slots are below capacity"))
            .collect();
        let p_min = priorities.iter().copied().fold(f64::INFINITY, f64::min);
        let weights = priorities
            .iter()
            .map(|&p| (p_min / p).powf(beta) as f32)
            .collect();
        let batch = self.storage.batch(&indices, weights, device);
        Ok(SampledBatch { batch, indices })
    }

    fn update_priorities(&mut self, indices: &[usize], td_errors: &[f32]) -> Result<()> {
        self.storage.check_priority_update(indices, td_errors)?;
        let PrioritizedConfig { alpha, epsilon, .. } = self.config;
        let priorities: Vec<f64> = td_errors
            .iter()
            .map(|&delta| (f64::from(delta).abs() + epsilon).powf(alpha))
            .collect();
        // Only a huge epsilon could overflow; check all before changing any.
        for &priority in &priorities {
            SumTree::check_priority(priority)?;
        }
        for (&slot, &priority) in indices.iter().zip(&priorities) {
            self.tree
                .update(slot, priority)
                .expect("checked: slot in use, priority finite and >= 0");
            self.max_priority = self.max_priority.max(priority);
        }
        Ok(())
    }

    fn set_progress(&mut self, fraction: f64) {
        if !fraction.is_nan() {
            self.progress = fraction.clamp(0.0, 1.0);
        }
    }
}

impl RowReplay for PrioritizedReplay {
    fn observation_dim(&self) -> usize {
        self.storage.observation_dim()
    }

    fn num_actions(&self) -> usize {
        self.storage.num_actions()
    }
}
