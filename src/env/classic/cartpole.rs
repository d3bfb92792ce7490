//! CartPole-v1.

use burn::config::Config;
use rand::{RngExt, SeedableRng};

use super::{ClassicSnapshot, Clock, check_max_episode_steps, check_state, to_f32};
use crate::checkpoint::ChaCha12Rng;
use crate::env::{Environment, Snapshot, Step};
use crate::error::{Error, Result};
use crate::space::{BoxSpace, Discrete};

// Gymnasium's constants, combined as its `__init__` combines them.
const GRAVITY: f64 = 9.8;
const MASSCART: f64 = 1.0;
const MASSPOLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
const LENGTH: f64 = 0.5; // half the pole's length
const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;

/// Settings of a [`CartPole`]; the defaults are Gymnasium's registration of CartPole-v1.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::classic::CartPoleConfig;
///
/// let env = CartPoleConfig::new().with_max_episode_steps(200).init()?; // CartPole-v0's limit
/// assert_eq!(env.config().max_episode_steps, 200);
/// let err = CartPoleConfig::new().with_max_episode_steps(0).init().unwrap_err();
/// assert!(matches!(err, Error::InvalidConfig { field: "max_episode_steps", .. }));
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub struct CartPoleConfig {
    /// Episodes are truncated after this many steps (at least 1). Default 500, as registered
    /// for CartPole-v1.
    #[config(default = 500)]
    pub max_episode_steps: usize,
}

impl CartPoleConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `max_episode_steps` is 0.
    pub fn validate(&self) -> Result<()> {
        check_max_episode_steps(self.max_episode_steps)
    }

    /// Builds the environment.
    ///
    /// # Errors
    ///
    /// As [`CartPoleConfig::validate`].
    pub fn init(&self) -> Result<CartPole> {
        self.validate()?;
        let high = [
            (CartPole::X_THRESHOLD * 2.0) as f32,
            f32::INFINITY,
            (CartPole::THETA_THRESHOLD_RADIANS * 2.0) as f32,
            f32::INFINITY,
        ];
        let observation_space = BoxSpace::new(high.iter().map(|h| -h).collect(), high.to_vec())
            .expect("the bounds are symmetric and not NaN");
        Ok(CartPole {
            config: *self,
            observation_space,
            action_space: Discrete::new(2).expect("n >= 1"),
            rng: ChaCha12Rng::seed_from_u64(0),
            state: None,
            clock: Clock::new(self.max_episode_steps),
        })
    }
}

/// Gymnasium's CartPole-v1: balance a pole hinged on a cart by pushing the cart left or right.
///
/// - State `[x, x_dot, theta, theta_dot]` (`f64`); the observation is the same four numbers as
///   `f32`, in a [`BoxSpace`] with Gymnasium's bounds (`±4.8`, `±inf`, `±24°`, `±inf`).
/// - Actions: [`CartPole::PUSH_LEFT`] (0) or [`CartPole::PUSH_RIGHT`] (1), a force of 10 N.
/// - Dynamics: Barto, Sutton and Anderson's equations, explicit Euler with `tau = 0.02` s,
///   gravity 9.8, cart mass 1.0, pole mass 0.1, pole half-length 0.5.
/// - Reward 1 on every step, the terminating one included.
/// - Terminated when `|x| > 2.4` or `|theta| > 12°`; truncated after `max_episode_steps` (500).
/// - `reset` draws each state coordinate uniformly from `[-0.05, 0.05)`.
///
/// Seeds are reproducible within this crate but do not give Gymnasium's numbers; see
/// [the module docs](super) for this and the other differences.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::classic::CartPole;
///
/// let mut env = CartPole::new();
/// let first = env.reset(Some(3));
/// assert_eq!(first, env.reset(Some(3))); // a seed is reproducible
/// assert!(first.iter().all(|x| x.abs() <= 0.05));
/// let mut steps = 0;
/// loop {
///     // Push towards the side the pole leans to.
///     let [_, _, theta, theta_dot] = env.state().unwrap();
///     let action = if theta + 0.5 * theta_dot > 0.0 { CartPole::PUSH_RIGHT } else { CartPole::PUSH_LEFT };
///     let step = env.step(action)?;
///     steps += 1;
///     if step.done() {
///         assert!(step.truncated && !step.terminated);
///         break;
///     }
/// }
/// assert_eq!(steps, 500);
/// assert!(matches!(env.step(0), Err(Error::EpisodeFinished)));
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct CartPole {
    config: CartPoleConfig,
    observation_space: BoxSpace,
    action_space: Discrete,
    rng: ChaCha12Rng,
    state: Option<[f64; 4]>,
    clock: Clock,
}

