//! # valuefn
//!
//! Value-function reinforcement learning on [burn]: Q-functions and V-functions, the exact
//! tabular solvers that every learned value is checked against, the book environments, batched
//! tabular TD learners, return estimators, and a token-level text-generation MDP in which a
//! language model is the agent.
//!
//! The backend is a run-time [`burn::tensor::Device`]: the same code runs on burn-ndarray (the
//! default), burn-flex, or LibTorch on CPU or CUDA (the `tch` feature). See [`device`].
//!
//! ## A two-minute tour
//!
//! Solve Example 3.5 of Sutton and Barto exactly, then read the optimal values through the
//! tensor-backed [`QFunction`](value::QFunction) interface that learners share:
//!
//! ```
//! use valuefn::prelude::*;
//! use valuefn::env::tabular::GridWorld;
//! use valuefn::tensor_ops::{index_tensor, to_vec_f32};
//!
//! // Exact truth: value iteration on the book's 5x5 grid world, gamma 0.9.
//! let grid = GridWorld::example_3_5();
//! let best = value_iteration(&grid, &SolverConfig::new().with_gamma(0.9))?;
//! assert!((best.values[1] - 24.4).abs() < 0.05); // cell A, as printed in Figure 3.5
//!
//! // The same numbers as a Q-table on a device, queried in a batch.
//! let device = valuefn::device::default_device();
//! let q = QTable::from_q_values(&best.q_values, &device);
//! let v = q.max_q(index_tensor(&[0, 1], &device))?;
//! let v = to_vec_f32(v);
//! assert!((v[0] - 22.0).abs() < 0.05 && (v[1] - 24.4).abs() < 0.05);
//!
//! // And the environment simulates the very same model.
//! let mut env = TabularEnv::new(grid);
//! let s = env.reset(Some(7));
//! let step = env.step(best.policy[s])?;
//! assert!(!step.terminated);
//! # Ok::<(), valuefn::Error>(())
//! ```
//!
//! ## Map
//!
//! - [`env`](mod@env): [`Environment`](env::Environment), [`Step`](env::Step) (`terminated` apart from
//!   `truncated`), [`TimeLimit`](env::TimeLimit), [`TabularEnv`](env::TabularEnv), and the book
//!   environments in [`env::tabular`].
//! - [`env::text`]: the text-generation MDP ([`TextGenerationEnv`](env::text::TextGenerationEnv),
//!   rewards, [`BatchedTextEnv`](env::text::BatchedTextEnv)) and its exact enumeration
//!   [`TextMdp`](env::text::TextMdp); [`text`]: vocabulary, tokenizers, tasks and corpora.
//! - [`env::classic`]: CartPole-v1, Acrobot-v1 and MountainCar-v0, step for step equal to
//!   Gymnasium's.
//! - [`algo::dqn`]: the deep Q-learning updater [`Dqn`](algo::dqn::Dqn) (generic over the
//!   network), checkpoints, and [`train_dqn`](algo::dqn::train_dqn).
//! - [`algo::actor_critic`]: A2C and PPO in one updater,
//!   [`ActorCritic`](algo::actor_critic::ActorCritic) (generic over the actor and critic
//!   modules, separate optimisers), checkpoints, and
//!   [`train_actor_critic`](algo::actor_critic::train_actor_critic).
//! - [`space`]: [`Discrete`](space::Discrete) and [`BoxSpace`](space::BoxSpace).
//! - [`tabular`]: finite MDPs and their exact solutions (policy evaluation, value iteration,
//!   policy iteration), in `f64`.
//! - [`value`], [`policy`]: the tensor-side traits and tables; greedy, epsilon-greedy and
//!   Boltzmann action selection.
//! - [`algo`]: tabular TD(0), n-step TD, Q-learning, SARSA, expected SARSA, n-step SARSA, and
//!   [`algo::train_tabular`].
//! - [`returns`]: discounted, n-step and TD(lambda) returns, GAE, V-trace, one-step and soft
//!   targets.
//! - [`nn`]: neural value functions and policies ([`Mlp`](nn::Mlp), [`QNetwork`](nn::QNetwork),
//!   [`VNetwork`](nn::VNetwork), [`CategoricalPolicy`](nn::CategoricalPolicy)), and tables as
//!   trainable parameters ([`SoftmaxTable`](nn::SoftmaxTable),
//!   [`TrainableVTable`](nn::TrainableVTable)).
//! - [`lm`]: language models as agents: causal bodies (transformer with a key/value cache,
//!   GRU) under policy, Q and V heads, incremental decoding and generation.
//! - [`replay`]: uniform and prioritized replay memories, n-step transitions.
//! - [`encode`]: observations to tensors.
//! - [`checkpoint`]: atomic, verified checkpoint folders (what every `save` writes).
//! - [`error`]: one [`Error`] enum for everything a caller can get wrong.

#![warn(missing_docs)]

pub mod algo;
pub mod batch;
pub mod checkpoint;
pub mod device;
pub mod encode;
pub mod env;
pub mod error;
pub mod lm;
pub mod nn;
pub mod policy;
pub mod replay;
pub mod returns;
pub mod space;
pub mod tabular;
pub mod tensor_ops;
pub mod text;
pub mod value;

pub use error::{Error, Result};

/// The traits and types most programs need.
pub mod prelude {
    pub use crate::encode::{ObservationEncoder, StateIndex};
    pub use crate::env::{Environment, EnvironmentExt, Step, TabularEnv, TimeLimit};
    pub use crate::error::{Error, Result};
    pub use crate::policy::{Policy, TabularPolicy};
    pub use crate::space::{Discrete, Space};
    pub use crate::tabular::{
        FiniteMdp, PolicyTable, QValues, SolverConfig, Sweep, evaluate_policy,
        evaluate_policy_exact, policy_iteration, q_from_v, value_iteration,
    };
    pub use crate::value::{QFunction, QFunctionExt, QTable, VFunction, VTable};
}

/// The README's code blocks, compiled and run as doc tests so the README cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// docs/saved-state.md's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/saved-state.md")]
pub struct SavedStateDoctests;

/// docs/baselines.md's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/baselines.md")]
pub struct BaselinesDoctests;

/// docs/pretrained.md's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/pretrained.md")]
pub struct PretrainedDoctests;
