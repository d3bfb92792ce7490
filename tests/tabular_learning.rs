//! Tabular TD learning against the book's results and the exact solvers.

mod common;

use common::{max_abs_diff, proptest_config};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::algo::*;
use valuefn::env::EpisodeStats;
use valuefn::env::tabular::{CliffWalking, RandomWalk, WindyGridworld};
use valuefn::policy::{ActionSelector, EpsilonGreedy, EpsilonSchedule, Greedy};
use valuefn::prelude::*;
use valuefn::tabular::RandomMdpConfig;
use valuefn::tensor_ops::to_vec_f32;

fn device() -> burn::tensor::Device {
    valuefn::device::default_device()
}

fn constant(alpha: f64, gamma: f64) -> TabularTdConfig {
    TabularTdConfig::new()
        .with_gamma(gamma)
        .with_step_size(StepSize::Constant { alpha })
}

/// Runs TD(0) on the random walk from V = 0.5 for `episodes` episodes, one update per step.
fn td_random_walk(seed: u64, episodes: usize, alpha: f64, path: TabularPath) -> Vec<f64> {
    let mut env = TabularEnv::new(RandomWalk::example_6_2());
    let mut v = VTable::from_values(&[0.5; 5], &device());
    let mut td = TdZero::new(&constant(alpha, 1.0)).unwrap().with_path(path);
    for episode in 0..episodes {
        let mut s = env.reset((episode == 0).then_some(seed));
        loop {
            let step = env.step(0).unwrap();
            td.update(
                &mut v,
                &TabularBatch::single(s, 0, step.reward, step.observation, step.terminated)
                    .unwrap(),
            )
            .unwrap();
            if step.done() {
                break;
            }
            s = step.observation;
        }
    }
    v.to_vec()
}

#[test]
fn td_zero_on_the_random_walk_reaches_the_true_values() {
    // Example 6.2, alpha = 0.1, 200 episodes, 20 runs. A single run keeps a constant-alpha noise
    // floor (RMS about 0.055 here, as in Figure 6.2); the estimates averaged over the runs sit
    // on the true values.
    let truth = RandomWalk::example_6_2().true_values();
    for path in PATHS {
        let runs: Vec<Vec<f64>> = (0..20)
            .map(|seed| td_random_walk(seed, 200, 0.1, path))
            .collect();
        let rms = |v: &[f64]| {
            (v.iter()
                .zip(&truth)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                / 5.0)
                .sqrt()
        };
        let mean: Vec<f64> = (0..5)
            .map(|s| runs.iter().map(|v| v[s]).sum::<f64>() / 20.0)
            .collect();
        assert!(
            rms(&mean) < 0.05,
            "RMS of the run-averaged values {}",
            rms(&mean)
        );
        let per_run = runs.iter().map(|v| rms(v)).sum::<f64>() / 20.0;
        assert!(per_run < 0.08, "{path:?}: average per-run RMS {per_run}");
    }
}

#[test]
fn exercise_6_3_first_episode_changes_only_v_of_a_by_minus_0_05() {
    // Find a seed whose first episode leaves on the left, as in the book's run.
    for seed in 0..50 {
        let mut env = TabularEnv::new(RandomWalk::example_6_2());
        env.reset(Some(seed));
        let last_reward = loop {
            let step = env.step(0).unwrap();
            if step.done() {
                break step.reward;
            }
        };
        if last_reward == 0.0 {
            let v = td_random_walk(seed, 1, 0.1, TabularPath::Auto);
            assert!((v[0] - 0.45).abs() < 1e-6, "{v:?}");
            assert!(v[1..].iter().all(|x| (x - 0.5).abs() < 1e-6), "{v:?}");
            return;
        }
    }
    panic!("no seed in 0..50 ended on the left");
}

/// Both places `train_tabular` can keep the table: every training test runs on each.
const PATHS: [TabularPath; 2] = [TabularPath::Host, TabularPath::Tensor];

/// Trains on cliff walking (epsilon 0.1, alpha 0.5) and returns the online returns and table.
fn cliff(algorithm: TabularControl, path: TabularPath) -> (Vec<EpisodeStats>, QTable) {
    let mut env = TabularEnv::new(CliffWalking::new());
    let mut q = QTable::zeros(48, 4, &device());
    let config = TabularControlConfig::new(algorithm, constant(0.5, 1.0))
        .with_episodes(400)
        .with_seed(3)
        .with_path(path);
    (train_tabular(&mut env, &mut q, &config).unwrap(), q)
}

