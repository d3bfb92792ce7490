//! The identity environment: repeat the symbol you see.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::env::{Environment, Step};
use crate::error::{Error, Result};
use crate::space::{Discrete, Space};

/// Stable-Baselines3's `IdentityEnv`: the observation is a symbol drawn uniformly from
/// `0..n`, the reward is 1 when the action equals it and 0 otherwise, and each step draws a
/// new symbol. An episode is truncated after `episode_length` steps (it never terminates).
/// The optimal policy copies the observation and earns 1 per step; a uniform one earns `1/n`.
///
/// A smoke test for learners: a policy gradient on it must find the identity map.
///
/// # Example
///
/// ```
/// use valuefn::env::IdentityEnv;
/// use valuefn::prelude::*;
///
/// let mut env = IdentityEnv::new(4, 3)?;
/// let symbol = env.reset(Some(0));
/// let step = env.step(symbol)?;
/// assert_eq!(step.reward, 1.0);
/// assert!(env.step(4).is_err()); // no action 4
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct IdentityEnv {
    space: Discrete,
    episode_length: usize,
    symbol: Option<usize>,
    steps: usize,
    rng: StdRng,
}

impl IdentityEnv {
    /// `n` symbols, episodes of `episode_length` steps.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `n` or `episode_length` is 0.
    pub fn new(n: usize, episode_length: usize) -> Result<Self> {
        if episode_length == 0 {
            return Err(Error::config("episode_length", "at least 1", 0));
        }
        Ok(Self {
            space: Discrete::new(n)?,
            episode_length,
            symbol: None,
            steps: 0,
            rng: StdRng::seed_from_u64(0),
        })
    }
}

impl Environment for IdentityEnv {
    type Observation = usize;
    type Action = usize;
    type ObservationSpace = Discrete;
    type ActionSpace = Discrete;

    fn observation_space(&self) -> &Discrete {
        &self.space
    }

    fn action_space(&self) -> &Discrete {
        &self.space
    }

    fn reset(&mut self, seed: Option<u64>) -> usize {
        if let Some(seed) = seed {
            self.rng = StdRng::seed_from_u64(seed);
        }
        self.steps = 0;
        let symbol = self.space.sample(&mut self.rng);
        self.symbol = Some(symbol);
        symbol
    }

    fn step(&mut self, action: usize) -> Result<Step<usize>> {
        let symbol = self.symbol.ok_or(Error::EpisodeFinished)?;
        let action = self.space.check_action(action)?;
        let reward = if action == symbol { 1.0 } else { 0.0 };
        self.steps += 1;
        let next = self.rng.random_range(0..self.space.n());
        let truncated = self.steps >= self.episode_length;
        self.symbol = (!truncated).then_some(next);
        Ok(Step {
            observation: next,
            reward,
            terminated: false,
            truncated,
        })
    }
}
