//! Turning environment steps into n-step transitions, one window per environment copy.

use std::collections::VecDeque;

use crate::error::{Error, Result, check_count, check_gamma};
use crate::replay::{RowReplay, Transition};

/// One environment step of one copy, as [`NStepCollector::push`] reads it.
///
/// `next_observation` is the state the step really reached: where the episode ended, the
/// final observation ([`VecStep::final_observations`](crate::env::VecStep::final_observations)
/// of a [`SyncVecEnv`](crate::env::SyncVecEnv)), not the first one of the next episode.
///
/// # Example
///
/// ```
/// use valuefn::replay::EnvStep;
///
/// let step = EnvStep {
///     observation: &[0.0, 1.0],
///     action: 1,
///     reward: 1.0,
///     next_observation: &[0.5, 1.0],
///     terminated: false,
///     truncated: false,
/// };
/// assert!(!step.terminated && !step.truncated);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvStep<'a> {
    /// The state `s_t` acted in.
    pub observation: &'a [f32],
    /// The action `a_t`.
    pub action: usize,
    /// The reward `r_t`.
    pub reward: f64,
    /// The state `s_{t+1}` reached (the true final state where the episode ended).
    pub next_observation: &'a [f32],
    /// The episode reached a terminal state: no bootstrap from `next_observation`.
    pub terminated: bool,
    /// The episode was cut short (a time limit): bootstrap from `next_observation`.
    pub truncated: bool,
}

/// A step waiting for its window to fill (saved as is in a training checkpoint).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pending {
    observation: Vec<f32>,
    action: usize,
    reward: f64,
}

/// Builds n-step transitions from a stream of steps of `num_envs` environment copies, keeping
/// one FIFO window of at most `n` pending steps per copy, so copies never mix.
///
/// On each [`NStepCollector::push`] for copy `e`, with the copy's pending steps
/// `t0, t0 + 1, ..., t` (the new step `t` included, `m = t - t0 + 1 <= n` of them):
///
/// - **Episode goes on** (neither flag set) and `m = n`: the oldest step `t0` is emitted as
///   `(s_t0, a_t0, R, s_{t+1}, terminated = false, discount = gamma^n)` with
///   `R = sum_{j<n} gamma^j r_{t0+j}`, and leaves the window.
/// - **Episode ends** (`terminated` or `truncated`): every pending step `u` is emitted with the
///   `k = t - u + 1 <= n` rewards left in the episode:
///   `(s_u, a_u, sum_{j<k} gamma^j r_{u+j}, s_{t+1}, terminated, gamma^k)`, where `s_{t+1}` is
///   the step's (true, final) next observation and `terminated` is the last step's flag (when
///   both flags are set, termination wins). So a truncated end bootstraps with `gamma^k`, and a
///   terminated end does not bootstrap. The window is then empty for the next episode.
///
/// The target of every stored row is `R + discount * (1 - terminated) * V(next_observation)`:
/// exactly [`n_step_targets`](crate::returns::n_step_targets) of the same trajectory, for each
/// step whose window completed. `n = 1` emits every step at once as
/// `(s_t, a_t, r_t, s_{t+1}, terminated, gamma)`. Steps still pending when collection stops
/// are never emitted (call [`NStepCollector::clear`] to drop them, for instance after
/// resetting the environments without an episode end).
///
/// # Example
///
/// ```
/// use valuefn::replay::{EnvStep, NStepCollector, Replay, ReplayBuffer, ReplayConfig};
///
/// let mut buffer = ReplayBuffer::new(&ReplayConfig::new(16, 1, 2))?;
/// let mut collector = NStepCollector::new(3, 0.5, 1)?;
/// let step = |x: &'static [f32], next: &'static [f32], reward: f64, terminated: bool| EnvStep {
///     observation: x, action: 0, reward, next_observation: next, terminated, truncated: false,
/// };
/// collector.push(0, step(&[0.0], &[1.0], 1.0, false), &mut buffer)?;
/// collector.push(0, step(&[1.0], &[2.0], 2.0, false), &mut buffer)?;
/// assert_eq!(buffer.len(), 0); // the window of 3 is not full yet
/// collector.push(0, step(&[2.0], &[3.0], 4.0, true), &mut buffer)?;
/// // The episode terminated: all three pending steps are flushed.
/// let stored: Vec<_> = (0..3).map(|i| buffer.get(i).unwrap()).collect();
/// assert_eq!(stored[0].reward, 1.0 + 0.5 * 2.0 + 0.25 * 4.0);
/// assert_eq!((stored[0].discount, stored[1].discount, stored[2].discount), (0.125, 0.25, 0.5));
/// assert!(stored.iter().all(|t| t.terminated && t.next_observation == [3.0]));
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct NStepCollector {
    n: usize,
    gamma: f64,
    windows: Vec<VecDeque<Pending>>,
}

