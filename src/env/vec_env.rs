//! N copies of an environment stepped together, with automatic reset.

use crate::env::{Environment, Snapshot, restore_all};
use crate::error::{Error, Result};
use crate::space::Space;

/// What one [`SyncVecEnv::step`] produced, one entry per copy.
#[derive(Debug, Clone, PartialEq)]
pub struct VecStep<O> {
    /// The observation each copy will act on next: after an automatic reset where the episode
    /// ended, so it is *not* the state the step reached there (see `final_observations`).
    pub observations: Vec<O>,
    /// Rewards.
    pub rewards: Vec<f64>,
    /// Episode reached a terminal state: do not bootstrap.
    pub terminated: Vec<bool>,
    /// Episode was cut short: bootstrap from `final_observations`.
    pub truncated: Vec<bool>,
    /// Where an episode ended, the observation the step really reached (the one to bootstrap
    /// from when truncated); `None` elsewhere.
    pub final_observations: Vec<Option<O>>,
}

/// A synchronous vector environment: `N` copies stepped in lockstep on one thread; a copy
/// whose episode ends is reset at once (Gymnasium's "next-step" auto-reset is avoided: the
/// reset happens in the same call, and the true last observation is kept).
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::SyncVecEnv;
/// use valuefn::env::tabular::RandomWalk;
///
/// let envs = (0..3).map(|_| TabularEnv::new(RandomWalk::new(1, 0.0, 1.0).unwrap())).collect();
/// let mut vec_env = SyncVecEnv::new(envs)?;
/// assert_eq!(vec_env.reset(Some(0)), vec![0, 0, 0]);
/// let step = vec_env.step(&[0, 0, 0])?; // a one-state walk ends on every step
/// assert!(step.terminated.iter().all(|&t| t));
/// assert_eq!(step.final_observations, vec![Some(0); 3]);
/// assert!(vec_env.step(&[0, 7, 0]).is_err()); // checked before any copy moves
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct SyncVecEnv<E> {
    envs: Vec<E>,
    /// Whether [`SyncVecEnv::reset`] has run: from then on auto-reset keeps an episode
    /// running in every copy, so no copy can refuse a step with `EpisodeFinished`.
    started: bool,
}

impl<E: Environment> SyncVecEnv<E>
where
    E::Action: Clone + std::fmt::Debug,
    E::ActionSpace: std::fmt::Debug,
{
    /// Wraps the copies.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `envs` is empty.
    pub fn new(envs: Vec<E>) -> Result<Self> {
        if envs.is_empty() {
            return Err(Error::config("envs", "at least one environment", 0));
        }
        Ok(Self {
            envs,
            started: false,
        })
    }

    /// Number of copies.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Whether there are no copies (never true: construction requires one).
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// The copies.
    pub fn envs(&self) -> &[E] {
        &self.envs
    }

    /// Resets every copy; with `Some(seed)` copy `i` is seeded with `seed + i`.
    pub fn reset(&mut self, seed: Option<u64>) -> Vec<E::Observation> {
        self.started = true;
        self.envs
            .iter_mut()
            .enumerate()
            .map(|(i, env)| env.reset(seed.map(|s| s.wrapping_add(i as u64))))
            .collect()
    }

    /// Steps every copy with its action, resetting those whose episode ended.
    ///
    /// # Errors
    ///
    /// [`Error::EpisodeFinished`] before the first [`SyncVecEnv::reset`],
    /// [`Error::ShapeMismatch`] when there is not one action per copy, and
    /// [`Error::InvalidAction`] for an action outside its space: all checked before any copy
    /// is stepped, so on these errors no copy has moved. An error that only a copy's own
    /// step can find (a reward function returning NaN, say) is passed on, and the copies
    /// before it have then moved.
    pub fn step(&mut self, actions: &[E::Action]) -> Result<VecStep<E::Observation>> {
        if !self.started {
            return Err(Error::EpisodeFinished);
        }
        if actions.len() != self.envs.len() {
            return Err(Error::ShapeMismatch {
                what: "actions (one per environment)",
                expected: vec![self.envs.len()],
                actual: vec![actions.len()],
            });
        }
        for (env, action) in self.envs.iter().zip(actions) {
            if !env.action_space().contains(action) {
                return Err(Error::action(action, env.action_space()));
            }
        }
        let n = self.envs.len();
        let mut out = VecStep {
            observations: Vec::with_capacity(n),
            rewards: Vec::with_capacity(n),
            terminated: Vec::with_capacity(n),
            truncated: Vec::with_capacity(n),
            final_observations: Vec::with_capacity(n),
        };
        for (env, action) in self.envs.iter_mut().zip(actions) {
            let step = env.step(action.clone())?;
            out.rewards.push(step.reward);
            out.terminated.push(step.terminated);
            out.truncated.push(step.truncated);
            if step.done() {
                out.final_observations.push(Some(step.observation));
                out.observations.push(env.reset(None));
            } else {
                out.final_observations.push(None);
                out.observations.push(step.observation);
            }
        }
        Ok(out)
    }
}

/// The saved state of a [`SyncVecEnv`]: every copy's, in order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyncVecEnvSnapshot<S> {
    /// Whether the copies have been reset (auto-reset is running).
    pub started: bool,
    /// Each copy's state.
    pub envs: Vec<S>,
}

impl<E: Environment + Snapshot> Snapshot for SyncVecEnv<E> {
    type Snapshot = SyncVecEnvSnapshot<E::Snapshot>;

    fn snapshot(&self) -> Self::Snapshot {
        SyncVecEnvSnapshot {
            started: self.started,
            envs: self.envs.iter().map(Snapshot::snapshot).collect(),
        }
    }

    /// Restores every copy, or none: when a copy refuses its state, the copies restored before
    /// it are put back as they were.
    fn restore(&mut self, snapshot: Self::Snapshot) -> Result<()> {
        restore_all(
            "environment snapshots (one per copy)",
            &mut self.envs,
            snapshot.envs,
        )?;
        self.started = snapshot.started;
        Ok(())
    }
}
