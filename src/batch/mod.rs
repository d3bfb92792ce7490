//! The bottom layer: batches that environments, replay, language models and learners all
//! build and read. Row selection and concatenation ([`BatchRows`], implemented by every tensor
//! and by token positions) and the rollout an actor-critic update reads ([`RolloutBatch`],
//! with the [`RolloutScores`] its collector may keep), the transitions an off-policy update
//! reads ([`TransitionBatch`], also `replay::TransitionBatch`), and token states as padded
//! tensors ([`TokenBatch`]).

mod rollout;
mod rows;
mod tokens;
mod transition;

pub use rollout::{RolloutBatch, RolloutScores};
pub use rows::BatchRows;
pub use tokens::TokenBatch;

pub use transition::TransitionBatch;