fn greedy_path(
    q: &QTable,
    env: &mut impl Environment<Observation = usize, Action = usize>,
) -> EpisodeStats {
    let greedy = q.to_q_values().greedy_actions();
    env.run_episode(Some(0), |&s| greedy[s]).unwrap()
}

#[test]
fn cliff_walking_sarsa_learns_the_safe_path_and_q_learning_the_optimal_one() {
    for path in PATHS {
        cliff_walking_on(path);
    }
}

fn cliff_walking_on(path: TabularPath) {
    let (sarsa_stats, sarsa_q) = cliff(TabularControl::Sarsa, path);
    let (q_stats, q_q) = cliff(TabularControl::QLearning, path);
    let limited = || TimeLimit::new(TabularEnv::new(CliffWalking::new()), 100).unwrap();
    let q_path = greedy_path(&q_q, &mut limited());
    assert_eq!(
        (q_path.episode_return, q_path.terminated),
        (-13.0, true),
        "Q-learning walks the edge"
    );
    let sarsa_path = greedy_path(&sarsa_q, &mut limited());
    assert!(
        sarsa_path.terminated && sarsa_path.episode_return < -13.0,
        "SARSA keeps away: {sarsa_path:?}"
    );
    // Figure 6.4: online, SARSA's returns beat Q-learning's (which falls off the cliff).
    let mean = |s: &[EpisodeStats]| {
        s[100..].iter().map(|e| e.episode_return).sum::<f64>() / (s.len() - 100) as f64
    };
    let (sarsa, q_learning) = (mean(&sarsa_stats), mean(&q_stats));
    assert!(
        sarsa > q_learning + 5.0,
        "SARSA {sarsa} vs Q-learning {q_learning}"
    );
}

#[test]
fn windy_gridworld_sarsa_greedy_policy_takes_15_steps() {
    for path in PATHS {
        let mut env = TabularEnv::new(WindyGridworld::new());
        let mut q = QTable::zeros(70, 4, &device());
        let config = TabularControlConfig::new(TabularControl::Sarsa, constant(0.5, 1.0))
            .with_episodes(500)
            .with_exploration(EpsilonSchedule::Linear {
                start: 0.1,
                end: 0.0,
                steps: 400,
            })
            .with_seed(1)
            .with_path(path);
        train_tabular(&mut env, &mut q, &config).unwrap();
        let greedy = greedy_path(
            &q,
            &mut TimeLimit::new(TabularEnv::new(WindyGridworld::new()), 100).unwrap(),
        );
        assert_eq!((greedy.length, greedy.terminated), (15, true), "{path:?}");
    }
}

#[test]
fn batched_update_equals_sequential_for_distinct_pairs_and_sums_duplicates() {
    let values = QValues::new(4, 2, vec![0.0, 1.0, 2.0, 3.0, -1.0, 0.5, 4.0, 2.0]).unwrap();
    let config = constant(0.5, 0.9);
    // Distinct pairs bootstrapping from a state nobody in the batch updates (state 3).
    let batch = TabularBatch::new(
        vec![0, 1, 2],
        vec![1, 0, 1],
        vec![1.0, -1.0, 0.5],
        vec![3, 3, 3],
        vec![false, true, false],
    )
    .unwrap();
    let mut together = QTable::from_q_values(&values, &device());
    QLearning::new(&config)
        .unwrap()
        .update(&mut together, &batch)
        .unwrap();
    let mut one_by_one = QTable::from_q_values(&values, &device());
    let mut learner = QLearning::new(&config).unwrap();
    for i in 0..3 {
        let single = TabularBatch::single(
            batch.states[i],
            batch.actions[i],
            batch.rewards[i],
            batch.next_states[i],
            batch.terminated[i],
        )
        .unwrap();
        learner.update(&mut one_by_one, &single).unwrap();
    }
    assert!(
        max_abs_diff(
            together.to_q_values().as_slice(),
            one_by_one.to_q_values().as_slice()
        ) < 1e-6
    );
    // Q(0, 1): 1 + 0.5 * (1 + 0.9 * 4 - 1) = 2.8
    assert!((together.to_q_values().get(0, 1) - 2.8).abs() < 1e-6);

    // The same pair twice: both TD errors come from the old table and the increments add up.
    let mut q = QTable::from_q_values(&values, &device());
    let twice = TabularBatch::new(
        vec![0, 0],
        vec![0, 0],
        vec![1.0, 3.0],
        vec![3, 3],
        vec![true, true],
    )
    .unwrap();
    let td = to_vec_f32(
        QLearning::new(&config)
            .unwrap()
            .update(&mut q, &twice)
            .unwrap(),
    );
    assert_eq!(td, vec![1.0, 3.0]);
    assert!((q.to_q_values().get(0, 0) - 2.0).abs() < 1e-6); // 0 + 0.5 * 1 + 0.5 * 3
}

