//! The bottom layer: batches that environments, replay, language models and learners all
//! build and read. Row selection and concatenation ([`BatchRows`], implemented by every tensor
//! and by token positions) and the rollout an actor-critic update reads ([`RolloutBatch`],
//! with the [`RolloutScores`] its collector may keep), and token states as padded tensors
//! ([`TokenBatch`]).

mod rollout;
mod rows;
mod tokens;

pub use rollout::{RolloutBatch, RolloutScores};
pub use rows::BatchRows;
pub use tokens::TokenBatch;
pub(crate) use tokens::prefix_mask;
