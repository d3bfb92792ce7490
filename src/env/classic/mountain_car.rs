//! MountainCar-v0.

use burn::config::Config;
use rand::{RngExt, SeedableRng};

use super::{ClassicSnapshot, Clock, check_max_episode_steps, check_state, to_f32};
use crate::checkpoint::ChaCha12Rng;
use crate::env::{Environment, Snapshot, Step};
use crate::error::{Error, Result};
use crate::space::{BoxSpace, Discrete};

const FORCE: f64 = 0.001;
const GRAVITY: f64 = 0.0025;

/// Settings of a [`MountainCar`]; the defaults are Gymnasium's registration of MountainCar-v0.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::classic::MountainCarConfig;
///
/// let env = MountainCarConfig::new().with_goal_velocity(0.01).init()?;
/// assert_eq!(env.config().max_episode_steps, 200);
/// let err = MountainCarConfig::new().with_goal_velocity(f64::NAN).validate().unwrap_err();
/// assert!(matches!(err, Error::InvalidConfig { field: "goal_velocity", .. }));
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq, Copy)]
pub struct MountainCarConfig {
    /// Episodes are truncated after this many steps (at least 1). Default 200, as registered
    /// for MountainCar-v0.
    #[config(default = 200)]
    pub max_episode_steps: usize,
    /// The episode terminates when the car is at the goal with at least this velocity (finite).
    /// Default 0, Gymnasium's `goal_velocity` default.
    #[config(default = 0.0)]
    pub goal_velocity: f64,
}

impl MountainCarConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `max_episode_steps` is 0 or `goal_velocity` is NaN or
    /// infinite.
    pub fn validate(&self) -> Result<()> {
        check_max_episode_steps(self.max_episode_steps)?;
        if !self.goal_velocity.is_finite() {
            return Err(Error::config("goal_velocity", "finite", self.goal_velocity));
        }
        Ok(())
    }

    /// Builds the environment.
    ///
    /// # Errors
    ///
    /// As [`MountainCarConfig::validate`].
    pub fn init(&self) -> Result<MountainCar> {
        self.validate()?;
        let observation_space = BoxSpace::new(
            vec![
                MountainCar::MIN_POSITION as f32,
                -MountainCar::MAX_SPEED as f32,
            ],
            vec![
                MountainCar::MAX_POSITION as f32,
                MountainCar::MAX_SPEED as f32,
            ],
        )
        .expect("the bounds are ordered and not NaN");
        Ok(MountainCar {
            config: *self,
            observation_space,
            action_space: Discrete::new(3).expect("n >= 1"),
            rng: ChaCha12Rng::seed_from_u64(0),
            state: None,
            clock: Clock::new(self.max_episode_steps),
        })
    }
}

/// Gymnasium's MountainCar-v0: an underpowered car in a valley must rock back and forth to
/// reach the flag on the right hill.
///
/// - State `[position, velocity]` (`f64`); the observation is the same two numbers as `f32`,
///   in a [`BoxSpace`] with Gymnasium's bounds (`[-1.2, 0.6]` x `[-0.07, 0.07]`).
/// - Actions: [`MountainCar::PUSH_LEFT`] (0), [`MountainCar::NO_PUSH`] (1),
///   [`MountainCar::PUSH_RIGHT`] (2).
/// - Dynamics: `velocity += (action - 1) * 0.001 + cos(3 * position) * (-0.0025)`, clipped to
///   `±0.07`; `position += velocity`, clipped to `[-1.2, 0.6]`; at the left wall a leftward
///   velocity is set to 0.
/// - Reward -1 per step.
/// - Terminated when `position >= 0.5` and `velocity >= goal_velocity` (0); truncated after
///   `max_episode_steps` (200).
/// - `reset` draws the position uniformly from `[-0.6, -0.4)`, with velocity 0.
///
/// Seeds are reproducible within this crate but do not give Gymnasium's numbers; see
/// [the module docs](super) for this and the other differences.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::classic::MountainCar;
///
/// let mut env = MountainCar::new();
/// env.reset(Some(0));
/// let mut steps = 0;
/// let step = loop {
///     // Push along the velocity: each swing climbs higher.
///     let [_, velocity] = env.state().unwrap();
///     let action = if velocity >= 0.0 { MountainCar::PUSH_RIGHT } else { MountainCar::PUSH_LEFT };
///     let step = env.step(action)?;
///     steps += 1;
///     if step.done() {
///         break step;
///     }
/// };
/// assert!(step.terminated && step.observation[0] >= 0.5 && steps < 200);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct MountainCar {
    config: MountainCarConfig,
    observation_space: BoxSpace,
    action_space: Discrete,
    rng: ChaCha12Rng,
    state: Option<[f64; 2]>,
    clock: Clock,
}

