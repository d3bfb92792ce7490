//! What an actor-critic update reads: a rollout of observations, actions and rewards.

use burn::tensor::kind::Basic;
use burn::tensor::{Int, Tensor};

use crate::returns::Rollout;

/// A batch of model inputs whose rows can be selected and concatenated: what minibatches of a
/// rollout are cut from. Implemented for every float and integer tensor (rows along the first
/// dimension); a token batch implements it too.
pub trait BatchRows: Clone + Sized {
    /// Number of rows.
    fn num_rows(&self) -> usize;

    /// The rows at `indices`, in that order.
    fn select_rows(&self, indices: Tensor<1, Int>) -> Self;

    /// The parts one after another.
    ///
    /// # Panics
    ///
    /// When `parts` is empty (callers always have at least one).
    fn concat_rows(parts: Vec<Self>) -> Self;
}

impl<const D: usize, K> BatchRows for Tensor<D, K>
where
    K: Basic,
{
    fn num_rows(&self) -> usize {
        self.dims()[0]
    }

    fn select_rows(&self, indices: Tensor<1, Int>) -> Self {
        self.clone().select(0, indices)
    }

    fn concat_rows(parts: Vec<Self>) -> Self {
        Tensor::cat(parts, 0)
    }
}

/// `T` steps of `B` environment copies, **time-major** (row `t * B + b` is step `t` of copy
/// `b`), as [`crate::algo::actor_critic::ActorCritic::update`] reads them.
///
/// `next_observations[i]` is the state step `i` reached: for a truncated step, the true final
/// observation (not the state after the automatic reset), so the return bootstraps from it;
/// for a terminated step it is never read (use any valid state). The rewards and episode ends
/// are a [`Rollout`], the layout every [`crate::returns`] estimator reads.
///
/// `mask` marks the transitions that happened when copies ran episodes in lockstep and some
/// finished early (a token rollout, where each row is one episode): steps after a row's end
/// are padding, left out of the losses, the statistics and the advantage normalisation. Give
/// the padding any valid inputs and a terminated flag on the row's last real step (so no
/// estimate reads past it). `None`: every transition counts.
#[derive(Debug, Clone)]
pub struct RolloutBatch<I> {
    /// States before each step, `T * B` rows.
    pub observations: I,
    /// The actions taken, `[T * B]`.
    pub actions: Tensor<1, Int>,
    /// States after each step, `T * B` rows.
    pub next_observations: I,
    /// Rewards, `terminated` and `truncated` flags, `[T, B]`.
    pub rollout: Rollout,
    /// Which of the `T * B` transitions count (time-major, as the rows); `None` for all.
    pub mask: Option<Vec<bool>>,
}
