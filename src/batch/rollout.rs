//! What an actor-critic update reads: a rollout of observations, actions and rewards, and
//! what the model said about it while collecting it.

use burn::tensor::{Int, Tensor};

use crate::error::{Error, Result};
use crate::returns::Rollout;

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
/// the padding any valid inputs and an end flag on the row's last real step (terminated, or
/// truncated with its final observation; the recursions stop at either, so no estimate
/// reads into the padding). `None`: every transition counts.
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
    /// What the model being trained computed while it collected the rollout (its values and
    /// the log-probabilities of the actions it took), so an update need not run it again for
    /// them; `None`: the update computes them.
    pub scores: Option<RolloutScores>,
}

/// A batch is its own rollout (what [`crate::algo::actor_critic::RolloutSource`] asks of the
/// rollouts it returns).
impl<I> AsRef<RolloutBatch<I>> for RolloutBatch<I> {
    fn as_ref(&self) -> &RolloutBatch<I> {
        self
    }
}

impl<I> AsMut<RolloutBatch<I>> for RolloutBatch<I> {
    fn as_mut(&mut self) -> &mut RolloutBatch<I> {
        self
    }
}

/// What the model that collected a rollout said about it, one entry per transition
/// (time-major, as the rows): `V(s)`, `V(s')` and `log pi(a|s)`.
///
/// Only valid for the parameters that collected the rollout: an update reads them as the
/// values and old log-probabilities of the model it is about to step, so collect with the
/// model being trained, right before the update
/// ([`crate::lm::TokenCollector::collect`] fills them). Entries of masked-out transitions and
/// `next_values` of terminated steps do not change the update, but must be finite (the
/// collector writes 0 there).
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutScores {
    /// `V(s_i)`.
    pub values: Vec<f32>,
    /// `V(s'_i)`: the value of the state step `i` reached (the true final state when it was
    /// truncated).
    pub next_values: Vec<f32>,
    /// `log pi(a_i | s_i)` of the policy that sampled `a_i`.
    pub log_probs: Vec<f32>,
}

impl RolloutScores {
    /// Checks that every column has `len` entries, all finite.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for a column of another length; [`Error::NonFinite`] for a
    /// value or log-probability that is not finite.
    pub fn check(&self, len: usize) -> Result<()> {
        for (what, column) in [
            ("rollout scores: values", &self.values),
            ("rollout scores: next values", &self.next_values),
            ("rollout scores: log-probabilities", &self.log_probs),
        ] {
            if column.len() != len {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![len],
                    actual: vec![column.len()],
                });
            }
            if let Some(&bad) = column.iter().find(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    what,
                    value: f64::from(bad),
                });
            }
        }
        Ok(())
    }
}
