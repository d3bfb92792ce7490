//! Random finite MDPs, for property tests and benchmarks.

use burn::config::Config;
use rand::seq::index::sample;
use rand::{Rng, RngExt};

use crate::error::{Error, Result, check_finite, check_unit_interval};
use crate::tabular::{TabularMdp, Transition};

/// Shape of the random MDPs that [`RandomMdpConfig::generate`] draws.
///
/// Each state-action pair gets between 1 and `branching` distinct successor states with random
/// probabilities, rewards uniform in `[reward_low, reward_high]`, and each transition is
/// terminal with probability `terminal_probability`. Episodes start uniformly in any state.
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use valuefn::tabular::{FiniteMdp, RandomMdpConfig};
///
/// let config = RandomMdpConfig::new(6, 3);
/// let mdp = config.generate(&mut rand::rngs::StdRng::seed_from_u64(1)).unwrap();
/// assert_eq!((mdp.num_states(), mdp.num_actions()), (6, 3));
/// assert!(RandomMdpConfig::new(0, 3).generate(&mut rand::rngs::StdRng::seed_from_u64(1)).is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct RandomMdpConfig {
    /// Number of states (at least 1).
    pub num_states: usize,
    /// Number of actions (at least 1).
    pub num_actions: usize,
    /// Most successor states per state-action pair (at least 1, capped at `num_states`).
    #[config(default = 3)]
    pub branching: usize,
    /// Chance that a transition ends the episode, in `[0, 1]`.
    #[config(default = 0.1)]
    pub terminal_probability: f64,
    /// Smallest reward (finite).
    #[config(default = -1.0)]
    pub reward_low: f64,
    /// Largest reward (finite, `>= reward_low`).
    #[config(default = 1.0)]
    pub reward_high: f64,
}

impl RandomMdpConfig {
    /// The most transitions (`num_states x num_actions x min(branching, num_states)`) a
    /// config may ask for: 2^24, a few hundred MB.
    pub const MAX_TRANSITIONS: usize = 1 << 24;

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field; [`Error::TooLarge`] beyond
    /// [`RandomMdpConfig::MAX_TRANSITIONS`].
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("num_states", self.num_states),
            ("num_actions", self.num_actions),
            ("branching", self.branching),
        ] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", value));
            }
        }
        check_unit_interval("terminal_probability", self.terminal_probability)?;
        check_finite("reward_low", self.reward_low)?;
        check_finite("reward_high", self.reward_high)?;
        if self.reward_low > self.reward_high {
            return Err(Error::config(
                "reward_high",
                ">= reward_low",
                self.reward_high,
            ));
        }
        if !(self.reward_high - self.reward_low).is_finite() {
            return Err(Error::config(
                "reward_high",
                "within f64::MAX of reward_low (the width of the range must be finite)",
                self.reward_high,
            ));
        }
        let pairs = self.num_states as u128 * self.num_actions as u128;
        let size = pairs.saturating_mul(self.branching.min(self.num_states) as u128);
        if size > Self::MAX_TRANSITIONS as u128 {
            return Err(Error::TooLarge {
                what: "transitions of a random MDP (states x actions x branching)",
                size,
                limit: Self::MAX_TRANSITIONS as u128,
            });
        }
        Ok(())
    }

    /// Draws one MDP.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the config is invalid.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<TabularMdp> {
        self.validate()?;
        let n = self.num_states;
        TabularMdp::from_fn(n, self.num_actions, uniform_start(n), |_, _| {
            let successors = rng.random_range(1..=self.branching.min(n));
            let weights: Vec<f64> = (0..successors)
                .map(|_| rng.random_range(0.05..1.0))
                .collect();
            let total: f64 = weights.iter().sum();
            let next_states = sample(rng, n, successors);
            Ok(next_states
                .iter()
                .zip(&weights)
                .map(|(next_state, w)| Transition {
                    probability: w / total,
                    next_state,
                    reward: rng.random_range(self.reward_low..=self.reward_high),
                    terminal: rng.random_bool(self.terminal_probability),
                })
                .collect())
        })
    }
}

/// Uniform start distribution over `n` states.
pub(crate) fn uniform_start(n: usize) -> Vec<(usize, f64)> {
    (0..n).map(|s| (s, 1.0 / n as f64)).collect()
}
