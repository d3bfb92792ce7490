//! Backend parity: every tensor code path of the crate gives the same numbers on every CPU
//! backend compiled into this build.
//!
//! **Harness.** [`cpu_devices`] lists the backends of the build (ndarray always, flex with
//! `--features flex`, LibTorch CPU with `--features tch`). The first one is the reference. A
//! *case* is a closure that, given a device, builds its inputs on the host from a fixed seed
//! (identically whatever the device), runs crate code on that device and reads the result back
//! as a flat `Vec<f64>`. [`check_parity`] runs the case twice on the reference (a case must be
//! deterministic before it can be compared), then once on every other device, and compares
//! element-wise: `|reference - other| <= abs + rel * |reference|`. A failure names the case,
//! the device, the index and both values. With one backend compiled in the cases still run (on
//! the reference alone), so this file always builds and runs; `cargo test --features flex
//! --test backend_parity` compares ndarray with flex. Run with `-- --nocapture` to see the
//! largest difference of each case and device.
//!
//! **Tolerance policy.** Every backend computes in `f32`; the reference values are `f32` read
//! back as `f64`.
//!
//! - [`EXACT`] (0): outputs that are pure data movement or selection (gather, max, argmax,
//!   one-hot, host-side sampling from uploaded numbers) and discrete outputs (actions). Any
//!   difference is a bug, not rounding.
//! - [`ELEMENTWISE`] (`1e-6` absolute + `1e-5` relative, about 80 ulp): a few rounded `f32`
//!   operations per element (the estimators' recursions run on the host in `f64` from `f32`
//!   inputs; the one-step targets are two or three tensor ops; sums over 4 actions).
//! - [`TRANSCENDENTAL`] (`1e-5` absolute + `1e-5` relative): `exp`, `ln`, `powf` and softmax,
//!   whose vectorised implementations may differ by a few ulp between backends.
//! - [`TRAINING`] (`1e-4` absolute + `1e-4` relative): tables after several batched updates or
//!   a whole training run, where rounding differences accumulate over steps and repeated
//!   entries of a batch are summed in a backend-chosen order.
//!
//! **Adding a case** is one line (or one block) with [`parity_case!`]:
//!
//! ```ignore
//! parity_case!(my_case, ELEMENTWISE, |device| my_function(&inputs(), device));
//! ```
//!
//! Build the host inputs with [`rng`] and a seed of their own, never from the device.

mod common;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use common::RolloutCase;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::algo::{
    ExpectedSarsa, NStepSarsa, NStepTd, QLearning, Sarsa, StepSize, TabularBatch, TabularControl,
    TabularControlConfig, TabularPath, TabularTdConfig, TdZero, train_tabular,
};
use valuefn::device::cpu_devices;
use valuefn::encode::{ObservationEncoder, OneHot, StateIndex};
use valuefn::env::tabular::{CliffWalking, FrozenLake};
use valuefn::env::text::{
    BatchedTextEnv, Stop, TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch,
};
use valuefn::policy::{ActionSelector, Boltzmann, EpsilonGreedy, EpsilonSchedule, Greedy};
use valuefn::prelude::*;
use valuefn::returns::{
    VTraceConfig, discounted_returns, double_q_targets, expected_sarsa_targets, gae,
    lambda_returns, n_step_targets, q_learning_targets, soft_q_targets, soft_values, vtrace,
};
use valuefn::tensor_ops::{float_tensor, index_tensor, to_indices, to_vec_f32};
use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};

// ---------------------------------------------------------------------------------------------
// The harness.

/// How far another backend may be from the reference: `|a - b| <= abs + rel * |a|`.
#[derive(Debug, Clone, Copy)]
struct Tolerance {
    abs: f64,
    rel: f64,
}

/// Selection, data movement and discrete outputs: bit-identical.
const EXACT: Tolerance = Tolerance { abs: 0.0, rel: 0.0 };
/// A few rounded `f32` operations per element.
const ELEMENTWISE: Tolerance = Tolerance {
    abs: 1e-6,
    rel: 1e-5,
};
/// `exp`, `ln`, `powf`, softmax.
const TRANSCENDENTAL: Tolerance = Tolerance {
    abs: 1e-5,
    rel: 1e-5,
};
/// Tables after many updates, where rounding accumulates.
const TRAINING: Tolerance = Tolerance {
    abs: 1e-4,
    rel: 1e-4,
};

