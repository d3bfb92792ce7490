//! The tabular TD learners: a batch of transitions (`TabularBatch`), validated settings, step
//! sizes, the one batched update they all end with (`update.rs`), the updaters (TD(0), n-step
//! TD, Q-learning, SARSA, expected SARSA, n-step SARSA), the host path that runs them on a
//! `Vec<f32>` at native speed, and `train_tabular`. Re-exported from [`crate::algo`].

pub(crate) mod batch;
mod config;
pub(crate) mod host;
mod n_step;
mod q_learning;
pub(crate) mod step_size;
mod td;
mod train;
pub(crate) mod update;

pub use batch::TabularBatch;
pub use config::TabularTdConfig;
pub use host::TabularPath;
pub use n_step::{NStepSarsa, NStepTd};
pub use q_learning::{ExpectedSarsa, QLearning, Sarsa};
pub use step_size::StepSize;
pub use td::TdZero;
pub use train::{TabularControl, TabularControlConfig, train_tabular};
