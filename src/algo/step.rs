//! One gradient step, written once for every deep learner and for pretraining: the backward
//! pass taken apart into parameter groups, the untracked-parameter check, the global gradient
//! norm, one read-back of the caller's statistics with it, global-norm clipping, and each
//! group's optimiser step at its scheduled learning rate.
//!
//! A learner builds its loss, then
//!
//! ```text
//! let pending = PendingStep::new(&loss, &model, max_norm, &["actor", "critic"], split)?;
//! let (stats, grad_norm) = pending.read_back(vec![loss, entropy, ...])?;   // one transfer
//! // ... the learner's own checks on `stats` (nothing has changed yet) ...
//! model = pending.apply(model, &mut optimizers, step);
//! ```
//!
//! so every learner refuses the same things the same way, and nothing is changed until every
//! check has passed.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Gradients, Tensor};

use crate::algo::gradients::{
    backward, clip_scale, require_gradients, scale_gradients, squared_norm,
};
use crate::algo::optim::{LearningRateSchedule, OptimizerConfig};
use crate::error::{Error, Result};
use crate::tensor_ops::to_vec_f32;

/// An optimiser with its learning-rate schedule: what steps one group of parameters.
#[derive(Clone)]
pub(crate) struct Optimizer {
    learning_rate: LearningRateSchedule,
    state: ModuleOptimizer,
}

impl Optimizer {
    /// A fresh optimiser of kind `optimizer` whose rate at step `k` is `learning_rate.at(k)`.
    pub(crate) fn new(optimizer: OptimizerConfig, learning_rate: LearningRateSchedule) -> Self {
        Self {
            learning_rate,
            state: optimizer.init(),
        }
    }

    /// An optimiser continuing from a saved `state`.
    pub(crate) fn with_state(learning_rate: LearningRateSchedule, state: ModuleOptimizer) -> Self {
        Self {
            learning_rate,
            state,
        }
    }

    /// The learning rate at gradient step `step`.
    pub(crate) fn rate(&self, step: u64) -> f64 {
        self.learning_rate.at(step)
    }

    /// The optimiser's state (what a checkpoint saves).
    pub(crate) fn state(&self) -> &ModuleOptimizer {
        &self.state
    }

    fn step<M: Module>(&mut self, step: u64, module: M, grads: GradientsParams) -> M {
        self.state.step(self.rate(step), module, grads)
    }
}

/// The gradients of one loss, split into the groups that each optimiser steps, with their
/// global norm when clipping is on: a gradient step that has not been applied yet.
pub(crate) struct PendingStep {
    groups: Vec<GradientsParams>,
    norm: Option<Tensor<1>>,
    max_norm: Option<f64>,
}

