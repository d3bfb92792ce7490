//! Acrobot-v1.

use std::f64::consts::PI;

use burn::config::Config;
use rand::{RngExt, SeedableRng};

use super::{ClassicSnapshot, Clock, check_max_episode_steps, check_state};
use crate::checkpoint::ChaCha12Rng;
use crate::env::{Environment, Snapshot, Step};
use crate::error::{Error, Result};
use crate::space::{BoxSpace, Discrete};

// Gymnasium's class attributes (`LINK_*`, `dt`) and the local `g` of `_dsdt`.
const DT: f64 = 0.2;
const M1: f64 = 1.0;
const M2: f64 = 1.0;
const L1: f64 = 1.0;
const LC1: f64 = 0.5;
const LC2: f64 = 0.5;
const I1: f64 = 1.0;
const I2: f64 = 1.0;
const G: f64 = 9.8;

/// Settings of an [`Acrobot`]; the defaults are Gymnasium's registration of Acrobot-v1.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::classic::AcrobotConfig;
///
/// let env = AcrobotConfig::new().with_max_episode_steps(200).init()?; // Acrobot-v0's limit
/// assert_eq!(env.config().max_episode_steps, 200);
/// assert!(AcrobotConfig::new().with_max_episode_steps(0).validate().is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub struct AcrobotConfig {
    /// Episodes are truncated after this many steps (at least 1). Default 500, as registered
    /// for Acrobot-v1.
    #[config(default = 500)]
    pub max_episode_steps: usize,
}

impl AcrobotConfig {
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
    /// As [`AcrobotConfig::validate`].
    pub fn init(&self) -> Result<Acrobot> {
        self.validate()?;
        let high = [
            1.0,
            1.0,
            1.0,
            1.0,
            Acrobot::MAX_VEL_1 as f32,
            Acrobot::MAX_VEL_2 as f32,
        ];
        let observation_space = BoxSpace::new(high.iter().map(|h| -h).collect(), high.to_vec())
            .expect("the bounds are symmetric and not NaN");
        Ok(Acrobot {
            config: *self,
            observation_space,
            action_space: Discrete::new(3).expect("n >= 1"),
            rng: ChaCha12Rng::seed_from_u64(0),
            state: None,
            clock: Clock::new(self.max_episode_steps),
        })
    }
}

/// Gymnasium's Acrobot-v1: two links hanging from a fixed pivot, a motor on the joint between
/// them; swing the free end up above a line one link length over the pivot.
///
/// - State `[theta1, theta2, dtheta1, dtheta2]` (`f64`): the first link's angle from straight
///   down, the second's relative to the first, and their angular velocities.
/// - Observation `[cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2]` as `f32`,
///   in a [`BoxSpace`] with Gymnasium's bounds (`±1` and `±4π`, `±9π`).
/// - Actions 0, 1, 2: a torque of -1, 0 or +1 ([`Acrobot::AVAIL_TORQUE`]) on the joint.
/// - Dynamics: the book version of Sutton's equations, one 4th-order Runge-Kutta step of
///   `dt = 0.2` s, no torque noise; then angles are wrapped into `[-π, π]` and velocities
///   clipped to `±4π` and `±9π`.
/// - Reward -1 per step, 0 on the terminating step.
/// - Terminated when `-cos(theta1) - cos(theta2 + theta1) > 1`; truncated after
///   `max_episode_steps` (500).
/// - `reset` draws each state coordinate uniformly from `[-0.1, 0.1)` and rounds it to `f32`,
///   as Gymnasium does (`astype(np.float32)`): the state stays `f32`-valued until the first
///   step.
///
/// Seeds are reproducible within this crate but do not give Gymnasium's numbers; see
/// [the module docs](super) for this and the other differences.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::classic::Acrobot;
///
/// let mut env = Acrobot::new();
/// env.reset(Some(1));
/// let mut steps = 0;
/// let step = loop {
///     // Pump energy in: torque along the second joint's velocity.
///     let [_, _, _, dtheta2] = env.state().unwrap();
///     let step = env.step(if dtheta2 > 0.0 { 2 } else { 0 })?;
///     steps += 1;
///     if step.done() {
///         break step;
///     }
/// };
/// assert!(step.terminated && step.reward == 0.0 && steps < 500);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct Acrobot {
    config: AcrobotConfig,
    observation_space: BoxSpace,
    action_space: Discrete,
    rng: ChaCha12Rng,
    state: Option<[f64; 4]>,
    clock: Clock,
}

