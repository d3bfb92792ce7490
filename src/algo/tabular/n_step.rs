//! n-step SARSA and n-step TD over a trajectory segment.

use burn::tensor::{Device, Int, Tensor};

use crate::algo::tabular::batch::TabularBatch;
use crate::algo::tabular::step_size::StepSizes;
use crate::algo::tabular::update::{host_tensor, move_toward, move_toward_host};
use crate::algo::{TabularPath, TabularTdConfig};
use crate::error::{Error, Result};
use crate::returns::{Rollout, Values, n_step_target_values, n_step_targets};
use crate::tensor_ops::index_tensor;
use crate::value::{QFunction, QTable, VTable};

/// A segment of one trajectory as a one-column rollout (the layout `returns` reads).
fn segment_rollout(batch: &TabularBatch, device: &Device) -> Result<Rollout> {
    let steps = batch.len();
    if steps == 0 {
        return Err(Error::ShapeMismatch {
            what: "trajectory segment",
            expected: vec![1],
            actual: vec![0],
        });
    }
    let rewards = batch.rewards.iter().map(|&r| r as f32).collect();
    Rollout::new(
        steps,
        1,
        rewards,
        batch.terminated.clone(),
        vec![false; steps],
        device,
    )
}

/// n-step targets of a segment from the values of its next states, by
/// [`crate::returns::n_step_targets`]: each transition sums up to `n` rewards of the segment
/// and bootstraps from the value after the last one (none past a termination).
fn segment_targets(
    batch: &TabularBatch,
    next_values: Tensor<1>,
    gamma: f64,
    n: usize,
) -> Result<Tensor<1>> {
    let rollout = segment_rollout(batch, &next_values.device())?;
    let steps = batch.len();
    Ok(n_step_targets(&rollout, next_values.reshape([steps, 1]), gamma, n)?.reshape([steps]))
}

#[derive(Debug, Clone)]
struct NStep {
    gamma: f64,
    n: usize,
    step_sizes: StepSizes,
    path: TabularPath,
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
            path: TabularPath::Auto,
        })
    }

    /// The host path: targets from the table's entries `next_indices` (read before any
    /// update), then the move toward them at `indices`, in `f32` as the tensor path.
    fn update_host(
        &mut self,
        table: &mut [f32],
        segment: &TabularBatch,
        next_indices: &[usize],
        indices: &[usize],
        device: &Device,
    ) -> Result<Tensor<1>> {
        let next: Vec<f32> = next_indices.iter().map(|&i| table[i]).collect();
        let rollout = segment_rollout(segment, device)?;
        let targets: Vec<f32> =
            n_step_target_values(&rollout, Values::Host(&next), self.gamma, self.n)?
                .into_iter()
                .map(|x| x as f32)
                .collect();
        let td_errors = move_toward_host(table, indices, &targets, &mut self.step_sizes);
        Ok(host_tensor(td_errors, device))
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
    /// Runs the updates on `path` instead of choosing by the table's device
    /// ([`TabularPath::Auto`]: the host for a table on a CPU backend). Both paths give the same
    /// table.
    pub fn with_path(mut self, path: TabularPath) -> Self {
        self.core.path = path;
        self
    }

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
        let num_actions = q.num_actions();
        segment.check(q.num_states(), num_actions)?;
        segment.check_next_actions(next_actions, num_actions)?;
        let next: Vec<usize> = segment
            .next_states
            .iter()
            .zip(next_actions)
            .map(|(s, a)| s * num_actions + a)
            .collect();
        if self.core.path.resolve(|| q.on_cpu()) {
            let device = q.device().clone();
            let indices: Vec<usize> = segment
                .states
                .iter()
                .zip(&segment.actions)
                .map(|(s, a)| s * num_actions + a)
                .collect();
            return self
                .core
                .update_host(q.host_mut(), segment, &next, &indices, &device);
        }
        let device = q.tensor().device();
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
    /// Runs the updates on `path` instead of choosing by the table's device
    /// ([`TabularPath::Auto`]: the host for a table on a CPU backend). Both paths give the same
    /// table.
    pub fn with_path(mut self, path: TabularPath) -> Self {
        self.core.path = path;
        self
    }

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
        if self.core.path.resolve(|| v.on_cpu()) {
            let device = v.device().clone();
            return self.core.update_host(
                v.host_mut(),
                segment,
                &segment.next_states,
                &segment.states,
                &device,
            );
        }
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
