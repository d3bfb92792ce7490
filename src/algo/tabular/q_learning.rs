//! Tabular control: Q-learning, SARSA and expected SARSA.

use burn::tensor::{Int, Tensor};

use crate::algo::tabular::batch::{BatchTensors, TabularBatch};
use crate::algo::tabular::host::{bootstrap_one, row_dot, row_max};
use crate::algo::tabular::step_size::StepSizes;
use crate::algo::tabular::update::{host_tensor, move_toward, move_toward_host};
use crate::algo::{TabularPath, TabularTdConfig};
use crate::error::Result;
use crate::policy::ActionSelector;
use crate::returns::{bootstrap, expected_sarsa_targets_unchecked, q_learning_targets_unchecked};
use crate::tensor_ops::index_tensor;
use crate::value::{QFunction, QTable};

/// What the three control updaters share: gamma, the step sizes and the path.
#[derive(Debug, Clone)]
struct Core {
    gamma: f64,
    step_sizes: StepSizes,
    path: TabularPath,
}

impl Core {
    fn new(config: &TabularTdConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            gamma: config.gamma,
            step_sizes: StepSizes::new(config.step_size),
            path: TabularPath::Auto,
        })
    }

    fn on_host(&self, q: &QTable) -> bool {
        self.path.resolve(|| q.on_cpu())
    }

    /// The host path of [`Core::update`]: the same checks, then the targets from the table as
    /// it was before the batch (`next_value` reads transition `i`'s next-state row) and the
    /// same `f32` arithmetic on the table's host copy.
    fn update_host(
        &mut self,
        q: &mut QTable,
        batch: &TabularBatch,
        mut next_value: impl FnMut(usize, &[f32]) -> f32,
    ) -> Result<Tensor<1>> {
        let (num_states, num_actions) = (q.num_states(), q.num_actions());
        batch.check(num_states, num_actions)?;
        let device = q.device().clone();
        let gamma = self.gamma as f32;
        let table = q.host_mut();
        let targets: Vec<f32> = (0..batch.len())
            .map(|i| {
                let row = &table[batch.next_states[i] * num_actions..][..num_actions];
                let reward = batch.rewards[i] as f32;
                bootstrap_one(reward, batch.terminated[i], next_value(i, row), gamma)
            })
            .collect();
        let indices: Vec<usize> = batch
            .states
            .iter()
            .zip(&batch.actions)
            .map(|(s, a)| s * num_actions + a)
            .collect();
        let td_errors = move_toward_host(table, &indices, &targets, &mut self.step_sizes);
        Ok(host_tensor(td_errors, &device))
    }

    /// Checks the batch, moves it to the table's device, lets `targets` compute the targets
    /// from the next-state Q rows, and applies the update. The batch was validated on the host
    /// (indices in range, finite rewards), so the targets skip the public functions' checks.
    fn update(
        &mut self,
        q: &mut QTable,
        batch: &TabularBatch,
        targets: impl FnOnce(&BatchTensors, Tensor<2>, f64) -> Tensor<1>,
    ) -> Result<Tensor<1>> {
        let (num_states, num_actions) = (q.num_states(), q.tensor().dims()[1]);
        batch.check(num_states, num_actions)?;
        let t = batch.tensors(num_actions, &q.tensor().device());
        let next_q = q.tensor().clone().select(0, t.next_states.clone());
        let targets = targets(&t, next_q, self.gamma);
        let (table, td_errors) =
            move_toward(q.flat(), t.flat_indices, targets, &mut self.step_sizes);
        q.set_flat(table);
        Ok(td_errors)
    }
}

/// Q-learning (Watkins 1989; Sutton and Barto section 6.5):
/// `Q(s, a) <- Q(s, a) + alpha [r + gamma max_a' Q(s', a') - Q(s, a)]`.
///
/// See [`crate::algo`] for the batch semantics.
///
/// # Example
///
/// ```
/// use valuefn::algo::{QLearning, TabularBatch, TabularTdConfig, StepSize};
/// use valuefn::prelude::*;
///
/// let device = valuefn::device::default_device();
/// let mut q = QTable::from_q_values(&QValues::new(2, 2, vec![0.0, 0.0, 1.0, 3.0])?, &device);
/// let config = TabularTdConfig::new().with_gamma(0.5).with_step_size(StepSize::Constant { alpha: 0.5 });
/// let td = QLearning::new(&config)?.update(&mut q, &TabularBatch::single(0, 1, 1.0, 1, false)?)?;
/// // target 1 + 0.5 * 3 = 2.5, so Q(0, 1) moves halfway from 0
/// assert_eq!(valuefn::tensor_ops::to_vec_f32(td), vec![2.5]);
/// assert_eq!(q.to_q_values().get(0, 1), 1.25);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct QLearning {
    core: Core,
}