impl Acrobot {
    /// The torque each action applies to the joint between the links.
    pub const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];
    /// Bound on the first link's angular velocity `dtheta1`: `4π`.
    pub const MAX_VEL_1: f64 = 4.0 * PI;
    /// Bound on the second link's angular velocity `dtheta2`: `9π`.
    pub const MAX_VEL_2: f64 = 9.0 * PI;

    /// Acrobot-v1 as Gymnasium registers it (500-step limit).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::Acrobot;
    ///
    /// let env = Acrobot::new();
    /// assert_eq!(env.action_space().n(), 3);
    /// assert_eq!(env.observation_space().dim(), 6);
    /// ```
    pub fn new() -> Self {
        AcrobotConfig::new()
            .init()
            .expect("the default config is valid")
    }

    /// The settings.
    pub fn config(&self) -> &AcrobotConfig {
        &self.config
    }

    /// The physical state `[theta1, theta2, dtheta1, dtheta2]` in `f64`: the latest one, also
    /// after the episode ended; `None` before the first reset.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::prelude::*;
    /// use valuefn::env::classic::Acrobot;
    ///
    /// let mut env = Acrobot::new();
    /// assert_eq!(env.state(), None);
    /// env.reset(Some(0));
    /// let state = env.state().unwrap();
    /// assert!(state.iter().all(|&x| (x as f32) as f64 == x && x.abs() <= 0.1 + 1e-8));
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
    /// use valuefn::env::classic::Acrobot;
    ///
    /// let mut env = Acrobot::new();
    /// env.reset(None);
    /// env.step(1)?;
    /// assert_eq!(env.elapsed(), 1);
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn elapsed(&self) -> usize {
        self.clock.elapsed
    }

    /// Starts an episode in a chosen state `[theta1, theta2, dtheta1, dtheta2]` and returns its
    /// observation; the random generator is not touched. Pass a Gymnasium run's
    /// `env.unwrapped.state` to replay it exactly. The state is used as given (not wrapped or
    /// clipped), as Gymnasium would.
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
    /// use valuefn::env::classic::Acrobot;
    ///
    /// let mut env = Acrobot::new();
    /// let observation = env.reset_to_state([0.0, 0.0, 0.0, 0.0])?; // hanging straight down
    /// assert_eq!(observation, vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    /// let step = env.step(1)?; // no torque: it stays at rest, up to cos(-π/2) = 6e-17 != 0
    /// assert!(step.observation.iter().zip(&observation).all(|(x, y)| (x - y).abs() < 1e-15));
    /// assert_eq!(step.reward, -1.0);
    /// assert!(env.reset_to_state([0.0, f64::INFINITY, 0.0, 0.0]).is_err());
    /// env.reset_to_state([3e38, -3e38, 0.0, 0.0])?; // far angles wrap
    /// assert!(env.step(1)?.observation.iter().all(|x| x.is_finite()));
    /// // A velocity beyond f32 would be an infinite observation.
    /// assert!(env.reset_to_state([0.0, 0.0, 1e300, 0.0]).is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn reset_to_state(&mut self, state: [f64; 4]) -> Result<Vec<f32>> {
        check_state("Acrobot state", &state)?;
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
    /// use valuefn::env::classic::Acrobot;
    ///
    /// let mut env = Acrobot::new();
    /// let mut copy = env.replica();
    /// assert_eq!(copy.reset(Some(4)), env.reset(Some(4)));
    /// ```
    pub fn replica(&self) -> Self {
        self.config
            .init()
            .expect("a config inside an Acrobot is valid")
    }

    fn start(&mut self, state: [f64; 4]) -> Vec<f32> {
        self.state = Some(state);
        self.clock.start();
        observe(state)
    }
}

impl Default for Acrobot {
    fn default() -> Self {
        Self::new()
    }
}