impl CartPole {
    /// Push the cart to the left.
    pub const PUSH_LEFT: usize = 0;
    /// Push the cart to the right.
    pub const PUSH_RIGHT: usize = 1;
    /// The episode terminates when the cart position leaves `[-2.4, 2.4]`.
    pub const X_THRESHOLD: f64 = 2.4;
    /// The episode terminates when the pole angle leaves `[-12°, 12°]` (in radians, computed
    /// as Gymnasium does: `12 * 2 * pi / 360`).
    pub const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;

    /// CartPole-v1 as Gymnasium registers it (500-step limit).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::CartPole;
    ///
    /// let env = CartPole::new();
    /// assert_eq!(env.action_space().n(), 2);
    /// assert_eq!(env.observation_space().high()[0], 4.8);
    /// assert_eq!(env.config().max_episode_steps, 500);
    /// ```
    pub fn new() -> Self {
        CartPoleConfig::new()
            .init()
            .expect("the default config is valid")
    }

    /// The settings.
    pub fn config(&self) -> &CartPoleConfig {
        &self.config
    }

    /// The physical state `[x, x_dot, theta, theta_dot]` in `f64`: the latest one, also after
    /// the episode ended; `None` before the first reset.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::CartPole;
    ///
    /// let mut env = CartPole::new();
    /// assert_eq!(env.state(), None);
    /// let observation = env.reset(Some(1));
    /// let state = env.state().unwrap();
    /// assert_eq!(observation, state.map(|x| x as f32).to_vec());
    /// ```
    pub fn state(&self) -> Option<[f64; 4]> {
        self.state
    }

    /// Steps taken in the current (or last) episode.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::CartPole;
    ///
    /// let mut env = CartPole::new();
    /// env.reset(None);
    /// env.step(CartPole::PUSH_LEFT)?;
    /// assert_eq!(env.elapsed(), 1);
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn elapsed(&self) -> usize {
        self.clock.elapsed
    }

    /// Starts an episode in a chosen state `[x, x_dot, theta, theta_dot]` and returns its
    /// observation; the random generator is not touched. Pass a Gymnasium run's
    /// `env.unwrapped.state` to replay it exactly.
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
    /// use valuefn::env::classic::CartPole;
    ///
    /// let mut env = CartPole::new();
    /// let observation = env.reset_to_state([0.0, 0.0, 0.2, 1.0])?;
    /// assert_eq!(observation, vec![0.0, 0.0, 0.2, 1.0]);
    /// let step = env.step(CartPole::PUSH_LEFT)?; // the pole passes 12° (0.2094 rad)
    /// assert!(step.terminated);
    /// assert_eq!(step.reward, 1.0);
    /// assert!(env.reset_to_state([f64::NAN, 0.0, 0.0, 0.0]).is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn reset_to_state(&mut self, state: [f64; 4]) -> Result<Vec<f32>> {
        check_state("CartPole state", &state)?;
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
    /// use valuefn::env::classic::CartPole;
    ///
    /// let mut env = CartPole::new();
    /// let mut copies: Vec<CartPole> = (0..4).map(|_| env.replica()).collect();
    /// let starts: Vec<_> = copies.iter_mut().zip(0..).map(|(c, seed)| c.reset(Some(seed))).collect();
    /// assert_ne!(starts[0], starts[1]);
    /// assert_eq!(starts[0], env.reset(Some(0)));
    /// ```
    pub fn replica(&self) -> Self {
        self.config
            .init()
            .expect("a config inside a CartPole is valid")
    }