impl MountainCar {
    /// Accelerate to the left.
    pub const PUSH_LEFT: usize = 0;
    /// Do not accelerate.
    pub const NO_PUSH: usize = 1;
    /// Accelerate to the right.
    pub const PUSH_RIGHT: usize = 2;
    /// The left wall.
    pub const MIN_POSITION: f64 = -1.2;
    /// The right end of the track.
    pub const MAX_POSITION: f64 = 0.6;
    /// The speed limit (in either direction).
    pub const MAX_SPEED: f64 = 0.07;
    /// The position of the flag.
    pub const GOAL_POSITION: f64 = 0.5;

    /// MountainCar-v0 as Gymnasium registers it (200-step limit).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::MountainCar;
    ///
    /// let env = MountainCar::new();
    /// assert_eq!(env.action_space().n(), 3);
    /// assert_eq!(env.observation_space().low(), &[-1.2, -0.07]);
    /// ```
    pub fn new() -> Self {
        MountainCarConfig::new()
            .init()
            .expect("the default config is valid")
    }

    /// The settings.
    pub fn config(&self) -> &MountainCarConfig {
        &self.config
    }

    /// The physical state `[position, velocity]` in `f64`: the latest one, also after the
    /// episode ended; `None` before the first reset.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::MountainCar;
    ///
    /// let mut env = MountainCar::new();
    /// assert_eq!(env.state(), None);
    /// env.reset(Some(0));
    /// let [position, velocity] = env.state().unwrap();
    /// assert!((-0.6..-0.4).contains(&position) && velocity == 0.0);
    /// ```
    pub fn state(&self) -> Option<[f64; 2]> {
        self.state
    }

    /// Steps taken in the current (or last) episode.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::MountainCar;
    ///
    /// let mut env = MountainCar::new();
    /// env.reset(None);
    /// env.step(MountainCar::NO_PUSH)?;
    /// assert_eq!(env.elapsed(), 1);
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn elapsed(&self) -> usize {
        self.clock.elapsed
    }

    /// Starts an episode in a chosen state `[position, velocity]` and returns its observation;
    /// the random generator is not touched. Pass a Gymnasium run's `env.unwrapped.state` to
    /// replay it exactly. The state is used as given (not clipped), as Gymnasium would.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] when a coordinate is NaN, infinite, or beyond `f32`'s range (the
    /// observation is `f32`); nothing changes.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::MountainCar;
    ///
    /// let mut env = MountainCar::new();
    /// env.reset_to_state([-1.19, -0.05])?; // about to hit the left wall
    /// let step = env.step(MountainCar::PUSH_LEFT)?;
    /// assert_eq!(step.observation, vec![-1.2, 0.0]); // stopped by the wall
    /// let step = env.reset_to_state([0.49, 0.02]).and_then(|_| env.step(MountainCar::NO_PUSH))?;
    /// assert!(step.terminated && step.reward == -1.0);
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn reset_to_state(&mut self, state: [f64; 2]) -> Result<Vec<f32>> {
        check_state("MountainCar state", &state)?;
        Ok(self.start(state))
    }