/// Index of the first element of `other` outside `tolerance` of `reference`, with the
/// largest absolute difference seen.
fn compare(reference: &[f64], other: &[f64], tolerance: Tolerance) -> (Option<usize>, f64) {
    let mut worst = 0.0f64;
    for (i, (&a, &b)) in reference.iter().zip(other).enumerate() {
        let diff = (a - b).abs();
        if diff.is_nan() || diff > tolerance.abs + tolerance.rel * a.abs() {
            return (Some(i), diff);
        }
        worst = worst.max(diff);
    }
    (None, worst)
}

/// Runs `case` on every CPU device and checks each against the first (the reference).
fn check_parity(name: &str, tolerance: Tolerance, case: impl Fn(&Device) -> Vec<f64>) {
    let devices = cpu_devices();
    let (reference_name, reference_device) = &devices[0];
    let reference = case(reference_device);
    assert!(!reference.is_empty(), "{name}: the case returned nothing");
    if let Some(i) = reference.iter().position(|x| !x.is_finite()) {
        panic!(
            "{name}: {reference_name}[{i}] = {} is not finite",
            reference[i]
        );
    }
    let mut runs = vec![(format!("{reference_name} (second run)"), reference_device)];
    runs.extend(devices[1..].iter().map(|(n, d)| (n.to_string(), d)));
    for (device_name, device) in runs {
        let other = case(device);
        assert_eq!(
            other.len(),
            reference.len(),
            "{name}: {device_name} returned {} numbers, {reference_name} {}",
            other.len(),
            reference.len()
        );
        match compare(&reference, &other, tolerance) {
            (Some(i), diff) => panic!(
                "{name}: {device_name}[{i}] = {} but {reference_name}[{i}] = {} \
                 (|diff| {diff:e}, tolerance {:e} + {:e} * |reference|)",
                other[i], reference[i], tolerance.abs, tolerance.rel
            ),
            (None, worst) => eprintln!(
                "{name}: {device_name} vs {reference_name}: {} values, max |diff| {worst:e}",
                reference.len()
            ),
        }
    }
}

/// `parity_case!(name, tolerance, |device| expression)`: one `#[test]` that checks the
/// expression (a `Vec<f64>`) on every CPU device against the reference.
macro_rules! parity_case {
    ($name:ident, $tolerance:expr, |$device:ident| $body:expr) => {
        #[test]
        fn $name() {
            check_parity(
                stringify!($name),
                $tolerance,
                |$device: &Device| -> Vec<f64> { $body },
            );
        }
    };
}

#[test]
fn the_harness_flags_differences_beyond_the_tolerance() {
    let reference = [1.0, -2.0, 0.0];
    assert_eq!(compare(&reference, &reference, EXACT), (None, 0.0));
    assert_eq!(compare(&reference, &[1.0, -2.0, 1e-9], EXACT).0, Some(2));
    // 1e-6 + 1e-5 * 2 = 2.1e-5 allowed at index 1.
    assert_eq!(
        compare(&reference, &[1.0, -2.00002, 0.0], ELEMENTWISE).0,
        None
    );
    assert_eq!(
        compare(&reference, &[1.0, -2.00003, 0.0], ELEMENTWISE).0,
        Some(1)
    );
    assert_eq!(
        compare(&reference, &[f64::NAN, -2.0, 0.0], TRAINING).0,
        Some(0)
    );
}

// ---------------------------------------------------------------------------------------------
// Host inputs, built from fixed seeds and never from the device.

/// The generator every input is drawn from; `seed` keeps the inputs of unrelated cases apart.
fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(0x7061_7269_7479 ^ seed)
}

fn floats(tensor: Tensor<1>) -> Vec<f64> {
    to_vec_f32(tensor).into_iter().map(f64::from).collect()
}

fn floats_2d(tensor: Tensor<2>) -> Vec<f64> {
    to_vec_f32(tensor).into_iter().map(f64::from).collect()
}

