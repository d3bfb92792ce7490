//! Gymnasium's classic control environments (`valuefn::env::classic`), replayed against
//! Gymnasium's own numbers, plus seeding, ranges, errors and time limits.
//!
//! The reference trajectories are in `tests/data/classic_control/` (`cartpole.json`,
//! `acrobot.json`, `mountain_car.json`), written unedited by
//!
//! ```text
//! python3 -m venv /tmp/gymvenv && /tmp/gymvenv/bin/pip install gymnasium numpy
//! /tmp/gymvenv/bin/python scripts/gym_reference.py
//! ```
//!
//! (gymnasium 1.4.0, numpy 2.4.6, Linux x86-64, glibc), which overwrites them. Each records a
//! seeded Gymnasium reset's `env.unwrapped.state`, a fixed action sequence, the float32
//! observation and reward of every step, how the episode ended, and the final float64 state;
//! `f64` values are written as the shortest decimal that reads back to the bit.

use std::sync::LazyLock;

use valuefn::env::SyncVecEnv;
use valuefn::env::classic::{
    Acrobot, AcrobotConfig, CartPole, CartPoleConfig, MountainCar, MountainCarConfig,
};
use valuefn::prelude::*;
use valuefn::space::BoxSpace;

/// One trajectory recorded from Gymnasium by `scripts/gym_reference.py`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reference {
    name: String,
    /// `env.unwrapped.state` after the seeded reset.
    initial_state: Vec<f64>,
    actions: Vec<usize>,
    /// The observation after each step, flattened.
    observations: Vec<f32>,
    rewards: Vec<f64>,
    /// How the last step ended, as Gymnasium reports it (its `TimeLimit` sets `truncated` also
    /// on a terminating last step).
    terminated: bool,
    truncated: bool,
    /// `env.unwrapped.state` after the last step.
    final_state: Vec<f64>,
}

/// Parses one of the files in `tests/data/classic_control/`.
fn references(file: &str, json: &str) -> Vec<Reference> {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("tests/data/classic_control/{file}: {e}"))
}

/// CartPole-v1.
static CARTPOLE: LazyLock<Vec<Reference>> = LazyLock::new(|| {
    references(
        "cartpole.json",
        include_str!("data/classic_control/cartpole.json"),
    )
});

/// Acrobot-v1.
static ACROBOT: LazyLock<Vec<Reference>> = LazyLock::new(|| {
    references(
        "acrobot.json",
        include_str!("data/classic_control/acrobot.json"),
    )
});

/// MountainCar-v0.
static MOUNTAIN_CAR: LazyLock<Vec<Reference>> = LazyLock::new(|| {
    references(
        "mountain_car.json",
        include_str!("data/classic_control/mountain_car.json"),
    )
});

/// What the replay needs beyond [`Environment`]: setting and reading the physical state.
trait Classic: Environment<Observation = Vec<f32>, Action = usize> {
    fn restart(&mut self, state: &[f64]) -> Vec<f32>;
    fn physical(&self) -> Vec<f64>;
}

impl Classic for CartPole {
    fn restart(&mut self, state: &[f64]) -> Vec<f32> {
        self.reset_to_state(state.try_into().unwrap()).unwrap()
    }
    fn physical(&self) -> Vec<f64> {
        self.state().unwrap().to_vec()
    }
}

impl Classic for Acrobot {
    fn restart(&mut self, state: &[f64]) -> Vec<f32> {
        self.reset_to_state(state.try_into().unwrap()).unwrap()
    }
    fn physical(&self) -> Vec<f64> {
        self.state().unwrap().to_vec()
    }
}

impl Classic for MountainCar {
    fn restart(&mut self, state: &[f64]) -> Vec<f32> {
        self.reset_to_state(state.try_into().unwrap()).unwrap()
    }
    fn physical(&self) -> Vec<f64> {
        self.state().unwrap().to_vec()
    }
}

