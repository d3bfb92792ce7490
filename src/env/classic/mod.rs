//! Gymnasium's classic control environments, step for step: [`CartPole`] (CartPole-v1),
//! [`Acrobot`] (Acrobot-v1) and [`MountainCar`] (MountainCar-v0).
//!
//! The dynamics repeat Gymnasium's Python code operation by operation in `f64` (same constants,
//! same order of floating-point operations, the same libm `sin`, `cos` and `pow` that numpy
//! calls), and observations are that `f64` state rounded to `f32`, as Gymnasium returns them.
//! `tests/classic_control.rs` replays trajectories recorded from Gymnasium 1.4
//! (`scripts/gym_reference.py`) and finds every observation and reward equal and the final
//! `f64` state equal to the bit, on Linux (glibc).
//!
//! Where this module differs from Gymnasium, on purpose:
//!
//! - **Seeds.** `reset(Some(seed))` is reproducible within this crate, but the generator is
//!   rand's `StdRng`, not numpy's, so a seed does not give Gymnasium's initial state. To start
//!   where a Gymnasium run starts, read its `env.unwrapped.state` and pass it to
//!   `reset_to_state`.
//! - **The time limit is built in** (`max_episode_steps` in each config, Gymnasium's
//!   registered value by default), where Gymnasium adds a `TimeLimit` wrapper in `gym.make`.
//!   As in [`crate::env::TimeLimit`], a step that terminates on the last allowed step reports
//!   `terminated = true, truncated = false`; Gymnasium's wrapper reports both.
//! - **After the end**, `step` returns [`crate::Error::EpisodeFinished`] (Gymnasium warns and
//!   keeps stepping), and an action outside the space is an [`crate::Error::InvalidAction`]
//!   that leaves the environment as it was (Gymnasium asserts).
//! - **Not `Clone`**: two copies of one random stream would play identical episodes. Each type
//!   has `replica()` (same settings, fresh generator), and `state()` / `reset_to_state` copy a
//!   physical state from one environment to another.
//!
//! # Example
//!
//! ```
//! use valuefn::prelude::*;
//! use valuefn::env::classic::CartPole;
//! use valuefn::encode::Features;
//!
//! let mut env = CartPole::new();
//! let mut observations = vec![env.reset(Some(0))];
//! loop {
//!     let step = env.step(CartPole::PUSH_RIGHT)?;
//!     observations.push(step.observation.clone());
//!     if step.done() {
//!         assert!(step.terminated); // pushing one way tips the pole within a few dozen steps
//!         break;
//!     }
//! }
//! let batch = Features::new(4).encode(&observations, &valuefn::device::default_device())?;
//! assert_eq!(batch.dims(), [observations.len(), 4]);
//! # Ok::<(), valuefn::Error>(())
//! ```

mod acrobot;
mod cartpole;
mod mountain_car;

pub use acrobot::{Acrobot, AcrobotConfig};
pub use cartpole::{CartPole, CartPoleConfig};
pub use mountain_car::{MountainCar, MountainCarConfig};

use serde::{Deserialize, Serialize};

use crate::checkpoint::{ChaCha12Rng, RngState};
use crate::error::{Error, Result, check_finite, check_finite_f32};

/// Step counting and the time limit, shared by the three environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Clock {
    max_episode_steps: usize,
    elapsed: usize,
    running: bool,
}

impl Clock {
    /// A clock with no episode in progress.
    fn new(max_episode_steps: usize) -> Self {
        Self {
            max_episode_steps,
            elapsed: 0,
            running: false,
        }
    }

    /// Starts an episode.
    fn start(&mut self) {
        self.elapsed = 0;
        self.running = true;
    }

    /// Counts one step that did or did not terminate, and returns whether it truncates the
    /// episode (termination wins on the last allowed step).
    fn tick(&mut self, terminated: bool) -> bool {
        self.elapsed += 1;
        let truncated = !terminated && self.elapsed >= self.max_episode_steps;
        self.running = !(terminated || truncated);
        truncated
    }
}

/// The saved state of a classic-control environment (its [`crate::env::Snapshot`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicSnapshot {
    /// The random generator that draws initial states.
    pub rng: RngState,
    /// The physical state, or `None` before the first reset.
    pub state: Option<Vec<f64>>,
    /// Steps taken in the current episode.
    pub elapsed: usize,
    /// Whether an episode is in progress.
    pub running: bool,
}

impl ClassicSnapshot {
    fn of<const N: usize>(rng: &ChaCha12Rng, state: Option<[f64; N]>, clock: &Clock) -> Self {
        Self {
            rng: RngState::of(rng),
            state: state.map(Vec::from),
            elapsed: clock.elapsed,
            running: clock.running,
        }
    }

    /// The generator, state and clock this snapshot holds, checked against the environment's
    /// step limit.
    fn parts<const N: usize>(
        self,
        what: &'static str,
        max_episode_steps: usize,
    ) -> Result<(ChaCha12Rng, Option<[f64; N]>, Clock)> {
        let state = match self.state {
            None => None,
            Some(state) => {
                let state: [f64; N] =
                    state
                        .as_slice()
                        .try_into()
                        .map_err(|_| Error::ShapeMismatch {
                            what,
                            expected: vec![N],
                            actual: vec![state.len()],
                        })?;
                check_state(what, &state)?;
                Some(state)
            }
        };
        let limit = if self.running {
            max_episode_steps - 1
        } else {
            max_episode_steps
        };
        if self.elapsed > limit || (self.running && state.is_none()) {
            return Err(Error::config(
                "elapsed",
                "below max_episode_steps, with a state, while an episode runs",
                format!(
                    "{} of {max_episode_steps} (running: {}, state: {})",
                    self.elapsed,
                    self.running,
                    state.is_some()
                ),
            ));
        }
        let clock = Clock {
            max_episode_steps,
            elapsed: self.elapsed,
            running: self.running,
        };
        Ok((self.rng.restore()?, state, clock))
    }
}

/// Checks a `max_episode_steps` setting.
fn check_max_episode_steps(max_episode_steps: usize) -> Result<()> {
    if max_episode_steps == 0 {
        return Err(Error::config("max_episode_steps", "at least 1", 0));
    }
    Ok(())
}

/// Checks that every coordinate of a state passed to `reset_to_state` (or restored from a
/// snapshot) is finite, and finite as an `f32` too: the observation is `f32`, as Gymnasium's,
/// and 1e300 there is infinite.
fn check_state(what: &'static str, state: &[f64]) -> Result<()> {
    state.iter().try_for_each(|&x| {
        check_finite(what, x)?;
        check_finite_f32(what, x).map(|_| ())
    })
}

/// The `f64` state rounded to the `f32` observation, as numpy's `astype(float32)` rounds.
fn to_f32<const N: usize>(state: [f64; N]) -> Vec<f32> {
    state.iter().map(|&x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_truncates_at_the_limit_unless_the_step_terminates() {
        let mut clock = Clock::new(2);
        clock.start();
        assert!(!clock.tick(false) && clock.running);
        assert!(clock.tick(false) && !clock.running);
        clock.start();
        assert!(!clock.tick(false));
        assert!(!clock.tick(true) && !clock.running && clock.elapsed == 2);
    }

    #[test]
    fn bad_settings_and_states_are_errors() {
        assert!(matches!(
            check_max_episode_steps(0),
            Err(Error::InvalidConfig {
                field: "max_episode_steps",
                ..
            })
        ));
        assert!(check_state("state", &[0.0, f64::NAN]).is_err());
        assert!(check_state("state", &[0.0, 1.0]).is_ok());
    }
}