fn indices(tensor: Tensor<1, Int>) -> Vec<f64> {
    to_indices(tensor).into_iter().map(|i| i as f64).collect()
}

fn actions(actions: Vec<usize>) -> Vec<f64> {
    actions.into_iter().map(|a| a as f64).collect()
}

fn uniform(rng: &mut StdRng, n: usize, low: f64, high: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(low..high)).collect()
}

/// Values on a grid of step 0.5 in `[-2, 2]`: rows of Q values with exact ties.
fn with_ties(rng: &mut StdRng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| f64::from(rng.random_range(-4i32..=4)) * 0.5)
        .collect()
}

/// Rows of probabilities (every entry positive), `rows x cols`.
fn probabilities(rng: &mut StdRng, rows: usize, cols: usize) -> Vec<f64> {
    let weights = uniform(rng, rows * cols, 0.05, 1.0);
    weights
        .chunks(cols)
        .flat_map(|row| {
            let sum: f64 = row.iter().sum();
            row.iter().map(move |w| w / sum).collect::<Vec<_>>()
        })
        .collect()
}

/// A random time-major rollout of `B` trajectories with terminated and truncated steps.
impl RolloutCase {
    fn new() -> Self {
        let (steps, envs) = (24, 3);
        let n = steps * envs;
        let mut rng = rng(1);
        let rewards = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        // About 15% terminated and 10% truncated steps, never both.
        let ends: Vec<u8> = (0..n).map(|_| rng.random_range(0..20)).collect();
        let terminated: Vec<bool> = ends.iter().map(|&e| e < 3).collect();
        let truncated: Vec<bool> = ends.iter().map(|&e| (3..5).contains(&e)).collect();
        assert!(terminated.iter().any(|&t| t) && truncated.iter().any(|&t| t));
        Self {
            steps,
            envs,
            rewards,
            terminated,
            truncated,
            values: uniform(&mut rng, n, -2.0, 2.0),
            next_values: uniform(&mut rng, n, -2.0, 2.0),
            log_rhos: uniform(&mut rng, n, -1.5, 1.5),
        }
    }

    fn values(&self, device: &Device) -> Tensor<2> {
        self.tensor(&self.values, device)
    }

    fn next_values(&self, device: &Device) -> Tensor<2> {
        self.tensor(&self.next_values, device)
    }
}

/// A random batch of one-step transitions: `[B]` rewards and flags, `[B, A]` next-state Q
/// values (online with exact ties, target without), policy probabilities and their logs.
struct OneStepInputs {
    batch: usize,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    next_q: Vec<f64>,
    next_q_target: Vec<f64>,
    probabilities: Vec<f64>,
    log_reference: Vec<f64>,
}

impl OneStepInputs {
    const ACTIONS: usize = 4;

    fn new() -> Self {
        let batch = 32;
        let n = batch * Self::ACTIONS;
        let mut rng = rng(2);
        let rewards = (0..batch).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let terminated = (0..batch).map(|_| rng.random_bool(0.25)).collect();
        let next_q = with_ties(&mut rng, n);
        let next_q_target = uniform(&mut rng, n, -3.0, 3.0);
        let probabilities = probabilities(&mut rng, batch, Self::ACTIONS);
        let log_reference = probabilities.iter().map(|p| p.ln()).collect();
        Self {
            batch,
            rewards,
            terminated,
            next_q,
            next_q_target,
            probabilities,
            log_reference,
        }
    }

    fn rewards(&self, device: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(self.rewards.clone(), [self.batch]), device)
    }

    fn terminated(&self, device: &Device) -> Tensor<1, Bool> {
        Tensor::from_data(
            TensorData::new(self.terminated.clone(), [self.batch]),
            device,
        )
    }

    fn matrix(&self, values: &[f64], device: &Device) -> Tensor<2> {
        float_tensor(values, [self.batch, Self::ACTIONS], device)
    }
}

const STATES: usize = 12;
const ACTIONS: usize = 4;

