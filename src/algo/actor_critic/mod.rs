//! Actor-critic: the [`ActorCritic`] updater (A2C and PPO) generic over the policy and value
//! modules, its settings and losses, checkpoints, and [`train_actor_critic`], the whole loop
//! in one call.
//!
//! The same updater trains a [`crate::nn::CategoricalPolicy`] with a [`crate::nn::VNetwork`]
//! on CartPole, a [`crate::nn::SoftmaxTable`] with a [`crate::nn::TrainableVTable`] on a finite
//! MDP (checked against the exact solvers), and a language model's policy and value heads on
//! tokens. See `docs/actor_critic.md` for the equations, each option, and measured figures.

mod aggregation;
mod checkpoint;
mod config;
mod kl_penalty;
mod loss;
mod on_policy;
mod resume;
mod train;
mod updater;

pub use crate::algo::ResumeConfig;
pub use crate::batch::{BatchRows, RolloutBatch, RolloutScores};
pub use aggregation::LossAggregation;
pub use checkpoint::ActorCriticCheckpoint;
pub use config::{ActorCriticConfig, AdvantageEstimator, PpoConfig};
pub use kl_penalty::{
    KlPenalty, KlPenaltyConfig, KlPenaltyHook, KlPenaltySnapshot, KlPenaltyStats,
};
pub use loss::{
    approx_kl, clip_fraction, clipped_surrogate_loss, clipped_value_loss, explained_variance,
    normalize_advantages, policy_gradient_loss, value_loss,
};
pub use on_policy::{AfterUpdate, Evaluate, RolloutHooks, RolloutSource, train_on_policy};
pub use resume::{train_actor_critic_resumable, train_on_policy_resumable};
pub use train::{
    ActorCriticMetrics, ActorCriticReport, ActorCriticTrainConfig, UpdateRecord, evaluate_actor,
    train_actor_critic,
};
pub use updater::{ActorCritic, ActorCriticStats};