impl NStepCollector {
    /// The most environment copies a collector keeps windows for, `2^20`.
    pub const MAX_ENVS: usize = 1 << 20;

    /// A collector of `n`-step transitions discounted by `gamma`, for `num_envs` copies.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for `n = 0`, `num_envs = 0` or `gamma` outside `[0, 1]`;
    /// [`Error::TooLarge`] for more than [`NStepCollector::MAX_ENVS`] copies.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::NStepCollector;
    ///
    /// assert!(NStepCollector::new(3, 0.99, 4).is_ok());
    /// assert!(NStepCollector::new(0, 0.99, 4).is_err());
    /// assert!(NStepCollector::new(3, 1.5, 4).is_err());
    /// ```
    pub fn new(n: usize, gamma: f64, num_envs: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::config("n", "at least 1", 0));
        }
        check_gamma(gamma)?;
        if num_envs == 0 {
            return Err(Error::config("num_envs", "at least 1", 0));
        }
        check_count("environment copies (num_envs)", num_envs, Self::MAX_ENVS)?;
        Ok(Self {
            n,
            gamma,
            windows: vec![VecDeque::new(); num_envs],
        })
    }

    /// The number of steps per transition.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The discount factor.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// Number of environment copies.
    pub fn num_envs(&self) -> usize {
        self.windows.len()
    }

    /// Steps of copy `env` waiting for their window to fill (0 for an `env` out of range).
    pub fn pending(&self, env: usize) -> usize {
        self.windows.get(env).map_or(0, VecDeque::len)
    }

    /// Every copy's pending steps, oldest first (for a training checkpoint).
    pub(crate) fn windows(&self) -> Vec<Vec<Pending>> {
        self.windows
            .iter()
            .map(|window| window.iter().cloned().collect())
            .collect()
    }

    /// Puts back the pending steps of [`NStepCollector::windows`], checked against the shape
    /// of the memory they will go to. On an error nothing changes.
    pub(crate) fn restore_windows(
        &mut self,
        windows: Vec<Vec<Pending>>,
        observation_dim: usize,
        num_actions: usize,
    ) -> Result<()> {
        if windows.len() != self.windows.len() {
            return Err(Error::ShapeMismatch {
                what: "n-step windows (one per environment copy)",
                expected: vec![self.windows.len()],
                actual: vec![windows.len()],
            });
        }
        for window in &windows {
            if window.len() >= self.n {
                return Err(Error::config(
                    "pending steps",
                    "fewer than n per copy",
                    format!("{} with n = {}", window.len(), self.n),
                ));
            }
            for step in window {
                Transition::one_step(
                    &step.observation,
                    step.action,
                    step.reward,
                    &step.observation,
                    false,
                    self.gamma,
                )
                .validate(observation_dim, num_actions)?;
            }
        }
        self.windows = windows.into_iter().map(VecDeque::from).collect();
        Ok(())
    }

    /// Drops every pending step of every copy.
    pub fn clear(&mut self) {
        self.windows.iter_mut().for_each(VecDeque::clear);
    }

    /// Records one step of copy `env` and pushes into `out` every transition it completes
    /// (see the type's documentation for which, and their rewards and discounts).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] (field `env`) for `env >= num_envs`; as
    /// [`Transition::validate`] against `out`'s shape for the step itself or for an emitted
    /// transition (a discounted sum beyond `f32`'s range). Everything is checked before
    /// anything is pushed: on `Err` neither `out` nor the collector changes.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::{EnvStep, NStepCollector, Replay, ReplayBuffer, ReplayConfig};
    ///
    /// let mut buffer = ReplayBuffer::new(&ReplayConfig::new(8, 1, 2))?;
    /// let mut collector = NStepCollector::new(2, 0.9, 2)?;
    /// let step = EnvStep {
    ///     observation: &[0.0], action: 1, reward: 1.0, next_observation: &[1.0],
    ///     terminated: false, truncated: true,
    /// };
    /// collector.push(1, step, &mut buffer)?; // a time limit after one step
    /// let t = buffer.get(0).unwrap();
    /// assert_eq!((t.reward, t.discount, t.terminated), (1.0, 0.9f32 as f64, false));
    /// assert!(collector.push(2, step, &mut buffer).is_err()); // only copies 0 and 1
    /// assert!(collector.push(0, EnvStep { action: 2, ..step }, &mut buffer).is_err());
    /// assert_eq!((buffer.len(), collector.pending(0)), (1, 0));
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn push<M: RowReplay + ?Sized>(
        &mut self,
        env: usize,
        step: EnvStep<'_>,
        out: &mut M,
    ) -> Result<()> {
        let num_envs = self.windows.len();
        let window = self.windows.get(env).ok_or_else(|| {
            Error::config(
                "env",
                "below num_envs",
                format!("{env} with num_envs {num_envs}"),
            )
        })?;
        let (dim, num_actions) = (out.observation_dim(), out.num_actions());
        Transition::one_step(
            step.observation,
            step.action,
            step.reward,
            step.next_observation,
            step.terminated,
            self.gamma,
        )
        .validate(dim, num_actions)?;

        let ended = step.terminated || step.truncated;
        let steps = window.len() + 1;
        let emitted = if ended {
            steps
        } else if steps == self.n {
            1
        } else {
            0
        };
        // Scanning back from the new step, the suffix of the window that starts at position u
        // holds k = steps - u steps: R_u = r_u + gamma R_{u+1} and discount gamma^k. The first
        // `emitted` positions are emitted, oldest first.
        let mut transitions = Vec::with_capacity(emitted);
        let (mut g, mut discount) = (0.0, 1.0);
        let scanned = if emitted == 0 { 0 } else { steps };
        for u in (0..scanned).rev() {
            let (observation, action, reward) = match window.get(u) {
                Some(pending) => (
                    pending.observation.as_slice(),
                    pending.action,
                    pending.reward,
                ),
                None => (step.observation, step.action, step.reward),
            };
            g = reward + self.gamma * g;
            discount *= self.gamma;
            if u < emitted {
                transitions.push(Transition {
                    observation,
                    action,
                    reward: g,
                    next_observation: step.next_observation,
                    terminated: step.terminated,
                    discount,
                });
            }
        }
        transitions.reverse();
        for transition in &transitions {
            transition.validate(dim, num_actions)?;
        }
        for transition in transitions {
            out.push(transition)?;
        }

        let window = &mut self.windows[env];
        if ended {
            window.clear();
        } else {
            // The emitted step (if any) leaves; its buffer is reused for the new step, which
            // waits unless n = 1 (then it was emitted already).
            let mut observation = if emitted == 1 {
                window
                    .pop_front()
                    .map(|p| p.observation)
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            if self.n > 1 {
                observation.clear();
                observation.extend_from_slice(step.observation);
                window.push_back(Pending {
                    observation,
                    action: step.action,
                    reward: step.reward,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{Replay, ReplayBuffer, ReplayConfig};

    fn step(x: f32, reward: f64) -> (Vec<f32>, Vec<f32>, f64) {
        (vec![x], vec![x + 1.0], reward)
    }

    #[test]
    fn full_windows_slide_and_copies_stay_apart() {
        let mut buffer = ReplayBuffer::new(&ReplayConfig::new(16, 1, 1)).unwrap();
        let mut collector = NStepCollector::new(2, 0.5, 2).unwrap();
        for t in 0..3 {
            for env in 0..2 {
                let (o, n, r) = step((10 * env + t) as f32, (10 * env + t) as f64);
                let s = EnvStep {
                    observation: &o,
                    action: 0,
                    reward: r,
                    next_observation: &n,
                    terminated: false,
                    truncated: false,
                };
                collector.push(env, s, &mut buffer).unwrap();
            }
        }
        // Each copy emitted its windows (0, 1) and (1, 2); two steps stay pending.
        assert_eq!(buffer.len(), 4);
        assert_eq!((collector.pending(0), collector.pending(1)), (1, 1));
        let stored: Vec<(f32, f64, f32)> = (0..4)
            .map(|i| {
                let t = buffer.get(i).unwrap();
                (t.observation[0], t.reward, t.next_observation[0])
            })
            .collect();
        assert_eq!(
            stored,
            vec![
                (0.0, 0.0 + 0.5, 2.0),
                (10.0, 10.0 + 5.5, 12.0),
                (1.0, 1.0 + 1.0, 3.0),
                (11.0, 11.0 + 6.0, 13.0),
            ]
        );
        collector.clear();
        assert_eq!(collector.pending(0), 0);
    }

    #[test]
    fn one_step_windows_emit_at_once() {
        let mut buffer = ReplayBuffer::new(&ReplayConfig::new(4, 1, 1)).unwrap();
        let mut collector = NStepCollector::new(1, 0.25, 1).unwrap();
        for x in [0.0, 1.0] {
            let s = EnvStep {
                observation: &[x],
                action: 0,
                reward: 2.0,
                next_observation: &[x + 1.0],
                terminated: false,
                truncated: false,
            };
            collector.push(0, s, &mut buffer).unwrap();
            assert_eq!(collector.pending(0), 0);
        }
        let t = buffer.get(1).unwrap();
        assert_eq!(
            (t.observation, t.reward, t.discount),
            (&[1.0][..], 2.0, 0.25)
        );
    }
}
