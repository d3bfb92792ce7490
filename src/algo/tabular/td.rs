//! TD(0) prediction of state values.

use crate::algo::tabular::batch::TabularBatch;
use crate::algo::tabular::host::bootstrap_one;
use crate::algo::tabular::step_size::StepSizes;
use crate::algo::tabular::update::{host_tensor, move_toward, move_toward_host};
use crate::algo::{TabularPath, TabularTdConfig};
use crate::error::Result;
use crate::returns::bootstrap;
use burn::tensor::Tensor;

use crate::value::VTable;

/// TD(0) prediction (Sutton and Barto section 6.1):
/// `V(s) <- V(s) + alpha [r + gamma V(s') - V(s)]`, with no `gamma V(s')` where the transition
/// terminated. The policy is whatever generated the transitions; `actions` are ignored.
///
/// # Example
///
/// ```
/// use valuefn::algo::{TabularBatch, TabularTdConfig, TdZero, StepSize};
/// use valuefn::prelude::*;
///
/// let device = valuefn::device::default_device();
/// let mut v = VTable::from_values(&[0.5, 0.5], &device);
/// let config = TabularTdConfig::new().with_gamma(1.0).with_step_size(StepSize::Constant { alpha: 0.1 });
/// let mut td = TdZero::new(&config)?;
/// // Exercise 6.3: after the first episode only V(A) changed, by alpha * (0 + 0 - 0.5) = -0.05.
/// td.update(&mut v, &TabularBatch::single(0, 0, 0.0, 0, true)?)?;
/// assert!((v.to_vec()[0] - 0.45).abs() < 1e-6);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TdZero {
    gamma: f64,
    step_sizes: StepSizes,
    path: TabularPath,
}

impl TdZero {
    /// A TD(0) updater.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] for a bad config.
    pub fn new(config: &TabularTdConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            gamma: config.gamma,
            step_sizes: StepSizes::new(config.step_size),
            path: TabularPath::Auto,
        })
    }

    /// Runs the updates on `path` instead of choosing by the table's device
    /// ([`TabularPath::Auto`]: the host for a table on a CPU backend). Both paths give the same
    /// table.
    pub fn with_path(mut self, path: TabularPath) -> Self {
        self.path = path;
        self
    }

    /// Applies one batched update and returns the TD errors `[B]`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidState`] for a state outside the table (the table is unchanged).
    pub fn update(&mut self, v: &mut VTable, batch: &TabularBatch) -> Result<Tensor<1>> {
        batch.check(v.num_states(), usize::MAX)?; // state values ignore the actions
        if self.path.resolve(|| v.on_cpu()) {
            let device = v.device().clone();
            let gamma = self.gamma as f32;
            let table = v.host_mut();
            let targets: Vec<f32> = (0..batch.len())
                .map(|i| {
                    let next = table[batch.next_states[i]];
                    bootstrap_one(batch.rewards[i] as f32, batch.terminated[i], next, gamma)
                })
                .collect();
            let td_errors = move_toward_host(table, &batch.states, &targets, &mut self.step_sizes);
            return Ok(host_tensor(td_errors, &device));
        }
        let device = v.tensor().device();
        let t = batch.tensors(0, &device); // zero actions per state: the flat index is s
        let next = v.tensor().clone().select(0, t.next_states);
        let targets = bootstrap(t.rewards, t.terminated, next, self.gamma);
        let (table, td_errors) = move_toward(
            v.tensor().clone(),
            t.flat_indices,
            targets,
            &mut self.step_sizes,
        );
        v.set(table);
        Ok(td_errors)
    }
}
