//! Environments: the [`Environment`] trait, its [`Step`], wrappers, and the tabular
//! environments of the book.
//!
//! [`classic`] has Gymnasium's classic control environments (CartPole, Acrobot, MountainCar),
//! matching Gymnasium's numbers step for step.
//!
//! An environment is free of burn: it steps on plain Rust values, and turning its observations
//! into tensors is the job of an [`crate::encode::ObservationEncoder`]. That keeps stepping
//! cheap and lets the same environment feed any backend.

pub mod classic;
mod episode;
mod identity;
mod snapshot;
pub mod tabular;
mod tabular_env;
pub mod text;
mod time_limit;
mod vec_env;

pub use episode::{EnvironmentExt, EpisodeStats};
pub use identity::IdentityEnv;
pub use snapshot::Snapshot;
pub(crate) use snapshot::restore_all;
pub use tabular_env::{TabularEnv, TabularSnapshot};
pub use time_limit::{TimeLimit, TimeLimitSnapshot};
pub use vec_env::{SyncVecEnv, SyncVecEnvSnapshot, VecStep};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::space::Space;

/// What one call to [`Environment::step`] produced.
///
/// `terminated` and `truncated` are kept apart because learners treat them differently: a
/// terminated episode reached a terminal state, whose value is zero, so targets must not
/// bootstrap; a truncated one was cut short (by a time limit, say) in a state that still has a
/// future, so targets bootstrap from `observation`. At most one of them is true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step<O> {
    /// The observation after the action (the true next state, also when the episode ended).
    pub observation: O,
    /// Reward for the transition.
    pub reward: f64,
    /// The episode reached a terminal state: do not bootstrap from `observation`.
    pub terminated: bool,
    /// The episode was cut short (not by the MDP): do bootstrap from `observation`.
    pub truncated: bool,
}

impl<O> Step<O> {
    /// Whether the episode is over, either way; the next call must be a reset.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A reinforcement-learning environment with episodes.
///
/// Seeding follows Gymnasium: `reset(Some(seed))` reseeds the environment's random generator,
/// `reset(None)` continues its stream, so a run started with a seed is reproducible.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::tabular::CliffWalking;
///
/// let mut env = TabularEnv::new(CliffWalking::new());
/// let start = env.reset(Some(0));
/// assert_eq!(start, 36);
/// let step = env.step(CliffWalking::RIGHT).unwrap(); // into the cliff
/// assert_eq!((step.observation, step.reward, step.terminated), (36, -100.0, false));
/// assert!(env.step(9).is_err()); // no action 9
/// ```
pub trait Environment {
    /// What the agent sees.
    type Observation: Clone;
    /// What the agent does.
    type Action;
    /// The set of possible observations.
    type ObservationSpace: Space<Element = Self::Observation>;
    /// The set of legal actions.
    type ActionSpace: Space<Element = Self::Action>;

    /// The set of possible observations.
    fn observation_space(&self) -> &Self::ObservationSpace;

    /// The set of legal actions.
    fn action_space(&self) -> &Self::ActionSpace;

    /// Starts a new episode and returns its first observation; `Some(seed)` reseeds.
    fn reset(&mut self, seed: Option<u64>) -> Self::Observation;

    /// Applies `action`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidAction`] when `action` is outside the action space (the
    /// environment is left unchanged); [`crate::Error::EpisodeFinished`] before the first reset
    /// or after the episode ended.
    fn step(&mut self, action: Self::Action) -> Result<Step<Self::Observation>>;
}
