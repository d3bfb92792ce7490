//! The host path of the tabular learners against the tensor path: same tables, same episodes,
//! same action distributions.

mod common;

use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::algo::{
    ExpectedSarsa, NStepSarsa, NStepTd, QLearning, Sarsa, StepSize, TabularBatch, TabularControl,
    TabularControlConfig, TabularPath, TabularTdConfig, TdZero, train_tabular,
};
use valuefn::env::EpisodeStats;
use valuefn::env::tabular::{CliffWalking, FrozenLake};
use valuefn::policy::{
    ActionSelector, Boltzmann, EpsilonGreedy, EpsilonSchedule, Greedy, HostSelector,
};
use valuefn::prelude::*;
use valuefn::tensor_ops::to_vec_f32;

const ALGORITHMS: [TabularControl; 3] = [
    TabularControl::QLearning,
    TabularControl::Sarsa,
    TabularControl::ExpectedSarsa,
];

/// Runs `train_tabular` on `path` and returns the table and the episode statistics.
fn run<E>(
    env: &mut E,
    (states, actions): (usize, usize),
    config: &TabularControlConfig,
    path: TabularPath,
    device: &Device,
) -> (Vec<f64>, Vec<EpisodeStats>)
where
    E: Environment<Observation = usize, Action = usize>,
{
    let mut q = QTable::zeros(states, actions, device);
    let stats = train_tabular(env, &mut q, &config.clone().with_path(path)).unwrap();
    (q.to_q_values().as_slice().to_vec(), stats)
}

/// Asserts the host and tensor runs agree: every entry to `1e-6` (relative above 1) and the
/// episodes exactly.
fn assert_same_run<E>(
    what: &str,
    make_env: impl Fn() -> E,
    shape: (usize, usize),
    config: &TabularControlConfig,
) where
    E: Environment<Observation = usize, Action = usize>,
{
    for (name, device) in valuefn::device::cpu_devices() {
        let (host, host_stats) = run(&mut make_env(), shape, config, TabularPath::Host, &device);
        let (tensor, tensor_stats) =
            run(&mut make_env(), shape, config, TabularPath::Tensor, &device);
        assert!(
            host.iter().any(|&x| x != 0.0),
            "{what} on {name} learned nothing"
        );
        for (i, (h, t)) in host.iter().zip(&tensor).enumerate() {
            assert!(
                (h - t).abs() <= 1e-6 * t.abs().max(1.0),
                "{what} on {name}: entry {i} host {h} tensor {t}"
            );
        }
        assert_eq!(
            host_stats, tensor_stats,
            "{what} on {name}: episodes differ"
        );
    }
}

fn td(alpha_or_power: StepSize, gamma: f64) -> TabularTdConfig {
    TabularTdConfig::new()
        .with_gamma(gamma)
        .with_step_size(alpha_or_power)
}

#[test]
fn host_and_tensor_paths_learn_the_same_table_on_frozen_lake() {
    // The benchmark workload: slippery 4x4, time limit 100 (truncations), alpha 0.1,
    // gamma 0.99, epsilon 0.1; and visit-count step sizes with decaying exploration.
    let lake = || TimeLimit::new(TabularEnv::new(FrozenLake::four_by_four(true)), 100).unwrap();
    for algorithm in ALGORITHMS {
        let config =
            TabularControlConfig::new(algorithm, td(StepSize::Constant { alpha: 0.1 }, 0.99))
                .with_episodes(300)
                .with_seed(11);
        assert_same_run(&format!("{algorithm:?} constant"), lake, (16, 4), &config);
        let config =
            TabularControlConfig::new(algorithm, td(StepSize::VisitCount { power: 0.7 }, 0.9))
                .with_exploration(EpsilonSchedule::Linear {
                    start: 1.0,
                    end: 0.05,
                    steps: 200,
                })
                .with_episodes(300)
                .with_seed(5);
        assert_same_run(
            &format!("{algorithm:?} visit count"),
            lake,
            (16, 4),
            &config,
        );
    }
}

#[test]
fn host_and_tensor_paths_learn_the_same_table_with_truncation_on_the_cliff() {
    // A time limit of 15 truncates most early episodes, so truncated steps bootstrap often.
    let cliff = || TimeLimit::new(TabularEnv::new(CliffWalking::new()), 15).unwrap();
    for algorithm in ALGORITHMS {
        let config =
            TabularControlConfig::new(algorithm, td(StepSize::Constant { alpha: 0.5 }, 1.0))
                .with_exploration(EpsilonSchedule::Constant { epsilon: 0.2 })
                .with_episodes(200)
                .with_seed(3);
        let stats = run(
            &mut cliff(),
            (48, 4),
            &config,
            TabularPath::Host,
            &valuefn::device::default_device(),
        )
        .1;
        assert!(
            stats.iter().filter(|e| !e.terminated).count() > 20,
            "the time limit should cut many episodes"
        );
        assert_same_run(&format!("{algorithm:?} cliff"), cliff, (48, 4), &config);
    }
}