/// Six batches of 32 independent random transitions on a `STATES x ACTIONS` problem (repeated
/// `(s, a)` pairs included, so the summed-increment path runs), with random next actions.
fn random_batches() -> Vec<(TabularBatch, Vec<usize>)> {
    let mut rng = rng(3);
    (0..6)
        .map(|_| {
            let n = 32;
            let mut draw = |bound: usize| -> Vec<usize> {
                (0..n).map(|_| rng.random_range(0..bound)).collect()
            };
            let (states, actions, next_states, next_actions) =
                (draw(STATES), draw(ACTIONS), draw(STATES), draw(ACTIONS));
            let rewards = uniform(&mut rng, n, -1.0, 1.0);
            let terminated = (0..n).map(|_| rng.random_bool(0.2)).collect();
            let batch = TabularBatch::new(states, actions, rewards, next_states, terminated);
            (batch.unwrap(), next_actions)
        })
        .collect()
}

/// Six segments of 10 consecutive transitions of one random trajectory (episodes restart
/// after a terminated step), with `next_actions[t] = a_{t+1}`.
fn random_segments() -> Vec<(TabularBatch, Vec<usize>)> {
    let mut rng = rng(4);
    let mut state = rng.random_range(0..STATES);
    let mut action = rng.random_range(0..ACTIONS);
    (0..6)
        .map(|_| {
            let (mut s, mut a, mut r, mut s2, mut done, mut a2) =
                (vec![], vec![], vec![], vec![], vec![], vec![]);
            for _ in 0..10 {
                let next_state = rng.random_range(0..STATES);
                let terminated = rng.random_bool(0.15);
                let next_action = rng.random_range(0..ACTIONS);
                s.push(state);
                a.push(action);
                r.push(rng.random_range(-1.0..1.0));
                s2.push(next_state);
                done.push(terminated);
                a2.push(next_action);
                state = if terminated {
                    rng.random_range(0..STATES)
                } else {
                    next_state
                };
                action = next_action;
            }
            (TabularBatch::new(s, a, r, s2, done).unwrap(), a2)
        })
        .collect()
}

fn initial_q(device: &Device) -> QTable {
    let values = uniform(&mut rng(5), STATES * ACTIONS, -1.0, 1.0);
    QTable::from_q_values(&QValues::new(STATES, ACTIONS, values).unwrap(), device)
}

fn initial_v(device: &Device) -> VTable {
    VTable::from_values(&uniform(&mut rng(6), STATES, -1.0, 1.0), device)
}

fn td_config(step_size: StepSize) -> TabularTdConfig {
    TabularTdConfig::new()
        .with_gamma(0.9)
        .with_step_size(step_size)
}

const ALPHA: StepSize = StepSize::Constant { alpha: 0.3 };

/// Applies `update` to a fresh table for every batch; returns the final table followed by the
/// TD errors of every batch.
fn train_q(
    device: &Device,
    batches: &[(TabularBatch, Vec<usize>)],
    mut update: impl FnMut(&mut QTable, &TabularBatch, &[usize]) -> Tensor<1>,
) -> Vec<f64> {
    let mut q = initial_q(device);
    let mut td_errors = vec![];
    for (batch, next_actions) in batches {
        td_errors.extend(floats(update(&mut q, batch, next_actions)));
    }
    let mut out = q.to_q_values().as_slice().to_vec();
    out.extend(td_errors);
    out
}

/// As [`train_q`], for a state-value table.
fn train_v(
    device: &Device,
    batches: &[(TabularBatch, Vec<usize>)],
    mut update: impl FnMut(&mut VTable, &TabularBatch) -> Tensor<1>,
) -> Vec<f64> {
    let mut v = initial_v(device);
    let mut td_errors = vec![];
    for (batch, _) in batches {
        td_errors.extend(floats(update(&mut v, batch)));
    }
    let mut out = v.to_vec();
    out.extend(td_errors);
    out
}

/// A `16 x 5` Q-table with exact ties, and a batch of 40 states (repeats included).
fn q_table_and_states(device: &Device) -> (QTable, Tensor<1, Int>, Vec<f64>) {
    let mut rng = rng(7);
    let values = with_ties(&mut rng, 16 * 5);
    let states: Vec<usize> = (0..40).map(|_| rng.random_range(0..16)).collect();
    let probabilities = probabilities(&mut rng, states.len(), 5);
    let q = QTable::from_q_values(&QValues::new(16, 5, values).unwrap(), device);
    (q, index_tensor(&states, device), probabilities)
}

