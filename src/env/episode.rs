//! Whole episodes: the convenience methods every environment gets.

use serde::{Deserialize, Serialize};

use crate::env::Environment;
use crate::error::Result;

/// Summary of one finished episode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpisodeStats {
    /// Undiscounted sum of rewards.
    pub episode_return: f64,
    /// Number of steps.
    pub length: usize,
    /// Whether it ended in a terminal state (else it was truncated).
    pub terminated: bool,
}

/// Methods that follow from [`Environment`]; implemented for every environment.
pub trait EnvironmentExt: Environment {
    /// Runs one episode from `reset(seed)`, choosing each action with `act`, until it
    /// terminates or is truncated.
    ///
    /// This loops until the environment ends the episode: wrap continuing tasks in a
    /// [`crate::env::TimeLimit`].
    ///
    /// # Errors
    ///
    /// Whatever [`Environment::step`] returns (an invalid action from `act`, say).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::tabular::CliffWalking;
    ///
    /// // Up, eleven steps right, down: the optimal path along the cliff edge.
    /// let plan = [0].into_iter().chain([1; 11]).chain([2]);
    /// let mut plan = plan.into_iter();
    /// let mut env = TabularEnv::new(CliffWalking::new());
    /// let stats = env.run_episode(Some(0), |_| plan.next().unwrap()).unwrap();
    /// assert_eq!((stats.episode_return, stats.length, stats.terminated), (-13.0, 13, true));
    /// ```
    fn run_episode(
        &mut self,
        seed: Option<u64>,
        mut act: impl FnMut(&Self::Observation) -> Self::Action,
    ) -> Result<EpisodeStats> {
        let mut observation = self.reset(seed);
        let mut stats = EpisodeStats {
            episode_return: 0.0,
            length: 0,
            terminated: false,
        };
        loop {
            let step = self.step(act(&observation))?;
            stats.episode_return += step.reward;
            stats.length += 1;
            if step.done() {
                stats.terminated = step.terminated;
                return Ok(stats);
            }
            observation = step.observation;
        }
    }
}

impl<E: Environment + ?Sized> EnvironmentExt for E {}
