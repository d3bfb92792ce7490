//! n-step SARSA and n-step TD over a trajectory segment.

use burn::tensor::{Int, Tensor};

use crate::algo::TabularTdConfig;
use crate::algo::batch::TabularBatch;
use crate::algo::step_size::StepSizes;
use crate::algo::update::move_toward;
use crate::error::{Error, Result};
use crate::returns::{Rollout, n_step_targets};
use crate::tensor_ops::index_tensor;
use crate::value::{QTable, VTable};

/// The n-step targets of a segment whose bootstrap values are `next_values` (`[T]`).
fn segment_targets(
    batch: &TabularBatch,
    next_values: Tensor<1>,
    gamma: f64,
    n: usize,
) -> Result<Tensor<1>> {
    let device = next_values.device();
    let steps = batch.len();
    if steps == 0 {
        return Err(Error::ShapeMismatch {
            what: "trajectory segment",
            expected: vec![1],
            actual: vec![0],
        });
    }
    let rewards = batch.rewards.iter().map(|&r| r as f32).collect();
    let rollout = Rollout::new(
        steps,
        1,
        rewards,
        batch.terminated.clone(),
        vec![false; steps],
        &device,
    )?;
    Ok(n_step_targets(&rollout, next_values.reshape([steps, 1]), gamma, n)?.reshape([steps]))
}

/// What both n-step updaters hold: gamma, n and the step sizes.
#[derive(Debug, Clone)]
struct NStep {
    gamma: f64,
    n: usize,
    step_sizes: StepSizes,
}

impl NStep {
    fn new(config: &TabularTdConfig, n: usize) -> Result<Self> {
        config.validate()?;
        if n == 0 {
            return Err(Error::config("n", "at least 1", 0));
        }
        Ok(Self {
            gamma: config.gamma,
            n,
            step_sizes: StepSizes::new(config.step_size),
        })
    }
}

/// n-step SARSA (Sutton and Barto section 7.2) applied to a segment of one trajectory at once:
/// each `Q(s_t, a_t)` moves toward
/// `r_t + ... + gamma^(m-1) r_{t+m-1} + gamma^m Q(s_{t+m}, a_{t+m})`, with `m = min(n, steps
/// left in the segment)` and no bootstrap after a terminated step. All targets read the table
/// as it was before the segment (the book's online version updates between steps; on a segment
/// of one step, or with `n = 1` and distinct pairs, the two agree).
#[derive(Debug, Clone)]
pub struct NStepSarsa {
    core: NStep,
}

impl NStepSarsa {
    /// An n-step SARSA updater.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad config or `n = 0`.
    pub fn new(config: &TabularTdConfig, n: usize) -> Result<Self> {
        Ok(Self {
            core: NStep::new(config, n)?,
        })
    }

    /// Updates from `segment`, consecutive transitions of one trajectory in time order, with
    /// `next_actions[t] = a_{t+1}`; returns the TD errors `[T]`.
    ///
    /// # Errors
    ///
    /// As [`crate::algo::Sarsa::update`], and [`Error::ShapeMismatch`] for an empty segment.
    pub fn update(
        &mut self,
        q: &mut QTable,
        segment: &TabularBatch,
        next_actions: &[usize],
    ) -> Result<Tensor<1>> {
        let num_actions = q.tensor().dims()[1];
        segment.check(q.num_states(), num_actions)?;
        segment.check_next_actions(next_actions, num_actions)?;
        let device = q.tensor().device();
        let next: Vec<usize> = segment
            .next_states
            .iter()
            .zip(next_actions)
            .map(|(s, a)| s * num_actions + a)
            .collect();
        let next_values = q.flat().select(0, index_tensor(&next, &device));
        let targets = segment_targets(segment, next_values, self.core.gamma, self.core.n)?;
        let indices: Tensor<1, Int> = segment.tensors(num_actions, &device).flat_indices;
        let (table, td_errors) = move_toward(q.flat(), indices, targets, &mut self.core.step_sizes);
        q.set_flat(table);
        Ok(td_errors)
    }
}

/// n-step TD prediction (Sutton and Barto section 7.1) on a segment of one trajectory, with
/// the same segment semantics as [`NStepSarsa`].
#[derive(Debug, Clone)]
pub struct NStepTd {
    core: NStep,
}

impl NStepTd {
    /// An n-step TD updater.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad config or `n = 0`.
    pub fn new(config: &TabularTdConfig, n: usize) -> Result<Self> {
        Ok(Self {
            core: NStep::new(config, n)?,
        })
    }

    /// Updates from `segment` (consecutive transitions in time order); returns the TD errors.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] for a state outside the table, [`Error::ShapeMismatch`] for an
    /// empty segment.
    pub fn update(&mut self, v: &mut VTable, segment: &TabularBatch) -> Result<Tensor<1>> {
        segment.check(v.num_states(), usize::MAX)?; // state values ignore the actions
        let device = v.tensor().device();
        let next_values = v
            .tensor()
            .clone()
            .select(0, index_tensor(&segment.next_states, &device));
        let targets = segment_targets(segment, next_values, self.core.gamma, self.core.n)?;
        let indices = index_tensor(&segment.states, &device);
        let (table, td_errors) = move_toward(
            v.tensor().clone(),
            indices,
            targets,
            &mut self.core.step_sizes,
        );
        v.set(table);
        Ok(td_errors)
    }
}