/// Q values of `q_table_and_states` for the sampled states, `[40, 5]`.
fn q_rows(device: &Device) -> Tensor<2> {
    let (q, states, _) = q_table_and_states(device);
    q.q_values(states).unwrap()
}

/// Runs `train_tabular` on `env` from a zero `states x 4` table; returns the learned table
/// followed by each episode's length and return.
fn trained_table<E>(
    env: &mut E,
    (states, actions): (usize, usize),
    config: &TabularControlConfig,
    device: &Device,
) -> Vec<f64>
where
    E: Environment<Observation = usize, Action = usize>,
{
    let mut q = QTable::zeros(states, actions, device);
    // The tensor path, so that the backends' kernels are what is compared: the host path never
    // touches them (tests/host_path.rs checks it against this path on every backend).
    let config = config.clone().with_path(TabularPath::Tensor);
    let stats = train_tabular(env, &mut q, &config).unwrap();
    let mut out = q.to_q_values().as_slice().to_vec();
    assert!(
        out.iter().any(|&x| x != 0.0),
        "the run learned nothing, so it would compare nothing"
    );
    out.extend(
        stats
            .iter()
            .flat_map(|e| [e.length as f64, e.episode_return]),
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Return estimators (`valuefn::returns`).

parity_case!(discounted_returns_match, ELEMENTWISE, |device| {
    let r = RolloutCase::new();
    floats_2d(discounted_returns(&r.rollout(device), r.next_values(device), 0.97).unwrap())
});

parity_case!(n_step_targets_match, ELEMENTWISE, |device| {
    let r = RolloutCase::new();
    floats_2d(n_step_targets(&r.rollout(device), r.next_values(device), 0.97, 4).unwrap())
});

parity_case!(lambda_returns_match, ELEMENTWISE, |device| {
    let r = RolloutCase::new();
    floats_2d(lambda_returns(&r.rollout(device), r.next_values(device), 0.97, 0.8).unwrap())
});

parity_case!(gae_advantages_and_returns_match, ELEMENTWISE, |device| {
    let r = RolloutCase::new();
    let out = gae(
        &r.rollout(device),
        r.values(device),
        r.next_values(device),
        0.97,
        0.9,
    );
    let out = out.unwrap();
    [floats_2d(out.advantages), floats_2d(out.returns)].concat()
});

parity_case!(vtrace_targets_and_advantages_match, ELEMENTWISE, |device| {
    let r = RolloutCase::new();
    let config = VTraceConfig::new()
        .with_gamma(0.97)
        .with_lambda(0.95)
        .with_clip_rho(1.0)
        .with_clip_c(0.9);
    let log_rhos = r.tensor(&r.log_rhos, device);
    let out = vtrace(
        &r.rollout(device),
        r.values(device),
        r.next_values(device),
        log_rhos,
        &config,
    );
    let out = out.unwrap();
    [floats_2d(out.targets), floats_2d(out.advantages)].concat()
});

parity_case!(q_learning_targets_match, ELEMENTWISE, |device| {
    let b = OneStepInputs::new();
    let y = q_learning_targets(
        b.rewards(device),
        b.matrix(&b.next_q, device),
        b.terminated(device),
        0.9,
    );
    floats(y.unwrap())
});

parity_case!(double_q_targets_match, ELEMENTWISE, |device| {
    // The online Q values have exact ties: this also pins argmax tie-breaking.
    let b = OneStepInputs::new();
    let (online, target) = (
        b.matrix(&b.next_q, device),
        b.matrix(&b.next_q_target, device),
    );
    let y = double_q_targets(b.rewards(device), online, target, b.terminated(device), 0.9);
    floats(y.unwrap())
});

parity_case!(expected_sarsa_targets_match, ELEMENTWISE, |device| {
    let b = OneStepInputs::new();
    let (q, p) = (
        b.matrix(&b.next_q_target, device),
        b.matrix(&b.probabilities, device),
    );
    floats(expected_sarsa_targets(b.rewards(device), q, p, b.terminated(device), 0.9).unwrap())
});

parity_case!(
    soft_values_uniform_reference_match,
    TRANSCENDENTAL,
    |device| {
        let b = OneStepInputs::new();
        floats(soft_values(b.matrix(&b.next_q_target, device), 0.5, None).unwrap())
    }
);

parity_case!(soft_values_with_reference_match, TRANSCENDENTAL, |device| {
    let b = OneStepInputs::new();
    let log_pi = b.matrix(&b.log_reference, device);
    floats(soft_values(b.matrix(&b.next_q_target, device), 0.5, Some(log_pi)).unwrap())
});

parity_case!(soft_values_of_large_q_match, TRANSCENDENTAL, |device| {
    // Q values near 1e3 with tau 0.05: exp would overflow without the max shift.
    let b = OneStepInputs::new();
    let large: Vec<f64> = b.next_q_target.iter().map(|q| 1e3 + q).collect();
    floats(soft_values(b.matrix(&large, device), 0.05, None).unwrap())
});

parity_case!(soft_q_targets_match, TRANSCENDENTAL, |device| {
    let b = OneStepInputs::new();
    let (q, log_pi) = (
        b.matrix(&b.next_q_target, device),
        b.matrix(&b.log_reference, device),
    );
    let y = soft_q_targets(
        b.rewards(device),
        q,
        b.terminated(device),
        0.9,
        0.7,
        Some(log_pi),
    );
    floats(y.unwrap())
});

// ---------------------------------------------------------------------------------------------
// Tabular updaters (`valuefn::algo`): six batches each, table and TD errors read back.

parity_case!(td_zero_matches, TRAINING, |device| {
    let mut td = TdZero::new(&td_config(ALPHA))
        .unwrap()
        .with_path(TabularPath::Tensor);
    train_v(device, &random_batches(), |v, batch| {
        td.update(v, batch).unwrap()
    })
});

parity_case!(n_step_td_matches, TRAINING, |device| {
    let mut td = NStepTd::new(&td_config(ALPHA), 3)
        .unwrap()
        .with_path(TabularPath::Tensor);
    train_v(device, &random_segments(), |v, segment| {
        td.update(v, segment).unwrap()
    })
});

parity_case!(q_learning_matches, TRAINING, |device| {
    let mut learner = QLearning::new(&td_config(ALPHA))
        .unwrap()
        .with_path(TabularPath::Tensor);
    train_q(device, &random_batches(), |q, batch, _| {
        learner.update(q, batch).unwrap()
    })
});

parity_case!(
    q_learning_visit_count_step_size_matches,
    TRAINING,
    |device| {
        let mut learner = QLearning::new(&td_config(StepSize::VisitCount { power: 0.8 }))
            .unwrap()
            .with_path(TabularPath::Tensor);
        train_q(device, &random_batches(), |q, batch, _| {
            learner.update(q, batch).unwrap()
        })
    }
);

parity_case!(sarsa_matches, TRAINING, |device| {
    let mut learner = Sarsa::new(&td_config(ALPHA))
        .unwrap()
        .with_path(TabularPath::Tensor);
    train_q(device, &random_batches(), |q, batch, next| {
        learner.update(q, batch, next).unwrap()
    })
});

parity_case!(expected_sarsa_epsilon_greedy_matches, TRAINING, |device| {
    let mut learner = ExpectedSarsa::new(&td_config(ALPHA))
        .unwrap()
        .with_path(TabularPath::Tensor);
    let policy = EpsilonGreedy::new(0.2).unwrap();
    train_q(device, &random_batches(), |q, batch, _| {
        learner.update(q, batch, &policy).unwrap()
    })
});

parity_case!(expected_sarsa_boltzmann_matches, TRAINING, |device| {
    let mut learner = ExpectedSarsa::new(&td_config(ALPHA))
        .unwrap()
        .with_path(TabularPath::Tensor);
    let policy = Boltzmann::new(0.5).unwrap();
    train_q(device, &random_batches(), |q, batch, _| {
        learner.update(q, batch, &policy).unwrap()
    })
});

parity_case!(n_step_sarsa_matches, TRAINING, |device| {
    let mut learner = NStepSarsa::new(&td_config(ALPHA), 3)
        .unwrap()
        .with_path(TabularPath::Tensor);
    train_q(device, &random_segments(), |q, s, next| {
        learner.update(q, s, next).unwrap()
    })
});

// ---------------------------------------------------------------------------------------------
// Value-function queries (`QFunctionExt`, `VFunction`).

parity_case!(greedy_actions_match, EXACT, |device| {
    // Rows with exact ties: argmax must break them the same way (lowest action) everywhere.
    let (q, states, _) = q_table_and_states(device);
    indices(q.greedy_actions(states).unwrap())
});

parity_case!(max_q_matches, EXACT, |device| {
    let (q, states, _) = q_table_and_states(device);
    floats(q.max_q(states).unwrap())
});

parity_case!(expected_q_matches, ELEMENTWISE, |device| {
    let (q, states, p) = q_table_and_states(device);
    let [batch] = states.dims();
    floats(
        q.expected_q(states, float_tensor(&p, [batch, 5], device))
            .unwrap(),
    )
});

parity_case!(v_table_values_match, EXACT, |device| {
    let states: Vec<usize> = (0..30).map(|i| (i * 7) % STATES).collect();
    floats(
        initial_v(device)
            .values(index_tensor(&states, device))
            .unwrap(),
    )
});

// ---------------------------------------------------------------------------------------------
// Action selection (`valuefn::policy`). Greedy and epsilon-greedy read the Q values back and
// choose on the host, so the chosen actions must agree exactly. Boltzmann samples the device's
// softmax by inverse CDF on the host: a uniform draw within an ulp of a cumulative boundary
// could legitimately pick a neighbouring action on another backend, so its probabilities are
// compared instead (the host sampler is backend-independent code).

parity_case!(greedy_select_matches, EXACT, |device| {
    actions(Greedy.select(q_rows(device), &mut rng(8)))
});

parity_case!(epsilon_greedy_select_matches, EXACT, |device| {
    actions(
        EpsilonGreedy::new(0.3)
            .unwrap()
            .select(q_rows(device), &mut rng(9)),
    )
});

parity_case!(epsilon_greedy_probabilities_match, EXACT, |device| {
    floats_2d(
        EpsilonGreedy::new(0.3)
            .unwrap()
            .probabilities(q_rows(device)),
    )
});

parity_case!(boltzmann_probabilities_match, TRANSCENDENTAL, |device| {
    floats_2d(Boltzmann::new(0.7).unwrap().probabilities(q_rows(device)))
});

parity_case!(tabular_policy_sample_actions_match, EXACT, |device| {
    // The probabilities are uploaded and read back unchanged, so sampling is exact too.
    let mut host = rng(10);
    let table = PolicyTable::new(STATES, ACTIONS, probabilities(&mut host, STATES, ACTIONS));
    let pi = TabularPolicy::from_table(&table.unwrap(), device);
    let states: Vec<usize> = (0..50).map(|_| host.random_range(0..STATES)).collect();
    actions(
        pi.sample_actions(index_tensor(&states, device), &mut rng(11))
            .unwrap(),
    )
});

// ---------------------------------------------------------------------------------------------
// Observation encoders (`valuefn::encode`): pure data movement.

parity_case!(encoders_match, EXACT, |device| {
    let states: Vec<usize> = (0..20).map(|i| (i * 5) % STATES).collect();
    let one_hot = OneHot::new(STATES).encode(&states, device).unwrap();
    let index = StateIndex::new(STATES).encode(&states, device).unwrap();
    [floats_2d(one_hot), indices(index)].concat()
});

// ---------------------------------------------------------------------------------------------
// Whole training runs (`train_tabular`). Exploration ties are broken on the host by exact
// float equality, so one differently rounded entry could flip a tie, change the trajectory and
// make the tables differ by whole rewards: a failure far above TRAINING means a divergent
// trajectory, not accumulated rounding. The settings keep rounding out of it: one transition
// per update (no summed duplicates), integer rewards, alpha 0.5 and gamma 1, and a bootstrap
// that is a gather or a max, so every update is a handful of correctly rounded f32 operations
// (sub, add, multiply by 0.5) that IEEE 754 makes bit-reproducible; ndarray and flex agree to
// the bit. TRAINING leaves room for a backend that fuses or reorders them. The episode lengths
// and returns are compared too.

parity_case!(
    train_tabular_q_learning_cliff_walking_matches,
    TRAINING,
    |device| {
        let td = TabularTdConfig::new()
            .with_gamma(1.0)
            .with_step_size(StepSize::Constant { alpha: 0.5 });
        let config = TabularControlConfig::new(TabularControl::QLearning, td)
            .with_episodes(50)
            .with_seed(7);
        trained_table(
            &mut TabularEnv::new(CliffWalking::new()),
            (48, 4),
            &config,
            device,
        )
    }
);

parity_case!(
    train_tabular_sarsa_frozen_lake_matches,
    TRAINING,
    |device| {
        // Slippery 4x4 lake: stochastic transitions, rewards 0 or 1, alpha 0.5, gamma 1 and a
        // decaying exploration rate.
        let td = TabularTdConfig::new()
            .with_gamma(1.0)
            .with_step_size(StepSize::Constant { alpha: 0.5 });
        let config = TabularControlConfig::new(TabularControl::Sarsa, td)
            .with_episodes(300)
            .with_exploration(EpsilonSchedule::Linear {
                start: 1.0,
                end: 0.1,
                steps: 200,
            })
            .with_seed(11);
        let mut env = TabularEnv::new(FrozenLake::four_by_four(true));
        trained_table(&mut env, (16, 4), &config, device)
    }
);

// ---------------------------------------------------------------------------------------------
// The text-generation MDP (`valuefn::env::text`).

/// A reverse-"ab" task stopping at `<eos>`: 6 token ids, 4 new tokens at most.
fn text_env() -> TextGenerationEnv {
    let tok = CharTokenizer::fit(["ab"]).unwrap();
    let task = TokenTask::encode(&TextPair::new("ab", "ba"), &tok).unwrap();
    let config = TextEnvConfig::new()
        .with_stop(Stop::Eos)
        .with_max_new_tokens(3);
    TextGenerationEnv::new(vec![task], tok.vocabulary(), TokenMatch, &config).unwrap()
}

parity_case!(padded_tokens_match, EXACT, |device| {
    let mut batch = BatchedTextEnv::new(&text_env(), 6).unwrap();
    batch.reset(Some(3));
    let mut host = rng(12);
    let mut out = Vec::new();
    for _ in 0..5 {
        let tokens: Vec<usize> = (0..6).map(|_| host.random_range(0..6)).collect();
        batch.step(&tokens).unwrap();
        let t = valuefn::encode::PaddedTokens
            .encode(&batch.observations(), device)
            .unwrap();
        let ids = t.ids.float();
        let mask = t.mask.float();
        out.extend([floats_2d(ids), floats_2d(mask), indices(t.lengths)].concat());
    }
    out
});

parity_case!(q_learning_on_the_text_mdp_matches, TRAINING, |device| {
    let env = text_env();
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    let td = TabularTdConfig::new()
        .with_gamma(1.0)
        .with_step_size(StepSize::Constant { alpha: 0.5 });
    let config = TabularControlConfig::new(TabularControl::QLearning, td)
        .with_exploration(EpsilonSchedule::Constant { epsilon: 1.0 })
        .with_episodes(200)
        .with_seed(5);
    let mut indexed = text_mdp.indexed(env).unwrap();
    trained_table(&mut indexed, (text_mdp.num_states(), 6), &config, device)
});

// ---------------------------------------------------------------------------------------------
// CUDA through LibTorch: asked for by name, refused clearly where there is none.

#[cfg(feature = "tch")]
#[test]
fn cuda_devices_exist_or_are_refused_with_a_reason() {
    match valuefn::device::parse_device("tch-cuda:0") {
        // A machine with a GPU: the device must work.
        Ok(device) => {
            let x = float_tensor(&[1.0, 2.0], [2], &device);
            assert_eq!(to_vec_f32(x.mul_scalar(2.0)), vec![2.0, 4.0]);
        }
        Err(err) => {
            assert!(matches!(err, Error::UnknownDevice { .. }));
            assert!(err.to_string().contains("no CUDA device"), "{err}");
        }
    }
    let err = valuefn::device::parse_device("tch-cuda:4096").unwrap_err();
    assert!(matches!(err, Error::UnknownDevice { .. }), "{err}");
}
