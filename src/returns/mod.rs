//! Return and target estimators: pure functions from batched trajectories to tensors.
//!
//! **Layout.** Multi-step estimators read a [`Rollout`]: `T` steps of `B` trajectories,
//! **time-major** (`[T, B]`, step `t` of trajectory `b` at `t * B + b`), with separate
//! `terminated` and `truncated` flags per step. Value inputs are `[T, B]` tensors: `values[t]`
//! is `V(s_t)`, `next_values[t]` is `V(s_{t+1})` for the state actually reached by step `t`
//! (for a truncated step, the true final observation, not the state after an automatic
//! reset). One-step targets read `[B]` rewards and flags with `[B, A]` next-state Q values.
//!
//! **Episode ends.** `terminated` stops bootstrapping: the target of a terminating step is its
//! reward alone. `truncated` stops the recursion but bootstraps from `next_values`. The end of
//! the rollout is treated like a truncation.
//!
//! | function | estimate |
//! |---|---|
//! | [`discounted_returns`] | `G_t = r_t + gamma G_{t+1}` (Monte Carlo, bootstrapped only at cuts) |
//! | [`n_step_targets`] | `sum_k gamma^k r_{t+k} + gamma^n V'` |
//! | [`lambda_returns`] | TD(lambda) returns |
//! | [`gae`] | GAE advantages and value targets |
//! | [`group_advantages`] | critic-free: a trajectory's return minus a baseline from its group (GRPO, Dr. GRPO, RLOO, ReMax) |
//! | [`normalized_returns`] | critic-free: returns-to-go standardised over the batch (REINFORCE++) |
//! | [`vtrace`] | V-trace targets and advantages with clipped importance weights |
//! | [`q_learning_targets`], [`double_q_targets`], [`expected_sarsa_targets`] | one-step Q targets |
//! | [`value_targets_discounted`] | `r + gamma^k V(s')` (ILQL's Q target) |
//! | [`soft_values`], [`soft_q_targets`], [`soft_q_targets_discounted`], [`soft_policy_log_probs`] | soft (log-sum-exp) backups and the policy they induce |

mod gae;
mod group;
mod lambda_return;
mod n_step;
mod one_step;
mod rollout;
mod soft;
mod vtrace;

pub use gae::{Advantages, gae};
pub use group::{GroupBaseline, Groups, episode_returns, group_advantages, normalized_returns};
pub use lambda_return::{discounted_returns, lambda_returns};
pub(crate) use n_step::n_step_target_values;
pub use n_step::n_step_targets;
pub(crate) use one_step::{
    bootstrap, expected_sarsa_targets_unchecked, q_learning_targets_unchecked,
};
pub use one_step::{
    double_q_targets, double_q_targets_discounted, expected_sarsa_targets, q_learning_targets,
    q_learning_targets_discounted, value_targets_discounted,
};
pub use rollout::{Rollout, Values};
pub use soft::{soft_policy_log_probs, soft_q_targets, soft_q_targets_discounted, soft_values};
pub use vtrace::{VTrace, VTraceConfig, vtrace};
