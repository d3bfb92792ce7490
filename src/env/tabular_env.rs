//! Any finite MDP as a steppable environment.

use rand::{RngExt, SeedableRng};

use serde::{Deserialize, Serialize};

use crate::checkpoint::{ChaCha12Rng, RngState};
use crate::env::{Environment, Snapshot, Step};
use crate::error::{Error, Result};
use crate::space::Discrete;
use crate::tabular::{FiniteMdp, Transition};

/// Simulates a [`FiniteMdp`] by sampling its transition lists, so the environment an agent
/// learns in and the model the exact solvers read are one definition.
///
/// Observations and actions are indices. The random generator starts from seed 0 until
/// `reset(Some(seed))` reseeds it.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::tabular::FrozenLake;
///
/// let mut env = TabularEnv::new(FrozenLake::four_by_four(false));
/// assert_eq!(env.reset(Some(42)), 0);
/// let step = env.step(FrozenLake::DOWN).unwrap();
/// assert_eq!(step.observation, 4);
/// ```
#[derive(Debug)]
pub struct TabularEnv<M> {
    mdp: M,
    rng: ChaCha12Rng,
    state: Option<usize>,
    observation_space: Discrete,
    action_space: Discrete,
}

impl<M: FiniteMdp> TabularEnv<M> {
    /// Wraps `mdp`.
    pub fn new(mdp: M) -> Self {
        // A FiniteMdp has at least one state and one action (TabularMdp checks this).
        let observation_space = Discrete::new(mdp.num_states().max(1)).expect("n >= 1");
        let action_space = Discrete::new(mdp.num_actions().max(1)).expect("n >= 1");
        Self {
            mdp,
            rng: ChaCha12Rng::seed_from_u64(0),
            state: None,
            observation_space,
            action_space,
        }
    }

    /// The model being simulated.
    pub fn mdp(&self) -> &M {
        &self.mdp
    }

    /// The current state, `None` between episodes.
    pub fn state(&self) -> Option<usize> {
        self.state
    }

    /// Starts an episode in a chosen state (exploring starts, or testing one transition).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] when `state` is out of range.
    pub fn reset_to(&mut self, state: usize) -> Result<usize> {
        if state >= self.mdp.num_states() {
            return Err(Error::InvalidState {
                state,
                num_states: self.mdp.num_states(),
            });
        }
        self.state = Some(state);
        Ok(state)
    }
}

/// Picks an outcome from a list by inverse CDF on one uniform draw.
fn choose<'a, T>(
    rng: &mut ChaCha12Rng,
    outcomes: &'a [T],
    probability: impl Fn(&T) -> f64,
) -> &'a T {
    let mut u: f64 = rng.random();
    for outcome in outcomes {
        u -= probability(outcome);
        if u < 0.0 {
            return outcome;
        }
    }
    // Rounding can leave u a hair above zero: the last outcome takes the remainder.
    outcomes
        .last()
        .expect("validated MDPs have no empty outcome lists")
}

impl<M: FiniteMdp> Environment for TabularEnv<M> {
    type Observation = usize;
    type Action = usize;
    type ObservationSpace = Discrete;
    type ActionSpace = Discrete;

    fn observation_space(&self) -> &Discrete {
        &self.observation_space
    }

    fn action_space(&self) -> &Discrete {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> usize {
        if let Some(seed) = seed {
            self.rng = ChaCha12Rng::seed_from_u64(seed);
        }
        let state = choose(&mut self.rng, self.mdp.initial_distribution(), |(_, p)| *p).0;
        self.state = Some(state);
        state
    }

    fn step(&mut self, action: usize) -> Result<Step<usize>> {
        let state = self.state.ok_or(Error::EpisodeFinished)?;
        let action = self.action_space.check_action(action)?;
        let &Transition {
            next_state,
            reward,
            terminal,
            ..
        } = choose(&mut self.rng, self.mdp.transitions(state, action), |t| {
            t.probability
        });
        self.state = (!terminal).then_some(next_state);
        Ok(Step {
            observation: next_state,
            reward,
            terminated: terminal,
            truncated: false,
        })
    }
}
/// The saved state of a [`TabularEnv`] (its [`Snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TabularSnapshot {
    /// The random generator of initial states and transitions.
    pub rng: RngState,
    /// The current state, or `None` between episodes.
    pub state: Option<usize>,
}

impl<M: FiniteMdp> Snapshot for TabularEnv<M> {
    type Snapshot = TabularSnapshot;

    fn snapshot(&self) -> TabularSnapshot {
        TabularSnapshot {
            rng: RngState::of(&self.rng),
            state: self.state,
        }
    }

    fn restore(&mut self, snapshot: TabularSnapshot) -> Result<()> {
        if let Some(state) = snapshot.state
            && state >= self.mdp.num_states()
        {
            return Err(Error::InvalidState {
                state,
                num_states: self.mdp.num_states(),
            });
        }
        self.rng = snapshot.rng.restore()?;
        self.state = snapshot.state;
        Ok(())
    }
}