#[test]
fn sarsa_and_expected_sarsa_bootstrap_as_defined() {
    let values = QValues::new(2, 2, vec![0.0, 0.0, 2.0, 4.0]).unwrap();
    let batch = TabularBatch::single(0, 0, 1.0, 1, false).unwrap();
    let mut q = QTable::from_q_values(&values, &device());
    let td = Sarsa::new(&constant(1.0, 1.0))
        .unwrap()
        .update(&mut q, &batch, &[0])
        .unwrap();
    assert_eq!(to_vec_f32(td), vec![3.0]); // 1 + Q(1, 0)
    let mut q = QTable::from_q_values(&values, &device());
    let policy = EpsilonGreedy::new(0.5).unwrap(); // pi(.|1) = (0.25, 0.75)
    let td = ExpectedSarsa::new(&constant(1.0, 1.0))
        .unwrap()
        .update(&mut q, &batch, &policy)
        .unwrap();
    assert_eq!(to_vec_f32(td), vec![1.0 + 0.25 * 2.0 + 0.75 * 4.0]);
}

#[test]
fn n_step_sarsa_with_one_step_matches_sarsa_and_n_step_td_sums_rewards() {
    let values = QValues::new(3, 1, vec![0.0, 1.0, 2.0]).unwrap();
    let segment = TabularBatch::new(
        vec![0, 1],
        vec![0, 0],
        vec![1.0, 1.0],
        vec![1, 2],
        vec![false, false],
    )
    .unwrap();
    let mut q = QTable::from_q_values(&values, &device());
    let td = NStepSarsa::new(&constant(1.0, 0.5), 2)
        .unwrap()
        .update(&mut q, &segment, &[0, 0])
        .unwrap();
    // G_0 = 1 + 0.5 * 1 + 0.25 * Q(2) = 2; G_1 = 1 + 0.5 * Q(2) = 2
    assert_eq!(to_vec_f32(td), vec![2.0, 1.0]);
    let mut v = VTable::from_values(&[0.0, 1.0, 2.0], &device());
    NStepTd::new(&constant(1.0, 0.5), 2)
        .unwrap()
        .update(&mut v, &segment)
        .unwrap();
    assert_eq!(v.to_vec(), vec![2.0, 2.0, 2.0]);
}