/// Replays `reference` from its initial state; asserts every observation within 1e-6 of
/// Gymnasium's, every reward equal, the end at the same step, and the final `f64` state equal
/// to the bit. Returns the largest observation difference.
fn replay<E: Classic>(env: &mut E, reference: &Reference) -> f32 {
    let name = &reference.name;
    let steps = reference.actions.len();
    let dim = reference.observations.len() / steps;
    assert_eq!(dim * steps, reference.observations.len(), "{name}");
    assert_eq!(reference.rewards.len(), steps, "{name}");
    env.restart(&reference.initial_state);
    let mut worst = 0.0f32;
    for (t, &action) in reference.actions.iter().enumerate() {
        let step = env
            .step(action)
            .unwrap_or_else(|e| panic!("{name}, step {}: {e}", t + 1));
        let expected = &reference.observations[t * dim..(t + 1) * dim];
        let diff = step
            .observation
            .iter()
            .zip(expected)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            step.observation.len() == dim && diff <= 1e-6,
            "{name}, step {}: {:?} vs Gymnasium's {expected:?}",
            t + 1,
            step.observation
        );
        worst = worst.max(diff);
        assert_eq!(step.reward, reference.rewards[t], "{name}, step {}", t + 1);
        if t + 1 < steps {
            assert!(!step.done(), "{name}: ended at step {} of {steps}", t + 1);
        } else {
            assert_eq!(step.terminated, reference.terminated, "{name}");
            // Termination wins on the last allowed step; Gymnasium's TimeLimit sets both.
            assert_eq!(
                step.truncated,
                reference.truncated && !reference.terminated,
                "{name}"
            );
        }
    }
    assert_eq!(
        env.physical(),
        reference.final_state,
        "{name}: final f64 state"
    );
    assert!(matches!(env.step(0), Err(Error::EpisodeFinished)), "{name}");
    worst
}

#[test]
fn cartpole_replays_gymnasium_exactly() {
    let mut env = CartPole::new();
    for reference in CARTPOLE.iter() {
        assert_eq!(replay(&mut env, reference), 0.0, "{}", reference.name);
    }
    let last = CARTPOLE.last().unwrap();
    assert_eq!((last.actions.len(), last.truncated), (500, true));
}

#[test]
fn acrobot_replays_gymnasium_exactly() {
    let mut env = Acrobot::new();
    for reference in ACROBOT.iter() {
        assert_eq!(replay(&mut env, reference), 0.0, "{}", reference.name);
    }
    assert_eq!(
        (ACROBOT[0].actions.len(), ACROBOT[0].truncated),
        (500, true)
    );
    assert!(ACROBOT[1].terminated);
}

#[test]
fn mountain_car_replays_gymnasium_exactly() {
    let mut env = MountainCar::new();
    for reference in MOUNTAIN_CAR.iter() {
        assert_eq!(replay(&mut env, reference), 0.0, "{}", reference.name);
    }
    assert_eq!(
        (MOUNTAIN_CAR[0].actions.len(), MOUNTAIN_CAR[0].truncated),
        (200, true)
    );
    assert!(MOUNTAIN_CAR[1].terminated);
}

#[test]
fn initial_observations_are_the_f32_state() {
    let mut cartpole = CartPole::new();
    let observation = cartpole.restart(&CARTPOLE[0].initial_state);
    let expected: Vec<f32> = CARTPOLE[0]
        .initial_state
        .iter()
        .map(|&x| x as f32)
        .collect();
    assert_eq!(observation, expected);
    let mut acrobot = Acrobot::new();
    let observation = acrobot.restart(&ACROBOT[0].initial_state);
    let [t1, t2, d1, d2] = <[f64; 4]>::try_from(ACROBOT[0].initial_state.as_slice()).unwrap();
    let expected = [t1.cos(), t1.sin(), t2.cos(), t2.sin(), d1, d2].map(|x| x as f32);
    assert_eq!(observation, expected.to_vec());
    // Gymnasium keeps Acrobot's initial state in float32.
    assert!(
        ACROBOT
            .iter()
            .flat_map(|r| &r.initial_state)
            .all(|&x| (x as f32) as f64 == x)
    );
}

/// Runs `episodes` episodes from seeded resets with random actions; returns every first
/// observation and every episode length.
fn run<
    E: Environment<
            Observation = Vec<f32>,
            Action = usize,
            ObservationSpace = BoxSpace,
            ActionSpace = Discrete,
        >,
>(
    env: &mut E,
    episodes: u64,
) -> (Vec<Vec<f32>>, Vec<usize>) {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let (mut starts, mut lengths) = (Vec::new(), Vec::new());
    for seed in 0..episodes {
        let first = env.reset(Some(seed));
        assert!(env.observation_space().contains(&first));
        starts.push(first);
        let mut steps = 0;
        loop {
            let step = env.step(env.action_space().sample(&mut rng)).unwrap();
            steps += 1;
            assert!(env.observation_space().contains(&step.observation));
            assert!(!(step.terminated && step.truncated));
            if step.done() {
                break;
            }
        }
        lengths.push(steps);
    }
    (starts, lengths)
}

#[test]
fn seeded_resets_are_reproducible_and_reset_none_continues() {
    let mut a = CartPole::new();
    let mut b = a.replica();
    assert_eq!(a.reset(Some(7)), b.reset(Some(7)));
    assert_eq!(a.reset(None), b.reset(None));
    assert_ne!(a.reset(Some(7)), a.reset(None));
    assert_eq!(run(&mut a, 5), run(&mut b, 5));

    let (mut a, mut b) = (Acrobot::new(), Acrobot::new());
    assert_eq!(run(&mut a, 3), run(&mut b, 3));
    assert_ne!(a.reset(Some(1)), a.reset(Some(2)));

    let (mut a, mut b) = (MountainCar::new(), MountainCar::new());
    assert_eq!(run(&mut a, 3), run(&mut b, 3));
    assert_ne!(a.reset(Some(1)), a.reset(Some(2)));
}

