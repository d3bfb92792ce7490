//! Exact solutions of finite MDPs: the truth every learner in the crate is tested against.
//!
//! Everything here is plain `f64` Rust, deliberately free of tensors: these are reference
//! answers, so they favour precision (a linear solve, tolerances down to `1e-10`) over speed.
//!
//! - [`FiniteMdp`]: what a solver needs (states, actions, transition lists); [`TabularMdp`]
//!   stores one explicitly, [`RandomMdpConfig`] draws random ones.
//! - Prediction: [`evaluate_policy`] (iterative, synchronous or in place) and
//!   [`evaluate_policy_exact`] (linear solve).
//! - Control: [`value_iteration`], [`policy_iteration`], [`q_from_v`],
//!   [`bellman_optimality_residual`], and greedy policies via [`QValues`] and [`PolicyTable`].
//! - KL-regularised control: [`soft_value_iteration`] (a reference policy and a temperature).
//!
//! See `docs/concepts.md` for the Bellman equations each one solves.

mod config;
mod control;
mod evaluation;
mod linear;
mod mdp;
mod random;
mod soft;
mod tables;

pub use config::{SolverConfig, Sweep};
pub use control::{
    OptimalSolution, bellman_optimality_residual, policy_iteration, policy_iteration_from,
    q_from_v, value_iteration,
};
pub use evaluation::{Solution, evaluate_policy, evaluate_policy_exact};
pub use mdp::{FiniteMdp, TabularMdp, Transition};
pub use random::RandomMdpConfig;
pub(crate) use random::uniform_start;
pub use soft::{SoftSolution, soft_value_iteration};
pub use tables::{PolicyTable, QValues};
