//! The time-limit wrapper.

use crate::env::{Environment, Snapshot, Step};
use crate::error::{Error, Result};

/// Ends every episode after `max_steps` steps with `truncated = true`.
///
/// A step that terminates on its own reports `terminated = true, truncated = false`, even on the
/// last allowed step: termination is a fact of the MDP and wins (no bootstrapping needed).
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::tabular::GridWorld;
///
/// let mut env = TimeLimit::new(TabularEnv::new(GridWorld::example_3_5()), 2).unwrap();
/// env.reset(Some(1));
/// assert!(!env.step(0).unwrap().truncated);
/// let last = env.step(0).unwrap();
/// assert!(last.truncated && !last.terminated);
/// assert!(matches!(env.step(0), Err(Error::EpisodeFinished)));
/// ```
#[derive(Debug, Clone)]
pub struct TimeLimit<E> {
    env: E,
    max_steps: usize,
    elapsed: usize,
    finished: bool,
}

impl<E: Environment> TimeLimit<E> {
    /// Wraps `env`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `max_steps` is zero.
    pub fn new(env: E, max_steps: usize) -> Result<Self> {
        if max_steps == 0 {
            return Err(Error::config("max_steps", "at least 1", 0));
        }
        Ok(Self {
            env,
            max_steps,
            elapsed: 0,
            finished: true,
        })
    }

    /// Steps taken in the current episode.
    pub fn elapsed(&self) -> usize {
        self.elapsed
    }

    /// The step limit.
    pub fn max_steps(&self) -> usize {
        self.max_steps
    }

    /// The wrapped environment.
    pub fn inner(&self) -> &E {
        &self.env
    }

    /// Unwraps.
    pub fn into_inner(self) -> E {
        self.env
    }
}

impl<E: Environment> Environment for TimeLimit<E> {
    type Observation = E::Observation;
    type Action = E::Action;
    type ObservationSpace = E::ObservationSpace;
    type ActionSpace = E::ActionSpace;

    fn observation_space(&self) -> &Self::ObservationSpace {
        self.env.observation_space()
    }

    fn action_space(&self) -> &Self::ActionSpace {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> Self::Observation {
        self.elapsed = 0;
        self.finished = false;
        self.env.reset(seed)
    }

    fn step(&mut self, action: Self::Action) -> Result<Step<Self::Observation>> {
        if self.finished {
            return Err(Error::EpisodeFinished);
        }
        let mut step = self.env.step(action)?;
        self.elapsed += 1;
        if self.elapsed >= self.max_steps && !step.terminated {
            step.truncated = true;
        }
        self.finished = step.done();
        Ok(step)
    }
}

/// The saved state of a [`TimeLimit`]: the wrapped environment's and the step count.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimeLimitSnapshot<S> {
    /// The wrapped environment's state.
    pub inner: S,
    /// Steps taken in the current episode.
    pub elapsed: usize,
    /// Whether the episode has ended (or none has started).
    pub finished: bool,
}

impl<E: Environment + Snapshot> Snapshot for TimeLimit<E> {
    type Snapshot = TimeLimitSnapshot<E::Snapshot>;

    fn snapshot(&self) -> Self::Snapshot {
        TimeLimitSnapshot {
            inner: self.env.snapshot(),
            elapsed: self.elapsed,
            finished: self.finished,
        }
    }

    fn restore(&mut self, snapshot: Self::Snapshot) -> Result<()> {
        if snapshot.elapsed > self.max_steps {
            return Err(Error::config(
                "elapsed",
                "at most the time limit's max_steps",
                format!("{} of {}", snapshot.elapsed, self.max_steps),
            ));
        }
        self.env.restore(snapshot.inner)?;
        (self.elapsed, self.finished) = (snapshot.elapsed, snapshot.finished);
        Ok(())
    }
}