#[test]
fn initial_states_lie_in_gymnasiums_ranges() {
    let mut cartpole = CartPole::new();
    let mut acrobot = Acrobot::new();
    let mut car = MountainCar::new();
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for seed in 0..500 {
        cartpole.reset(Some(seed));
        for x in cartpole.state().unwrap() {
            assert!((-0.05..0.05).contains(&x));
            (lo, hi) = (lo.min(x), hi.max(x));
        }
        acrobot.reset(Some(seed));
        for x in acrobot.state().unwrap() {
            assert!((x as f32) as f64 == x && x.abs() <= f64::from(0.1f32));
        }
        car.reset(Some(seed));
        let [position, velocity] = car.state().unwrap();
        assert!((-0.6..-0.4).contains(&position) && velocity == 0.0);
    }
    assert!(
        lo < -0.049 && hi > 0.049,
        "uniform over the whole range: [{lo}, {hi}]"
    );
}

#[test]
fn random_play_ends_as_gymnasium_says() {
    // Random CartPole episodes end by termination after a few dozen steps; random Acrobot and
    // MountainCar episodes are almost always cut by the limit.
    let (_, lengths) = run(&mut CartPole::new(), 50);
    let mean = lengths.iter().sum::<usize>() as f64 / 50.0;
    assert!(
        (12.0..40.0).contains(&mean),
        "mean random CartPole episode {mean}"
    );
    let (_, lengths) = run(&mut MountainCar::new(), 5);
    assert_eq!(lengths, vec![200; 5]);
    let (_, lengths) = run(&mut Acrobot::new(), 3);
    assert!(
        lengths.iter().all(|&n| n <= 500) && lengths.contains(&500),
        "{lengths:?}"
    );
}

#[test]
fn a_bad_action_is_an_error_and_changes_nothing() {
    let mut cartpole = CartPole::new();
    cartpole.reset(Some(0));
    let before = (cartpole.state(), cartpole.elapsed());
    let err = cartpole.step(2).unwrap_err();
    assert!(matches!(err, Error::InvalidAction { .. }), "{err}");
    assert_eq!((cartpole.state(), cartpole.elapsed()), before);

    let mut acrobot = Acrobot::new();
    acrobot.reset(Some(0));
    acrobot.step(2).unwrap();
    let before = (acrobot.state(), acrobot.elapsed());
    assert!(matches!(acrobot.step(3), Err(Error::InvalidAction { .. })));
    assert_eq!((acrobot.state(), acrobot.elapsed()), before);

    let mut car = MountainCar::new();
    car.reset(Some(0));
    let before = (car.state(), car.elapsed());
    assert!(matches!(
        car.step(usize::MAX),
        Err(Error::InvalidAction { .. })
    ));
    assert_eq!((car.state(), car.elapsed()), before);
    // And the episode goes on as if nothing happened.
    assert!(car.step(MountainCar::NO_PUSH).is_ok());
}

#[test]
fn stepping_before_reset_or_after_the_end_is_an_error() {
    assert!(matches!(
        CartPole::new().step(0),
        Err(Error::EpisodeFinished)
    ));
    assert!(matches!(
        Acrobot::new().step(0),
        Err(Error::EpisodeFinished)
    ));
    assert!(matches!(
        MountainCar::new().step(0),
        Err(Error::EpisodeFinished)
    ));
    let mut env = CartPole::new();
    env.reset_to_state([0.0, 0.0, 0.2, 1.0]).unwrap();
    assert!(env.step(CartPole::PUSH_LEFT).unwrap().terminated);
    let state = env.state();
    assert!(matches!(env.step(0), Err(Error::EpisodeFinished)));
    assert_eq!(env.state(), state);
    env.reset(None);
    assert!(env.step(0).is_ok());
}

/// The balancing controller of `scripts/gym_reference.py`.
fn balance(env: &CartPole) -> usize {
    let [_, _, theta, theta_dot] = env.state().unwrap();
    usize::from(theta + 0.5 * theta_dot > 0.0)
}

