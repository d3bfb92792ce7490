//! A batch of transitions for an off-policy update, as tensors on a device.

use burn::tensor::{Bool, Int, Tensor};

use crate::batch::BatchRows;
use crate::error::{Error, Result};
use crate::tensor_ops::{check_shape, to_vec_f32};

/// A batch of transitions for an off-policy update, one row per transition.
///
/// `I` is the batch of states a Q-function reads (`Tensor<2>` of features for a
/// [`crate::nn::QNetwork`]; a token batch for a language model's Q head).
///
/// Each row is an n-step transition `(s_t, a_t, R, s_{t+k})` with
/// `R = r_t + gamma r_{t+1} + ... + gamma^(k-1) r_{t+k-1}` and `k <= n` (fewer where the episode
/// ended inside the window); the bootstrap discount is `discounts = gamma^k`, and the target is
/// `R + discounts * (1 - terminated) * V(s_{t+k})`. A one-step transition has `k = 1`.
///
/// # Shapes
///
/// - `observations`, `next_observations`: `B` states each;
/// - `actions`, `rewards`, `terminated`, `discounts`, `weights`: `[B]`.
#[derive(Debug, Clone)]
pub struct TransitionBatch<I = Tensor<2>> {
    /// The states the actions were taken in.
    pub observations: I,
    /// The actions taken.
    pub actions: Tensor<1, Int>,
    /// The (n-step discounted) rewards `R`.
    pub rewards: Tensor<1>,
    /// The states to bootstrap from (the true next state, also where the episode ended).
    pub next_observations: I,
    /// Where the window ended in a terminal state: no bootstrap.
    pub terminated: Tensor<1, Bool>,
    /// The bootstrap discount `gamma^k` of each row.
    pub discounts: Tensor<1>,
    /// Importance-sampling weights of the loss terms (all ones for uniform replay).
    pub weights: Tensor<1>,
}

impl<I> TransitionBatch<I> {
    /// Number of transitions.
    pub fn len(&self) -> usize {
        self.actions.dims()[0]
    }

    /// Whether the batch holds no transition.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<I: BatchRows> TransitionBatch<I> {
    /// Checks the batch's length, actions (in `0..num_actions`) and importance weights
    /// (finite, `>= 0`) with one read-back of a flag (the details only on failure); returns the
    /// length. What every off-policy updater ([`crate::algo::dqn::Dqn`],
    /// [`crate::algo::dqn::SoftQ`], [`crate::algo::ilql::Ilql`]) checks first.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for no transition; [`Error::ShapeMismatch`] for a column or a batch of
    /// states (observations, next observations) of another length (burn would broadcast a
    /// single row); [`Error::InvalidAction`] for an action outside `0..num_actions`;
    /// [`Error::NonFinite`] for a NaN or infinite weight; [`Error::InvalidConfig`] for a
    /// negative one.
    pub fn check(&self, num_actions: usize) -> Result<usize> {
        let len = self.len();
        if len == 0 {
            return Err(Error::Empty {
                what: "transition batch",
            });
        }
        check_shape("actions", self.actions.dims(), [len])?;
        check_shape("rewards", self.rewards.dims(), [len])?;
        check_shape("terminated", self.terminated.dims(), [len])?;
        check_shape("discounts", self.discounts.dims(), [len])?;
        check_shape("weights", self.weights.dims(), [len])?;
        for (what, rows) in [
            (
                "observations (one per transition)",
                self.observations.num_rows(),
            ),
            (
                "next observations (one per transition)",
                self.next_observations.num_rows(),
            ),
        ] {
            if rows != len {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![len],
                    actual: vec![rows],
                });
            }
        }
        let (actions, weights) = (&self.actions, &self.weights);
        let bad_actions = actions
            .clone()
            .lower_elem(0)
            .bool_or(actions.clone().greater_equal_elem(num_actions as i64))
            .any();
        let bad_weights = weights
            .clone()
            .is_finite()
            .bool_not()
            .bool_or(weights.clone().lower_elem(0.0))
            .any();
        if !bad_actions.bool_or(bad_weights).into_scalar::<bool>() {
            return Ok(len);
        }
        if let Some(&w) = to_vec_f32(weights.clone())
            .iter()
            .find(|w| !(w.is_finite() && **w >= 0.0))
        {
            return Err(if w.is_finite() {
                Error::config("weights", "finite and >= 0", w)
            } else {
                Error::NonFinite {
                    what: "importance weight",
                    value: f64::from(w),
                }
            });
        }
        let action = crate::tensor_ops::to_indices(actions.clone())
            .into_iter()
            .find(|&a| a >= num_actions)
            .unwrap_or(usize::MAX);
        Err(Error::InvalidAction {
            action: action.to_string(),
            space: format!("0..{num_actions}"),
        })
    }
}
