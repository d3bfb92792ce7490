//! A sampled batch of transitions, as tensors on a device.

use burn::tensor::{Bool, Int, Tensor};

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
