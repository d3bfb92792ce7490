//! Learning algorithms, in two rooms: the tabular TD learners (`algo/tabular/`, re-exported
//! here) and the deep learners' core (one gradient step, target updates, the training run's
//! bookkeeping, optimiser settings) with one folder per deep algorithm (`dqn`, `actor_critic`,
//! `ilql`).
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
pub mod dqn;
mod evaluation;
pub(crate) mod gradients;
pub mod ilql;
mod metrics;
mod optim;
mod resume;
mod run;
pub(crate) mod step;
mod tabular;
mod target;

pub use optim::{LearningRateSchedule, OptimizerConfig};
pub use resume::ResumeConfig;
pub use run::{RunConfig, TrainMetrics, TrainReport, TrainRun};
pub use tabular::{
    ExpectedSarsa, NStepSarsa, NStepTd, QLearning, Sarsa, StepSize, TabularBatch, TabularControl,
    TabularControlConfig, TabularPath, TabularTdConfig, TdZero, train_tabular,
};
pub use target::TargetUpdate;
