//! Deep Q-learning: the [`Dqn`] updater, generic over the Q-network, its settings,
//! checkpoints, and [`train_dqn`], the whole loop in one call; soft (KL-regularised)
//! Q-learning against a reference policy ([`SoftQ`]) is a mode of it, its backup ending in the
//! same gradient step.
//!
//! See `docs/dqn.md` for the equations, each option, and measured figures.

mod checkpoint;
mod config;
mod resume;
mod soft;
mod train;
mod updater;

pub use crate::algo::ResumeConfig;
pub use crate::algo::TargetUpdate;
pub use crate::algo::optim::LearningRateSchedule;
pub use checkpoint::DqnCheckpoint;
pub use config::{Bootstrap, DqnConfig, TdLoss};
pub use resume::train_dqn_resumable;
pub use soft::SoftQ;
pub use train::{
    DqnMetrics, DqnReport, DqnTrainConfig, DqnUpdate, ReplayKind, evaluate_greedy, train_dqn,
};
pub use updater::{Dqn, DqnStats, elementwise_loss};