/// `x ** 2` as numpy computes it for a float64 scalar: libm's `pow(x, 2.0)`, which is not
/// always the correctly rounded `x * x` (on glibc it differs in the last bit for about one
/// input in a thousand, enough to move a chaotic Acrobot trajectory within a few hundred
/// steps). `black_box` keeps LLVM from rewriting `pow(x, 2.0)` as `x * x`.
fn numpy_square(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// Gymnasium's `AcrobotEnv._dsdt` (book version) without the constant torque coordinate,
/// operation by operation: `[dtheta1, dtheta2, ddtheta1, ddtheta2]`.
fn dsdt([theta1, theta2, dtheta1, dtheta2]: [f64; 4], a: f64) -> [f64; 4] {
    let d1 =
        M1 * (LC1 * LC1) + M2 * (L1 * L1 + LC2 * LC2 + 2.0 * L1 * LC2 * theta2.cos()) + I1 + I2;
    let d2 = M2 * (LC2 * LC2 + L1 * LC2 * theta2.cos()) + I2;
    let phi2 = M2 * LC2 * G * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -M2 * L1 * LC2 * numpy_square(dtheta2) * theta2.sin()
        - 2.0 * M2 * L1 * LC2 * dtheta2 * dtheta1 * theta2.sin()
        + (M1 * LC1 + M2 * L1) * G * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 =
        (a + d2 / d1 * phi1 - M2 * L1 * LC2 * numpy_square(dtheta1) * theta2.sin() - phi2)
            / (M2 * (LC2 * LC2) + I2 - numpy_square(d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2]
}

/// `y + h * k`, elementwise.
fn euler(y: [f64; 4], h: f64, k: [f64; 4]) -> [f64; 4] {
    std::array::from_fn(|i| y[i] + h * k[i])
}

/// Gymnasium's `rk4` over `t = [0, dt]`: one classical Runge-Kutta step.
fn rk4(y0: [f64; 4], torque: f64) -> [f64; 4] {
    let dt = DT;
    let dt2 = dt / 2.0;
    let k1 = dsdt(y0, torque);
    let k2 = dsdt(euler(y0, dt2, k1), torque);
    let k3 = dsdt(euler(y0, dt2, k2), torque);
    let k4 = dsdt(euler(y0, dt, k3), torque);
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// Gymnasium's `wrap(x, -pi, pi)`.
fn wrap(mut x: f64) -> f64 {
    let diff = PI - -PI;
    // Gymnasium's loops take |x| / 2π turns, forever once 2π is below x's rounding step. Far
    // angles (only `reset_to_state` can give one) are brought near first; near ones, every
    // angle a Gymnasium episode produces, take Gymnasium's exact arithmetic.
    if x.abs() > 64.0 * diff {
        x = (x + PI).rem_euclid(diff) - PI;
    }
    while x > PI {
        x -= diff;
    }
    while x < -PI {
        x += diff;
    }
    x
}

/// Gymnasium's `bound(x, -max, max)`: `min(max(x, -max), max)`.
fn bound(x: f64, max: f64) -> f64 {
    x.clamp(-max, max)
}

/// The step of Gymnasium's `AcrobotEnv.step` after the torque is chosen.
fn transition(state: [f64; 4], torque: f64) -> [f64; 4] {
    let [theta1, theta2, dtheta1, dtheta2] = rk4(state, torque);
    [
        wrap(theta1),
        wrap(theta2),
        bound(dtheta1, Acrobot::MAX_VEL_1),
        bound(dtheta2, Acrobot::MAX_VEL_2),
    ]
}

fn observe([theta1, theta2, dtheta1, dtheta2]: [f64; 4]) -> Vec<f32> {
    [
        theta1.cos(),
        theta1.sin(),
        theta2.cos(),
        theta2.sin(),
        dtheta1,
        dtheta2,
    ]
    .iter()
    .map(|&x| x as f32)
    .collect()
}

fn terminal([theta1, theta2, ..]: [f64; 4]) -> bool {
    -theta1.cos() - (theta2 + theta1).cos() > 1.0
}

impl Environment for Acrobot {
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
        let state: [f64; 4] =
            std::array::from_fn(|_| f64::from(self.rng.random_range(-0.1..0.1) as f32));
        self.start(state)
    }

    fn step(&mut self, action: usize) -> Result<Step<Vec<f32>>> {
        let (Some(state), true) = (self.state, self.clock.running) else {
            return Err(Error::EpisodeFinished);
        };
        let action = self.action_space.check_action(action)?;
        let next = transition(state, Self::AVAIL_TORQUE[action]);
        // Defensive: every state `reset_to_state` accepts integrates to a finite one (velocities
        // are clipped), but a NaN here would otherwise be an observation that never terminates.
        check_state("Acrobot state after the step", &next)?;
        let terminated = terminal(next);
        self.state = Some(next);
        let truncated = self.clock.tick(terminated);
        Ok(Step {
            observation: observe(next),
            reward: if terminated { 0.0 } else { -1.0 },
            terminated,
            truncated,
        })
    }
}

impl Snapshot for Acrobot {
    type Snapshot = ClassicSnapshot;

    fn snapshot(&self) -> ClassicSnapshot {
        ClassicSnapshot::of(&self.rng, self.state, &self.clock)
    }

    fn restore(&mut self, snapshot: ClassicSnapshot) -> Result<()> {
        let (rng, state, clock) = snapshot.parts("Acrobot state", self.clock.max_episode_steps)?;
        (self.rng, self.state, self.clock) = (rng, state, clock);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_and_bound_follow_gymnasium() {
        assert_eq!(wrap(PI), PI);
        assert_eq!(wrap(PI + 1.0), PI + 1.0 - 2.0 * PI);
        assert_eq!(wrap(-7.0), -7.0 + 2.0 * PI);
        // Far angles end in [-π, π] too (Gymnasium's loops would never end on 3e38).
        for far in [1e300, -1e300, 3e38, 1e17, 1000.0 * PI + 0.5] {
            let wrapped = wrap(far);
            assert!((-PI..=PI).contains(&wrapped), "{far} -> {wrapped}");
        }
        assert!((wrap(1000.0 * PI + 0.5) - 0.5).abs() < 1e-9);
        assert_eq!(bound(50.0, Acrobot::MAX_VEL_2), 9.0 * PI);
        assert_eq!(bound(-50.0, Acrobot::MAX_VEL_1), -4.0 * PI);
    }

    #[test]
    fn terminal_line_is_one_link_above_the_pivot() {
        assert!(!terminal([0.0, 0.0, 0.0, 0.0])); // hanging down: height -2
        assert!(terminal([PI, 0.0, 0.0, 0.0])); // straight up: height 2
        assert!(!terminal([PI / 2.0, 0.0, 0.0, 0.0])); // horizontal: height 0
    }

    #[test]
    fn a_bad_action_changes_nothing() {
        let mut env = Acrobot::new();
        env.reset(Some(2));
        let state = env.state();
        assert!(matches!(env.step(3), Err(Error::InvalidAction { .. })));
        assert_eq!((env.state(), env.elapsed()), (state, 0));
    }
}