#[test]
fn auto_runs_on_the_host_for_cpu_backends() {
    for (name, device) in valuefn::device::cpu_devices() {
        assert!(TabularPath::Auto.runs_on_host(&device), "{name}");
        assert!(
            TabularPath::Auto.runs_on_host(&device.clone().autodiff()),
            "{name} autodiff"
        );
        assert!(!TabularPath::Tensor.runs_on_host(&device));
    }
}

#[test]
fn host_path_errors_like_the_tensor_path_and_keeps_earlier_updates() {
    for path in [TabularPath::Host, TabularPath::Tensor] {
        let device = valuefn::device::default_device();
        let config = TabularControlConfig::new(
            TabularControl::QLearning,
            td(StepSize::Constant { alpha: 0.5 }, 1.0),
        )
        .with_episodes(3)
        .with_path(path);
        // A table smaller than the environment: the first out-of-range state is an error.
        let mut q = QTable::zeros(10, 4, &device);
        let err = train_tabular(&mut TabularEnv::new(CliffWalking::new()), &mut q, &config);
        assert!(
            matches!(
                err,
                Err(valuefn::Error::InvalidState { num_states: 10, .. })
            ),
            "{path:?}: {err:?}"
        );
        // No actions: an error, not a panic.
        let mut q = QTable::zeros(48, 0, &device);
        let err = train_tabular(&mut TabularEnv::new(CliffWalking::new()), &mut q, &config);
        assert!(
            matches!(err, Err(valuefn::Error::ShapeMismatch { .. })),
            "{path:?}: {err:?}"
        );
    }
}

/// Q rows with exact ties, an all-tied row, NaN and spread values.
fn rows() -> Vec<Vec<f32>> {
    vec![
        vec![1.0, 5.0, 5.0, 2.0],
        vec![0.0, 0.0, 0.0, 0.0],
        vec![0.3, -1.2, 0.9, 0.2],
        vec![f32::NAN, 2.0, 2.0],
        vec![7.0],
    ]
}

/// Critical values of the chi-square distribution at level 0.001, by degrees of freedom.
const CHI_SQUARE_0_001: [f64; 6] = [f64::NAN, 10.828, 13.816, 16.266, 18.467, 20.515];

/// Draws `draws` actions from `selector` on the host and tests the counts against the tensor
/// selector's probabilities on `device`: actions of probability zero are never drawn, and the
/// chi-square statistic over the others is below its 0.001 critical value.
fn chi_square<S: ActionSelector + HostSelector>(what: &str, selector: &S, device: &Device) {
    const DRAWS: usize = 20_000;
    for (r, row) in rows().into_iter().enumerate() {
        let q = Tensor::<1>::from_floats(row.as_slice(), device).reshape([1, row.len()]);
        let p = to_vec_f32(selector.probabilities(q));
        let mut host_p = vec![0.0; row.len()];
        selector.row_probabilities(&row, &mut host_p);
        if p.iter().any(|x| x.is_nan()) {
            // Boltzmann of a NaN row has no distribution; both paths say so.
            assert!(
                host_p.iter().all(|x| x.is_nan()),
                "{what} row {r}: {host_p:?}"
            );
            continue;
        }
        for (a, (h, t)) in host_p.iter().zip(&p).enumerate() {
            assert!(
                (h - t).abs() < 1e-6,
                "{what} row {r} action {a}: host {h}, tensor {t}"
            );
        }
        let mut rng = StdRng::seed_from_u64(r as u64);
        let mut counts = vec![0usize; row.len()];
        for _ in 0..DRAWS {
            counts[selector.select_row(&row, &mut rng)] += 1;
        }
        let mut statistic = 0.0;
        let mut categories = 0;
        for (&count, &prob) in counts.iter().zip(&p) {
            if prob == 0.0 {
                assert_eq!(count, 0, "{what} row {r}: drew an action of probability 0");
            } else {
                let expected = DRAWS as f64 * f64::from(prob);
                statistic += (count as f64 - expected).powi(2) / expected;
                categories += 1;
            }
        }
        if categories > 1 {
            let critical = CHI_SQUARE_0_001[categories - 1];
            assert!(
                statistic < critical,
                "{what} row {r}: chi-square {statistic} >= {critical} ({counts:?} vs {p:?})"
            );
        }
    }
}