    /// A copy with the same settings, no episode in progress and a generator seeded with 0:
    /// reset it with a seed of its own. (Not `Clone`: two copies of one random stream would
    /// play identical episodes.)
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::MountainCar;
    ///
    /// let mut env = MountainCar::new();
    /// let mut copy = env.replica();
    /// assert_eq!(copy.reset(Some(4)), env.reset(Some(4)));
    /// ```
    pub fn replica(&self) -> Self {
        self.config
            .init()
            .expect("a config inside a MountainCar is valid")
    }

    fn start(&mut self, state: [f64; 2]) -> Vec<f32> {
        self.state = Some(state);
        self.clock.start();
        to_f32(state)
    }
}

impl Default for MountainCar {
    fn default() -> Self {
        Self::new()
    }
}

/// Gymnasium's `MountainCarEnv.step`, operation by operation.
fn transition([mut position, mut velocity]: [f64; 2], action: usize) -> [f64; 2] {
    velocity += (action as f64 - 1.0) * FORCE + (3.0 * position).cos() * (-GRAVITY);
    velocity = velocity.clamp(-MountainCar::MAX_SPEED, MountainCar::MAX_SPEED);
    position += velocity;
    position = position.clamp(MountainCar::MIN_POSITION, MountainCar::MAX_POSITION);
    if position == MountainCar::MIN_POSITION && velocity < 0.0 {
        velocity = 0.0;
    }
    [position, velocity]
}

impl Environment for MountainCar {
    type Observation = Vec<f32>;
    type Action = usize;
    type ObservationSpace = BoxSpace;
    type ActionSpace = Discrete;

    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }

    fn action_space(&self) -> &Discrete {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        if let Some(seed) = seed {
            self.rng = ChaCha12Rng::seed_from_u64(seed);
        }
        let position = self.rng.random_range(-0.6..-0.4);
        self.start([position, 0.0])
    }

    fn step(&mut self, action: usize) -> Result<Step<Vec<f32>>> {
        let (Some(state), true) = (self.state, self.clock.running) else {
            return Err(Error::EpisodeFinished);
        };
        let action = self.action_space.check_action(action)?;
        let next = transition(state, action);
        let [position, velocity] = next;
        let terminated = position >= Self::GOAL_POSITION && velocity >= self.config.goal_velocity;
        self.state = Some(next);
        let truncated = self.clock.tick(terminated);
        Ok(Step {
            observation: to_f32(next),
            reward: -1.0,
            terminated,
            truncated,
        })
    }
}

impl Snapshot for MountainCar {
    type Snapshot = ClassicSnapshot;

    fn snapshot(&self) -> ClassicSnapshot {
        ClassicSnapshot::of(&self.rng, self.state, &self.clock)
    }

    fn restore(&mut self, snapshot: ClassicSnapshot) -> Result<()> {
        let (rng, state, clock) =
            snapshot.parts("MountainCar state", self.clock.max_episode_steps)?;
        (self.rng, self.state, self.clock) = (rng, state, clock);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_stops_the_car_and_the_speed_is_capped() {
        assert_eq!(transition([-1.19, -0.05], 0), [-1.2, 0.0]);
        let [_, v] = transition([-0.5, 0.0695], 2);
        assert_eq!(v, MountainCar::MAX_SPEED);
        let [p, _] = transition([0.59, 0.05], 2);
        assert_eq!(p, MountainCar::MAX_POSITION);
    }

    #[test]
    fn goal_velocity_is_part_of_termination() {
        let mut env = MountainCarConfig::new()
            .with_goal_velocity(0.05)
            .init()
            .unwrap();
        env.reset_to_state([0.49, 0.02]).unwrap();
        assert!(!env.step(MountainCar::NO_PUSH).unwrap().terminated);
    }

    #[test]
    fn a_bad_action_changes_nothing() {
        let mut env = MountainCar::new();
        env.reset(Some(2));
        let state = env.state();
        assert!(matches!(env.step(3), Err(Error::InvalidAction { .. })));
        assert_eq!((env.state(), env.elapsed()), (state, 0));
    }
}