    fn start(&mut self, state: [f64; 4]) -> Vec<f32> {
        self.state = Some(state);
        self.clock.start();
        to_f32(state)
    }
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

/// One Euler step of Gymnasium's `CartPoleEnv.step`, operation by operation.
fn transition([x, x_dot, theta, theta_dot]: [f64; 4], action: usize) -> [f64; 4] {
    let force = if action == CartPole::PUSH_RIGHT {
        FORCE_MAG
    } else {
        -FORCE_MAG
    };
    let costheta = theta.cos();
    let sintheta = theta.sin();
    let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
    let thetaacc = (GRAVITY * sintheta - costheta * temp)
        / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS));
    let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
    [
        x + TAU * x_dot,
        x_dot + TAU * xacc,
        theta + TAU * theta_dot,
        theta_dot + TAU * thetaacc,
    ]
}

impl Environment for CartPole {
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
        let state: [f64; 4] = std::array::from_fn(|_| self.rng.random_range(-0.05..0.05));
        self.start(state)
    }

    fn step(&mut self, action: usize) -> Result<Step<Vec<f32>>> {
        let (Some(state), true) = (self.state, self.clock.running) else {
            return Err(Error::EpisodeFinished);
        };
        let action = self.action_space.check_action(action)?;
        let next = transition(state, action);
        // A state near f32's limit (from `reset_to_state`) can step beyond it: refused, with
        // nothing changed, rather than an infinite observation.
        check_state("CartPole state after the step", &next)?;
        let [x, _, theta, _] = next;
        let terminated = !(-Self::X_THRESHOLD..=Self::X_THRESHOLD).contains(&x)
            || !(-Self::THETA_THRESHOLD_RADIANS..=Self::THETA_THRESHOLD_RADIANS).contains(&theta);
        self.state = Some(next);
        let truncated = self.clock.tick(terminated);
        Ok(Step {
            observation: to_f32(next),
            reward: 1.0,
            terminated,
            truncated,
        })
    }
}

impl Snapshot for CartPole {
    type Snapshot = ClassicSnapshot;

    fn snapshot(&self) -> ClassicSnapshot {
        ClassicSnapshot::of(&self.rng, self.state, &self.clock)
    }

    fn restore(&mut self, snapshot: ClassicSnapshot) -> Result<()> {
        let (rng, state, clock) = snapshot.parts("CartPole state", self.clock.max_episode_steps)?;
        (self.rng, self.state, self.clock) = (rng, state, clock);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Space;

    #[test]
    fn constants_are_gymnasiums() {
        assert_eq!(CartPole::THETA_THRESHOLD_RADIANS, 0.20943951023931953);
        assert_eq!(TOTAL_MASS, 1.1);
        assert_eq!(POLEMASS_LENGTH, 0.05);
        let env = CartPole::new();
        assert_eq!(
            env.observation_space().high(),
            &[4.8, f32::INFINITY, 0.41887903, f32::INFINITY]
        );
        assert_eq!(env.observation_space().low()[2], -0.41887903);
    }

    #[test]
    fn a_bad_action_changes_nothing() {
        let mut env = CartPole::new();
        env.reset(Some(5));
        env.step(1).unwrap();
        let (state, elapsed) = (env.state(), env.elapsed());
        assert!(matches!(env.step(2), Err(Error::InvalidAction { .. })));
        assert_eq!((env.state(), env.elapsed()), (state, elapsed));
        assert!(env.step(0).is_ok());
    }

    #[test]
    fn observations_stay_in_the_box_until_termination() {
        let mut env = CartPole::new();
        let mut rng = ChaCha12Rng::seed_from_u64(9);
        for episode in 0..20 {
            let first = env.reset(Some(episode));
            assert!(env.observation_space().contains(&first));
            loop {
                let step = env.step(env.action_space().sample(&mut rng)).unwrap();
                assert!(env.observation_space().contains(&step.observation));
                if step.done() {
                    break;
                }
            }
        }
    }
}