#[test]
fn host_selectors_draw_from_the_tensor_selectors_distributions() {
    for (name, device) in valuefn::device::cpu_devices() {
        chi_square(&format!("greedy on {name}"), &Greedy, &device);
        chi_square(
            &format!("epsilon-greedy on {name}"),
            &EpsilonGreedy::new(0.3).unwrap(),
            &device,
        );
        chi_square(
            &format!("boltzmann on {name}"),
            &Boltzmann::new(0.5).unwrap(),
            &device,
        );
    }
}

#[test]
fn host_selectors_make_the_tensor_selectors_draws_from_the_same_seed() {
    fn same_draws<S: ActionSelector + HostSelector>(selector: &S, device: &Device) -> usize {
        let mut mismatches = 0;
        for (r, row) in rows().into_iter().enumerate() {
            let q = Tensor::<1>::from_floats(row.as_slice(), device).reshape([1, row.len()]);
            let (mut host_rng, mut tensor_rng) = (
                StdRng::seed_from_u64(r as u64),
                StdRng::seed_from_u64(r as u64),
            );
            for _ in 0..500 {
                let host = selector.select_row(&row, &mut host_rng);
                let tensor = selector.select(q.clone(), &mut tensor_rng)[0];
                mismatches += usize::from(host != tensor);
            }
        }
        mismatches
    }
    for (name, device) in valuefn::device::cpu_devices() {
        assert_eq!(same_draws(&Greedy, &device), 0, "greedy on {name}");
        assert_eq!(
            same_draws(&EpsilonGreedy::new(0.3).unwrap(), &device),
            0,
            "epsilon-greedy on {name}"
        );
        // Boltzmann draws one uniform per row on both paths; only a uniform within a rounding
        // of exp of a cumulative boundary could pick differently.
        assert!(
            same_draws(&Boltzmann::new(0.5).unwrap(), &device) <= 2,
            "boltzmann on {name}"
        );
    }
}

