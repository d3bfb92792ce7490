//! Learning algorithms.
//!
//! Tabular TD updaters, each built from a validated [`TabularTdConfig`] and applied to a whole
//! batch of transitions with a few tensor ops (gather, one bootstrap, one `select_assign`):
//! [`TdZero`], [`NStepTd`] (prediction), [`QLearning`], [`Sarsa`], [`ExpectedSarsa`],
//! [`NStepSarsa`] (control). Each returns the TD errors it applied.
//!
//! **Batch semantics.** Every TD error in a batch is computed from the table as it was before
//! the batch, and the increments of a repeated `(s, a)` are summed. Applied to distinct pairs
//! whose targets do not read each other's entries this is exactly the sequential update; with
//! duplicates it is the synchronous ("batch TD") update. Tests pin both.
//!
//! **Bad input.** Indices are checked on the host before anything touches the table, so an
//! out-of-range state or action, or a NaN reward, is an error and the table is unchanged.

pub mod actor_critic;
mod batch;
pub(crate) mod checkpoint;
mod config;
pub mod dqn;
mod evaluation;
pub(crate) mod gradients;
mod host;
pub mod ilql;
mod metrics;
mod n_step;
mod optim;
mod q_learning;
mod run;

pub(crate) mod step;
mod step_size;
mod target;
mod td;
mod train;
mod update;

pub use batch::TabularBatch;
pub use config::TabularTdConfig;
pub use host::TabularPath;
pub use n_step::{NStepSarsa, NStepTd};
pub use optim::{LearningRateSchedule, OptimizerConfig};
pub use q_learning::{ExpectedSarsa, QLearning, Sarsa};
pub use run::{TrainMetrics, TrainReport, TrainRun};
pub use step_size::StepSize;
pub use target::TargetUpdate;
pub use td::TdZero;
pub use train::{TabularControl, TabularControlConfig, train_tabular};