#[test]
fn cartpole_truncates_at_500_but_a_terminating_500th_step_is_terminated() {
    let start: [f64; 4] = CARTPOLE[3].initial_state.as_slice().try_into().unwrap();
    let mut env = CartPole::new();
    // Balance for `k` steps, then push one way until the pole falls: for some `k` it falls on
    // exactly the 500th step.
    let mut ends = Vec::new();
    for k in 400..500 {
        for push in [CartPole::PUSH_LEFT, CartPole::PUSH_RIGHT] {
            env.reset_to_state(start).unwrap();
            let mut t = 0;
            let last = loop {
                let action = if t < k { balance(&env) } else { push };
                let step = env.step(action).unwrap();
                t += 1;
                if step.done() {
                    break step;
                }
            };
            assert!(t <= 500);
            assert!(!(last.terminated && last.truncated));
            assert_eq!(last.truncated, t == 500 && !last.terminated);
            ends.push((t, last.terminated));
        }
    }
    assert!(ends.contains(&(500, true)), "{ends:?}");
    assert!(ends.contains(&(500, false)), "{ends:?}");
}

#[test]
fn step_limits_are_configurable() {
    // The first reference episode terminates on its 17th step: with a limit of 17 that step
    // reports terminated, with 16 the 16th reports truncated.
    let reference = &CARTPOLE[0];
    let n = reference.actions.len();
    for (limit, terminated, truncated, steps) in [(n, true, false, n), (n - 1, false, true, n - 1)]
    {
        let mut env = CartPoleConfig::new()
            .with_max_episode_steps(limit)
            .init()
            .unwrap();
        env.restart(&reference.initial_state);
        let mut taken = 0;
        for &a in &reference.actions {
            let step = env.step(a).unwrap();
            taken += 1;
            if step.done() {
                assert_eq!((step.terminated, step.truncated), (terminated, truncated));
                break;
            }
        }
        assert_eq!(taken, steps);
    }
    let mut env = AcrobotConfig::new()
        .with_max_episode_steps(3)
        .init()
        .unwrap();
    env.reset(Some(0));
    assert!(!env.step(1).unwrap().done() && !env.step(1).unwrap().done());
    assert!(env.step(1).unwrap().truncated);
    let mut env = MountainCarConfig::new()
        .with_max_episode_steps(1)
        .init()
        .unwrap();
    env.reset(Some(0));
    assert!(env.step(1).unwrap().truncated);
}

#[test]
fn each_invalid_setting_is_named() {
    let field = |e: Error| match e {
        Error::InvalidConfig { field, .. } => field,
        other => panic!("{other}"),
    };
    assert_eq!(
        field(
            CartPoleConfig::new()
                .with_max_episode_steps(0)
                .init()
                .unwrap_err()
        ),
        "max_episode_steps"
    );
    assert_eq!(
        field(
            AcrobotConfig::new()
                .with_max_episode_steps(0)
                .init()
                .unwrap_err()
        ),
        "max_episode_steps"
    );
    assert_eq!(
        field(
            MountainCarConfig::new()
                .with_max_episode_steps(0)
                .init()
                .unwrap_err()
        ),
        "max_episode_steps"
    );
    assert_eq!(
        field(
            MountainCarConfig::new()
                .with_goal_velocity(f64::INFINITY)
                .init()
                .unwrap_err()
        ),
        "goal_velocity"
    );
    assert!(matches!(
        CartPole::new().reset_to_state([0.0, f64::NAN, 0.0, 0.0]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        MountainCar::new().reset_to_state([f64::NEG_INFINITY, 0.0]),
        Err(Error::NonFinite { .. })
    ));
}

#[test]
fn observation_spaces_have_gymnasiums_bounds() {
    let cartpole = CartPole::new();
    assert_eq!(
        cartpole.observation_space().high(),
        &[4.8, f32::INFINITY, 0.41887903, f32::INFINITY]
    );
    let acrobot = Acrobot::new();
    assert_eq!(
        acrobot.observation_space().high(),
        &[1.0, 1.0, 1.0, 1.0, 12.566371, 28.274334]
    );
    assert_eq!(acrobot.observation_space().low()[5], -28.274334);
    let car = MountainCar::new();
    assert_eq!(car.observation_space().low(), &[-1.2, -0.07]);
    assert_eq!(car.observation_space().high(), &[0.6, 0.07]);
    assert_eq!(
        (
            cartpole.action_space().n(),
            acrobot.action_space().n(),
            car.action_space().n()
        ),
        (2, 3, 3)
    );
}

#[test]
fn replicas_run_in_a_vector_env() {
    let env = CartPole::new();
    let mut envs = SyncVecEnv::new((0..4).map(|_| env.replica()).collect()).unwrap();
    envs.reset(Some(0));
    let mut ended = 0;
    for _ in 0..100 {
        let step = envs.step(&[1, 1, 0, 0]).unwrap();
        ended += step.terminated.iter().filter(|&&t| t).count();
    }
    assert!(
        ended >= 8,
        "constant pushes tip every pole within 100 steps: {ended}"
    );
}