impl QLearning {
    /// Runs the updates on `path` instead of choosing by the table's device
    /// ([`TabularPath::Auto`]: the host for a table on a CPU backend). Both paths give the same
    /// table.
    pub fn with_path(mut self, path: TabularPath) -> Self {
        self.core.path = path;
        self
    }

    /// A Q-learning updater.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] for a bad config.
    pub fn new(config: &TabularTdConfig) -> Result<Self> {
        Ok(Self {
            core: Core::new(config)?,
        })
    }

    /// Applies one batched update and returns the TD errors `[B]`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidState`] or [`crate::Error::InvalidAction`] for an index outside the table (the
    /// table is left unchanged).
    pub fn update(&mut self, q: &mut QTable, batch: &TabularBatch) -> Result<Tensor<1>> {
        if self.core.on_host(q) {
            return self.core.update_host(q, batch, |_, row| row_max(row));
        }
        self.core.update(q, batch, |t, next_q, gamma| {
            q_learning_targets_unchecked(t.rewards.clone(), next_q, t.terminated.clone(), gamma)
        })
    }
}

/// SARSA (Sutton and Barto section 6.4):
/// `Q(s, a) <- Q(s, a) + alpha [r + gamma Q(s', a') - Q(s, a)]` with `a'` the action actually
/// taken next (ignored where the transition terminated).
#[derive(Debug, Clone)]
pub struct Sarsa {
    core: Core,
}

impl Sarsa {
    /// Runs the updates on `path` instead of choosing by the table's device
    /// ([`TabularPath::Auto`]: the host for a table on a CPU backend). Both paths give the same
    /// table.
    pub fn with_path(mut self, path: TabularPath) -> Self {
        self.core.path = path;
        self
    }

    /// A SARSA updater.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] for a bad config.
    pub fn new(config: &TabularTdConfig) -> Result<Self> {
        Ok(Self {
            core: Core::new(config)?,
        })
    }

    /// Applies one batched update with the next actions `a'` and returns the TD errors `[B]`.
    ///
    /// # Errors
    ///
    /// As [`QLearning::update`], and [`crate::Error::ShapeMismatch`] when `next_actions` is not one per
    /// transition.
    pub fn update(
        &mut self,
        q: &mut QTable,
        batch: &TabularBatch,
        next_actions: &[usize],
    ) -> Result<Tensor<1>> {
        let num_actions = q.num_actions();
        batch.check_next_actions(next_actions, num_actions)?;
        if self.core.on_host(q) {
            return self
                .core
                .update_host(q, batch, |i, row| row[next_actions[i]]);
        }
        self.core.update(q, batch, |t, next_q, gamma| {
            let device = next_q.device();
            let chosen: Tensor<2, Int> = index_tensor(next_actions, &device).unsqueeze_dim(1);
            let next = next_q.gather(1, chosen).squeeze_dim(1);
            bootstrap(t.rewards.clone(), t.terminated.clone(), next, gamma)
        })
    }
}

/// Expected SARSA (Sutton and Barto section 6.6):
/// `Q(s, a) <- Q(s, a) + alpha [r + gamma sum_a' pi(a'|s') Q(s', a') - Q(s, a)]`, under the
/// acting policy `pi`.
#[derive(Debug, Clone)]
pub struct ExpectedSarsa {
    core: Core,
}

impl ExpectedSarsa {
    /// Runs the updates on `path` instead of choosing by the table's device
    /// ([`TabularPath::Auto`]: the host for a table on a CPU backend). Both paths give the same
    /// table.
    pub fn with_path(mut self, path: TabularPath) -> Self {
        self.core.path = path;
        self
    }

    /// An expected-SARSA updater.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] for a bad config.
    pub fn new(config: &TabularTdConfig) -> Result<Self> {
        Ok(Self {
            core: Core::new(config)?,
        })
    }

    /// Applies one batched update, with `policy` (greedy, epsilon-greedy, Boltzmann, ... over
    /// the same table) giving `pi(.|s')`, and returns the TD errors.
    ///
    /// # Errors
    ///
    /// As [`QLearning::update`].
    pub fn update(
        &mut self,
        q: &mut QTable,
        batch: &TabularBatch,
        policy: &impl ActionSelector,
    ) -> Result<Tensor<1>> {
        let mut probabilities = vec![0.0f32; q.num_actions()];
        let zeros = vec![0.0f32; q.num_actions()];
        // Selectors that cannot run on a host row keep the tensor path.
        if self.core.on_host(q) && policy.host_row_probabilities(&zeros, &mut probabilities) {
            return self.core.update_host(q, batch, |_, row| {
                policy.host_row_probabilities(row, &mut probabilities);
                row_dot(row, &probabilities)
            });
        }
        self.core.update(q, batch, |t, next_q, gamma| {
            let probabilities = policy.probabilities(next_q.clone());
            expected_sarsa_targets_unchecked(
                t.rewards.clone(),
                next_q,
                probabilities,
                t.terminated.clone(),
                gamma,
            )
        })
    }
}