#[test]
fn bad_input_is_an_error_and_leaves_the_table_unchanged() {
    let values = QValues::new(2, 2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let mut q = QTable::from_q_values(&values, &device());
    let mut learner = QLearning::new(&constant(0.5, 0.9)).unwrap();
    let bad_state = TabularBatch::new(
        vec![0, 2],
        vec![0, 0],
        vec![0.0, 0.0],
        vec![1, 1],
        vec![false; 2],
    )
    .unwrap();
    assert!(matches!(
        learner.update(&mut q, &bad_state),
        Err(Error::InvalidState { state: 2, .. })
    ));
    let bad_next = TabularBatch::single(0, 0, 0.0, 5, false).unwrap();
    assert!(matches!(
        learner.update(&mut q, &bad_next),
        Err(Error::InvalidState { state: 5, .. })
    ));
    let bad_action = TabularBatch::single(0, 2, 0.0, 1, false).unwrap();
    assert!(matches!(
        learner.update(&mut q, &bad_action),
        Err(Error::InvalidAction { .. })
    ));
    assert!(matches!(
        Sarsa::new(&constant(0.5, 0.9)).unwrap().update(
            &mut q,
            &TabularBatch::single(0, 0, 0.0, 1, false).unwrap(),
            &[9]
        ),
        Err(Error::InvalidAction { .. })
    ));
    assert!(matches!(
        TabularBatch::single(0, 0, f64::NAN, 1, false),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(q.to_q_values(), values);
    assert!(matches!(
        QLearning::new(&constant(0.0, 0.9)),
        Err(Error::InvalidConfig { field: "alpha", .. })
    ));
    assert!(matches!(
        QLearning::new(&constant(0.5, 1.5)),
        Err(Error::InvalidConfig { field: "gamma", .. })
    ));
    assert!(matches!(
        TdZero::new(&TabularTdConfig::new().with_step_size(StepSize::VisitCount { power: 0.4 })),
        Err(Error::InvalidConfig { field: "power", .. })
    ));
}

#[test]
fn greedy_breaks_ties_at_random_and_epsilon_greedy_explores_at_rate_epsilon() {
    let q = burn::Tensor::<2>::from_floats([[1.0, 1.0, 0.0]], &device());
    let mut rng = StdRng::seed_from_u64(4);
    let picks: Vec<usize> = (0..400)
        .map(|_| Greedy.select(q.clone(), &mut rng)[0])
        .collect();
    let ones = picks.iter().filter(|&&a| a == 1).count();
    assert!(
        picks.iter().all(|&a| a < 2) && (150..250).contains(&ones),
        "{ones}"
    );
    let eps = EpsilonGreedy::new(0.3).unwrap();
    let third = (0..3000)
        .filter(|_| eps.select(q.clone(), &mut rng)[0] == 2)
        .count();
    assert!(
        (250..350).contains(&third),
        "action 2 is only taken when exploring: {third}"
    ); // 0.3 / 3
}

proptest! {
    #![proptest_config(proptest_config(6))]

    #[test]
    fn q_learning_reaches_q_star_on_random_mdps(seed in any::<u64>(), host in any::<bool>()) {
        let mdp = RandomMdpConfig::new(4, 2).with_terminal_probability(0.2)
            .generate(&mut StdRng::seed_from_u64(seed)).unwrap();
        let gamma = 0.8;
        let truth = value_iteration(&mdp, &SolverConfig::new().with_gamma(gamma)).unwrap();
        let mut env = TimeLimit::new(TabularEnv::new(mdp), 20).unwrap();
        let mut q = QTable::zeros(4, 2, &device());
        let td = TabularTdConfig::new().with_gamma(gamma).with_step_size(StepSize::VisitCount { power: 0.7 });
        let config = TabularControlConfig::new(TabularControl::QLearning, td)
            .with_exploration(EpsilonSchedule::Constant { epsilon: 0.5 })
            .with_episodes(2000)
            .with_seed(seed)
            .with_path(if host { TabularPath::Host } else { TabularPath::Tensor });
        train_tabular(&mut env, &mut q, &config).unwrap();
        let learned = q.to_q_values();
        let scale = 1.0 + truth.q_values.as_slice().iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let error = max_abs_diff(learned.as_slice(), truth.q_values.as_slice());
        prop_assert!(error < 0.1 * scale, "max error {error} (scale {scale})");
    }
}

proptest! {
    #![proptest_config(proptest_config(4))]

    #[test]
    fn sarsa_and_expected_sarsa_with_vanishing_epsilon_find_an_optimal_policy(seed in any::<u64>()) {
        let mdp = RandomMdpConfig::new(4, 2).with_terminal_probability(0.2)
            .generate(&mut StdRng::seed_from_u64(seed)).unwrap();
        let gamma = 0.8;
        let truth = value_iteration(&mdp, &SolverConfig::new().with_gamma(gamma)).unwrap();
        let scale = 1.0 + truth.values.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (algorithm, path) in [TabularControl::Sarsa, TabularControl::ExpectedSarsa].into_iter().flat_map(|a| PATHS.map(|p| (a, p))) {
            let mut env = TimeLimit::new(TabularEnv::new(mdp.clone()), 20).unwrap();
            let mut q = QTable::zeros(4, 2, &device());
            let td = TabularTdConfig::new().with_gamma(gamma).with_step_size(StepSize::VisitCount { power: 0.7 });
            let config = TabularControlConfig::new(algorithm, td)
                .with_exploration(EpsilonSchedule::Linear { start: 0.6, end: 0.0, steps: 1500 })
                .with_episodes(2000)
                .with_seed(seed)
                .with_path(path);
            train_tabular(&mut env, &mut q, &config).unwrap();
            // The greedy policy of the learned table, evaluated exactly, is (near-)optimal.
            let greedy = PolicyTable::greedy(&q.to_q_values());
            let v = evaluate_policy_exact(&mdp, &greedy, gamma).unwrap();
            let regret = truth.values.iter().zip(&v.values).map(|(best, got)| best - got).fold(0.0f64, f64::max);
            prop_assert!(regret < 0.02 * scale, "{algorithm:?}: regret {regret} (scale {scale})");
        }
    }

    #[test]
    fn td_zero_on_a_fixed_policy_reaches_v_pi(seed in any::<u64>(), host in any::<bool>()) {
        use rand::RngExt;
        let mdp = RandomMdpConfig::new(5, 2).with_terminal_probability(0.2)
            .generate(&mut StdRng::seed_from_u64(seed)).unwrap();
        let gamma = 0.8;
        let policy = PolicyTable::new(5, 2, vec![0.3, 0.7, 0.5, 0.5, 0.9, 0.1, 0.2, 0.8, 0.6, 0.4]).unwrap();
        let truth = evaluate_policy_exact(&mdp, &policy, gamma).unwrap();
        let mut env = TimeLimit::new(TabularEnv::new(mdp), 20).unwrap();
        let mut v = VTable::zeros(5, &device());
        let td_config = TabularTdConfig::new().with_gamma(gamma).with_step_size(StepSize::VisitCount { power: 0.6 });
        let path = if host { TabularPath::Host } else { TabularPath::Tensor };
        let mut td = TdZero::new(&td_config).unwrap().with_path(path);
        let mut rng = StdRng::seed_from_u64(seed);
        for episode in 0..12000 {
            let mut s = env.reset((episode == 0).then_some(seed));
            loop {
                let a = usize::from(rng.random::<f64>() >= policy.probability(s, 0));
                let step = env.step(a).unwrap();
                td.update(&mut v, &TabularBatch::single(s, a, step.reward, step.observation, step.terminated).unwrap()).unwrap();
                if step.done() {
                    break;
                }
                s = step.observation;
            }
        }
        let scale = 1.0 + truth.values.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let error = max_abs_diff(&v.to_vec(), &truth.values);
        prop_assert!(error < 0.1 * scale, "max error {error} (scale {scale})");
    }
}

#[test]
fn vector_env_resets_finished_copies_and_keeps_the_final_observation() {
    use valuefn::env::SyncVecEnv;
    // Copy 0 terminates at once (a one-state walk); copy 1 is cut by a one-step time limit.
    let walk =
        |n| TimeLimit::new(TabularEnv::new(RandomWalk::new(n, 0.0, 1.0).unwrap()), 1).unwrap();
    let mut envs = SyncVecEnv::new(vec![walk(1), walk(3)]).unwrap();
    assert_eq!(envs.reset(Some(0)), vec![0, 1]);
    let step = envs.step(&[0, 0]).unwrap();
    assert_eq!(
        (step.terminated.clone(), step.truncated.clone()),
        (vec![true, false], vec![false, true])
    );
    let moved = step.final_observations[1].unwrap();
    assert!(
        moved == 0 || moved == 2,
        "the truncated copy keeps where it got to"
    );
    assert_eq!(step.observations, vec![0, 1], "both copies were reset");
    assert!(matches!(envs.step(&[0]), Err(Error::ShapeMismatch { .. })));
    // One-step targets: the truncated copy bootstraps from its final observation, the
    // terminated one does not.
    let v = [0.0, 0.25, 0.5];
    let next_values: Vec<f64> = (0..2)
        .map(|i| {
            if step.terminated[i] {
                0.0
            } else {
                v[step.final_observations[i].unwrap()]
            }
        })
        .collect();
    assert_eq!(next_values[0], 0.0);
    assert_eq!(next_values[1], v[moved]);
}
