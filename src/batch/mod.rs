//! The bottom layer: batches that environments, replay, language models and learners all
//! build and read. Row selection and concatenation ([`BatchRows`], implemented by every tensor
//! and by token positions) and the rollout an actor-critic update reads ([`RolloutBatch`],
//! with the [`RolloutScores`] its collector may keep).

mod rollout;
mod rows;

pub use rollout::{RolloutBatch, RolloutScores};
pub use rows::BatchRows;