#[test]
fn estimators_read_host_values_as_they_read_tensors() {
    use valuefn::returns::{Rollout, VTraceConfig, gae, lambda_returns, n_step_targets, vtrace};
    use valuefn::tensor_ops::float_tensor;
    // T = 4, B = 2, with a termination and a truncation.
    let (steps, envs) = (4, 2);
    let values: Vec<f32> = vec![0.5, -1.0, 0.25, 2.0, 1.5, 0.0, -0.5, 0.75];
    let next: Vec<f32> = vec![0.25, 2.0, 1.5, 0.0, -0.5, 0.75, 3.0, -2.0];
    let as_f64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    for (name, device) in valuefn::device::cpu_devices() {
        let rollout = Rollout::new(
            steps,
            envs,
            vec![1.0, 0.0, -1.0, 0.5, 0.0, 2.0, 1.0, -0.5],
            vec![false, false, false, true, false, false, false, false],
            vec![false, false, true, false, false, false, false, false],
            &device,
        )
        .unwrap();
        let tensor = |v: &[f32]| float_tensor(&as_f64(v), [steps, envs], &device);
        let same = |what: &str, host: Tensor<2>, tensor: Tensor<2>| {
            assert_eq!(to_vec_f32(host), to_vec_f32(tensor), "{what} on {name}");
        };
        let (h, t) = (
            gae(&rollout, &values, &next, 0.9, 0.8).unwrap(),
            gae(&rollout, tensor(&values), tensor(&next), 0.9, 0.8).unwrap(),
        );
        same("gae advantages", h.advantages, t.advantages);
        same("gae returns", h.returns, t.returns);
        same(
            "lambda returns",
            lambda_returns(&rollout, &next, 0.9, 0.7).unwrap(),
            lambda_returns(&rollout, tensor(&next), 0.9, 0.7).unwrap(),
        );
        same(
            "n-step targets",
            n_step_targets(&rollout, &next, 0.9, 3).unwrap(),
            n_step_targets(&rollout, tensor(&next), 0.9, 3).unwrap(),
        );
        let log_rhos = tensor(&[0.1, -0.2, 0.0, 0.3, -0.1, 0.2, 0.0, -0.3]);
        let config = VTraceConfig::new();
        let (h, t) = (
            vtrace(&rollout, &values, &next, log_rhos.clone(), &config).unwrap(),
            vtrace(&rollout, tensor(&values), tensor(&next), log_rhos, &config).unwrap(),
        );
        same("v-trace targets", h.targets, t.targets);
        same("v-trace advantages", h.advantages, t.advantages);
        // Host values of the wrong length or not finite are errors, as tensors are.
        assert!(matches!(
            lambda_returns(&rollout, &next[..7], 0.9, 0.7),
            Err(valuefn::Error::ShapeMismatch { .. })
        ));
        let mut bad = next.clone();
        bad[3] = f32::NAN;
        assert!(matches!(
            gae(&rollout, &values, &bad, 0.9, 0.8),
            Err(valuefn::Error::NonFinite { .. })
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Each updater's own `update`: host and tensor paths on the same batches.

const STATES: usize = 5;
const ACTIONS: usize = 3;

/// A seeded stream of batches over a 5 x 3 table: batches of 1 to 6 transitions with repeated
/// state-action pairs (the pool of states and actions is small), terminations, and "truncated"
/// transitions (not terminated, so they bootstrap, whatever reset follows them).
fn batches(seed: u64, count: usize) -> Vec<(TabularBatch, Vec<usize>)> {
    use rand::RngExt;
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let len = rng.random_range(1..=6);
            let states: Vec<usize> = (0..len).map(|_| rng.random_range(0..2)).collect();
            let actions = (0..len).map(|_| rng.random_range(0..2)).collect();
            let rewards = (0..len).map(|_| rng.random_range(-2.0..2.0)).collect();
            let next = (0..len).map(|_| rng.random_range(0..STATES)).collect();
            let terminated = (0..len).map(|_| rng.random::<f64>() < 0.2).collect();
            let next_actions = (0..len).map(|_| rng.random_range(0..ACTIONS)).collect();
            let batch = TabularBatch::new(states, actions, rewards, next, terminated).unwrap();
            (batch, next_actions)
        })
        .collect()
}

fn assert_close(what: &str, host: &[f64], tensor: &[f64]) {
    for (i, (h, t)) in host.iter().zip(tensor).enumerate() {
        assert!(
            (h - t).abs() <= 1e-6 * (1.0 + t.abs()),
            "{what}: entry {i}: host {h} vs tensor {t}"
        );
    }
    assert!(host.iter().any(|&x| x != 0.0), "{what}: nothing learned");
}

/// Runs `update` over the stream on both paths, each from the same starting table, and
/// compares the tables and the TD errors of every update.
fn control_parity<U>(
    what: &str,
    config: &TabularTdConfig,
    make: impl Fn(&TabularTdConfig, TabularPath) -> U,
    update: impl Fn(&mut U, &mut QTable, &TabularBatch, &[usize]) -> Tensor<1>,
) {
    for (name, device) in valuefn::device::cpu_devices() {
        let start = QValues::new(
            STATES,
            ACTIONS,
            (0..STATES * ACTIONS)
                .map(|i| (i % 4) as f64 * 0.5)
                .collect(),
        )
        .unwrap();
        let mut tables = Vec::new();
        let mut errors = Vec::new();
        for path in [TabularPath::Host, TabularPath::Tensor] {
            let mut q = QTable::from_q_values(&start, &device);
            let mut updater = make(config, path);
            let mut td = Vec::new();
            for (batch, next_actions) in batches(7, 300) {
                td.extend(to_vec_f32(update(
                    &mut updater,
                    &mut q,
                    &batch,
                    &next_actions,
                )));
            }
            tables.push(q.to_q_values().as_slice().to_vec());
            errors.push(td.into_iter().map(f64::from).collect::<Vec<_>>());
        }
        assert_close(&format!("{what} on {name}: table"), &tables[0], &tables[1]);
        assert_close(
            &format!("{what} on {name}: TD errors"),
            &errors[0],
            &errors[1],
        );
    }
}

#[test]
fn every_control_updater_gives_the_same_table_on_both_paths() {
    for step_size in [
        StepSize::Constant { alpha: 0.3 },
        StepSize::VisitCount { power: 0.7 },
    ] {
        let config = td(step_size, 0.9);
        control_parity(
            &format!("Q-learning, {step_size:?}"),
            &config,
            |c, p| QLearning::new(c).unwrap().with_path(p),
            |u, q, b, _| u.update(q, b).unwrap(),
        );
        control_parity(
            &format!("SARSA, {step_size:?}"),
            &config,
            |c, p| Sarsa::new(c).unwrap().with_path(p),
            |u, q, b, next| u.update(q, b, next).unwrap(),
        );
        for (selector, policy) in [
            ("epsilon-greedy", EpsilonGreedy::new(0.3).unwrap()),
            ("greedy", EpsilonGreedy::new(0.0).unwrap()),
        ] {
            control_parity(
                &format!("expected SARSA ({selector}), {step_size:?}"),
                &config,
                |c, p| ExpectedSarsa::new(c).unwrap().with_path(p),
                |u, q, b, _| u.update(q, b, &policy).unwrap(),
            );
        }
        control_parity(
            &format!("expected SARSA (Boltzmann), {step_size:?}"),
            &config,
            |c, p| ExpectedSarsa::new(c).unwrap().with_path(p),
            |u, q, b, _| u.update(q, b, &Boltzmann::new(0.5).unwrap()).unwrap(),
        );
        control_parity(
            &format!("3-step SARSA, {step_size:?}"),
            &config,
            |c, p| NStepSarsa::new(c, 3).unwrap().with_path(p),
            |u, q, b, next| u.update(q, b, next).unwrap(),
        );
    }
}

#[test]
fn prediction_updaters_give_the_same_table_on_both_paths() {
    for step_size in [
        StepSize::Constant { alpha: 0.3 },
        StepSize::VisitCount { power: 0.8 },
    ] {
        let config = td(step_size, 0.9);
        for (name, device) in valuefn::device::cpu_devices() {
            let start: Vec<f64> = (0..STATES).map(|s| s as f64 - 2.0).collect();
            let mut results = Vec::new();
            for path in [TabularPath::Host, TabularPath::Tensor] {
                let mut v_td = VTable::from_values(&start, &device);
                let mut v_n = VTable::from_values(&start, &device);
                let mut td0 = TdZero::new(&config).unwrap().with_path(path);
                let mut n_step = NStepTd::new(&config, 2).unwrap().with_path(path);
                let mut errors = Vec::new();
                for (batch, _) in batches(11, 300) {
                    errors.extend(to_vec_f32(td0.update(&mut v_td, &batch).unwrap()));
                    errors.extend(to_vec_f32(n_step.update(&mut v_n, &batch).unwrap()));
                }
                results.push((v_td.to_vec(), v_n.to_vec(), errors));
            }
            let what = format!("{name}, {step_size:?}");
            assert_close(&format!("TD(0) {what}"), &results[0].0, &results[1].0);
            assert_close(&format!("2-step TD {what}"), &results[0].1, &results[1].1);
            let to_f64 = |e: &[f32]| e.iter().copied().map(f64::from).collect::<Vec<_>>();
            assert_close(
                &format!("TD errors {what}"),
                &to_f64(&results[0].2),
                &to_f64(&results[1].2),
            );
        }
    }
}

#[test]
fn a_repeated_pair_in_one_batch_sums_its_increments_on_both_paths() {
    // Two transitions of (0, 1) with targets 1 and 3 from Q = 0, alpha 0.5: both TD errors come
    // from the table before the batch, so Q(0, 1) = 0.5 * 1 + 0.5 * 3 = 2.
    let config = td(StepSize::Constant { alpha: 0.5 }, 0.0);
    let batch = TabularBatch::new(
        vec![0, 0],
        vec![1, 1],
        vec![1.0, 3.0],
        vec![1, 1],
        vec![true; 2],
    )
    .unwrap();
    for path in [TabularPath::Host, TabularPath::Tensor] {
        let device = valuefn::device::default_device();
        let mut q = QTable::zeros(2, 2, &device);
        let td = QLearning::new(&config)
            .unwrap()
            .with_path(path)
            .update(&mut q, &batch)
            .unwrap();
        assert_eq!(to_vec_f32(td), vec![1.0, 3.0], "{path:?}");
        assert_eq!(q.to_q_values().get(0, 1), 2.0, "{path:?}");
    }
}

#[test]
fn a_table_updated_on_the_host_reads_back_as_a_tensor_and_errors_leave_it_unchanged() {
    let device = valuefn::device::default_device();
    let mut q = QTable::zeros(2, 2, &device);
    let mut learner = QLearning::new(&td(StepSize::Constant { alpha: 0.5 }, 0.9)).unwrap();
    learner
        .update(&mut q, &TabularBatch::single(1, 0, 2.0, 0, true).unwrap())
        .unwrap();
    // The tensor view is rebuilt from the host copy.
    assert_eq!(to_vec_f32(q.tensor().clone()), vec![0.0, 0.0, 1.0, 0.0]);
    let greedy = valuefn::tensor_ops::to_indices(
        q.greedy_actions(valuefn::tensor_ops::index_tensor(&[1], &device))
            .unwrap(),
    );
    assert_eq!(greedy, vec![0]);
    // A bad batch is refused before anything moves.
    let bad = TabularBatch::single(5, 0, 1.0, 0, false).unwrap();
    assert!(learner.update(&mut q, &bad).is_err());
    assert_eq!(q.to_q_values().as_slice(), &[0.0, 0.0, 1.0, 0.0]);
}