impl PendingStep {
    /// The backward pass of `loss` over `module` (which holds every group's parameters),
    /// split into groups by `split` (called with the whole backward pass; group `i` is named
    /// `names[i]` in errors). The global norm is computed over all groups when `max_norm` is
    /// set (PyTorch's `clip_grad_norm_` over every parameter the optimisers step).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when no parameter behind `loss` is tracked or a group received
    /// no gradient (a module built without autodiff, or an inference copy).
    pub(crate) fn new<M: Module>(
        loss: &Tensor<1>,
        module: &M,
        max_norm: Option<f64>,
        names: &[&'static str],
        split: impl FnOnce(Gradients) -> Vec<GradientsParams>,
    ) -> Result<Self> {
        let grads = backward(loss, names.first().copied().unwrap_or("model"))?;
        let groups = split(grads);
        for (group, &name) in groups.iter().zip(names) {
            require_gradients(group, name)?;
        }
        let norm = max_norm.and_then(|_| {
            groups
                .iter()
                .filter_map(|group| squared_norm(module, group))
                .reduce(|a, b| a + b)
                .map(Tensor::sqrt)
        });
        Ok(Self {
            groups,
            norm,
            max_norm,
        })
    }

    /// Every parameter of `module` in one group, named `what`.
    pub(crate) fn single<M: Module>(
        loss: &Tensor<1>,
        module: &M,
        max_norm: Option<f64>,
        what: &'static str,
    ) -> Result<Self> {
        Self::new(loss, module, max_norm, &[what], |grads| {
            vec![GradientsParams::from_grads(grads, module)]
        })
    }

    /// Reads `columns` (the caller's statistics, each `[n]`, detached) and the gradient norm
    /// back in **one** transfer: the columns' values in order, and the norm (`None` when
    /// clipping is off). The values at the indices `finite` names (the losses) must be finite,
    /// then the norm.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] naming the first of those values, or the gradient norm, that is not
    /// finite (a NaN anywhere in the forward or backward pass ends there).
    pub(crate) fn read_back(
        &self,
        mut columns: Vec<Tensor<1>>,
        finite: &[(usize, &'static str)],
    ) -> Result<(Vec<f64>, Option<f64>)> {
        if let Some(norm) = &self.norm {
            columns.push(norm.clone().without_autodiff());
        }
        let mut read: Vec<f64> = to_vec_f32(Tensor::cat(columns, 0))
            .into_iter()
            .map(f64::from)
            .collect();
        let norm = self.norm.as_ref().and_then(|_| read.pop());
        for &(index, what) in finite {
            let value = read[index];
            if !value.is_finite() {
                return Err(Error::NonFinite { what, value });
            }
        }
        if let Some(value) = norm
            && !value.is_finite()
        {
            return Err(Error::NonFinite {
                what: "gradient norm",
                value,
            });
        }
        Ok((read, norm))
    }

    /// Clips the gradients to the global norm (when configured) and steps group `i` of
    /// `module` with `optimizers[i]` at its rate for gradient step `step`.
    ///
    /// # Panics
    ///
    /// When there are fewer optimisers than groups (an internal bug).
    pub(crate) fn apply<M: Module>(
        self,
        mut module: M,
        optimizers: &mut [Optimizer],
        step: u64,
    ) -> M {
        assert!(
            optimizers.len() >= self.groups.len(),
            "one optimiser per group"
        );
        let scale = match (self.max_norm, self.norm) {
            (Some(max), Some(norm)) => Some(clip_scale(norm, max)),
            _ => None,
        };
        for (mut grads, optimizer) in self.groups.into_iter().zip(optimizers) {
            if let Some(scale) = &scale {
                scale_gradients(&module, &mut grads, scale.clone());
            }
            module = optimizer.step(step, module, grads);
        }
        module
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};

    use super::*;

    /// Two groups stepped by SGD at different rates move each parameter by exactly its own
    /// rate times its clipped gradient, and the clip scale `max / (norm + 1e-6)` is shared.
    #[test]
    fn groups_step_at_their_own_rates_after_one_shared_clip() {
        let device = crate::device::default_device().autodiff();
        let linear = LinearConfig::new(2, 1).init(&device);
        let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
        // loss = 10 (w . x + b): dL/dw = 10 x = (30, 40), dL/db = 10; norm = sqrt(2600).
        let loss = linear.forward(x).sum().mul_scalar(10.0);
        let weights = |m: &Linear| to_vec_f32(m.weight.val().reshape([2]));
        let bias = |m: &Linear| to_vec_f32(m.bias.as_ref().unwrap().val())[0];
        let (w0, b0) = (weights(&linear), bias(&linear));
        let bias_id = linear.bias.as_ref().unwrap().id;
        let pending = PendingStep::new(&loss, &linear, Some(1.0), &["weights", "bias"], |grads| {
            let mut all = GradientsParams::from_grads(grads, &linear);
            let mut bias_group = GradientsParams::new();
            bias_group.register::<1>(bias_id, all.remove::<1>(bias_id).unwrap());
            vec![all, bias_group]
        })
        .unwrap();
        let (read, norm) = pending
            .read_back(vec![loss.clone().without_autodiff()], &[(0, "loss")])
            .unwrap();
        assert_eq!(read.len(), 1);
        let norm = norm.unwrap();
        assert!((norm - 2600f64.sqrt()).abs() < 1e-3, "{norm}");
        let mut optimizers = [
            Optimizer::new(
                OptimizerConfig::Sgd,
                LearningRateSchedule::Constant { rate: 0.1 },
            ),
            Optimizer::new(
                OptimizerConfig::Sgd,
                LearningRateSchedule::Constant { rate: 0.5 },
            ),
        ];
        let stepped = pending.apply(linear, &mut optimizers, 0);
        let scale = 1.0 / (2600f64.sqrt() + 1e-6);
        for ((after, before), g) in weights(&stepped).iter().zip(&w0).zip([30.0, 40.0]) {
            let expected = f64::from(*before) - 0.1 * g * scale;
            assert!(
                (f64::from(*after) - expected).abs() < 1e-6,
                "{after} vs {expected}"
            );
        }
        let expected = f64::from(b0) - 0.5 * 10.0 * scale;
        let b1 = f64::from(bias(&stepped));
        assert!((b1 - expected).abs() < 1e-6, "{b1} vs {expected}");
    }
}
