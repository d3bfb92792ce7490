//! Property tests: the exact solvers agree with each other on random MDPs, and the simulated
//! environment reproduces the model's transition probabilities.

mod common;

use common::{max_abs_diff, proptest_config};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::prelude::*;
use valuefn::tabular::{RandomMdpConfig, TabularMdp, bellman_optimality_residual};

/// A random MDP, with its parameters drawn by proptest and its tables by a seeded generator.
fn random_mdp() -> impl Strategy<Value = TabularMdp> {
    (1usize..8, 1usize..4, 1usize..4, 0.0..0.4f64, any::<u64>()).prop_map(
        |(states, actions, branching, terminal, seed)| {
            RandomMdpConfig::new(states, actions)
                .with_branching(branching)
                .with_terminal_probability(terminal)
                .generate(&mut StdRng::seed_from_u64(seed))
                .expect("valid config")
        },
    )
}

/// A random stochastic policy for `mdp`.
fn random_policy(mdp: &TabularMdp, seed: u64) -> PolicyTable {
    use rand::RngExt;
    let mut rng = StdRng::seed_from_u64(seed);
    let (n, m) = (mdp.num_states(), mdp.num_actions());
    let mut probabilities = Vec::with_capacity(n * m);
    for _ in 0..n {
        let weights: Vec<f64> = (0..m).map(|_| rng.random_range(0.0..1.0) + 1e-3).collect();
        let total: f64 = weights.iter().sum();
        probabilities.extend(weights.iter().map(|w| w / total));
    }
    PolicyTable::new(n, m, probabilities).expect("rows are distributions")
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn value_iteration_policy_iteration_and_exact_evaluation_agree(
        mdp in random_mdp(),
        gamma in 0.0..0.95f64,
    ) {
        let config = SolverConfig::new().with_gamma(gamma);
        let vi = value_iteration(&mdp, &config).unwrap();
        let pi = policy_iteration(&mdp, &config).unwrap();
        prop_assert!(max_abs_diff(&vi.values, &pi.values) < 1e-6);
        // The greedy policy of each, evaluated exactly, is optimal.
        for policy in [&vi.policy, &pi.policy] {
            let table = PolicyTable::deterministic(policy, mdp.num_actions()).unwrap();
            let v = evaluate_policy_exact(&mdp, &table, gamma).unwrap();
            prop_assert!(max_abs_diff(&v.values, &vi.values) < 1e-6);
        }
        // And the greedy policy of the exact v* is optimal too (policy improvement is stable).
        let from_exact = PolicyTable::greedy(&q_from_v(&mdp, &pi.values, gamma).unwrap());
        let v = evaluate_policy_exact(&mdp, &from_exact, gamma).unwrap();
        prop_assert!(max_abs_diff(&v.values, &pi.values) < 1e-6);
    }

    #[test]
    fn value_iteration_leaves_a_bellman_residual_below_tolerance(
        mdp in random_mdp(),
        gamma in 0.0..0.99f64,
        tolerance in prop::sample::select(vec![1e-4, 1e-7, 1e-10]),
    ) {
        let config = SolverConfig::new().with_gamma(gamma).with_tolerance(tolerance);
        let vi = value_iteration(&mdp, &config).unwrap();
        let residual = bellman_optimality_residual(&mdp, &vi.values, gamma).unwrap();
        prop_assert!(residual < tolerance, "residual {residual:e} >= {tolerance:e}");
        prop_assert!((residual - vi.residual).abs() < 1e-12);
    }

    #[test]
    fn iterative_and_linear_solve_policy_evaluation_agree(
        mdp in random_mdp(),
        gamma in 0.0..0.95f64,
        policy_seed in any::<u64>(),
        in_place in any::<bool>(),
    ) {
        let policy = random_policy(&mdp, policy_seed);
        let sweep = if in_place { Sweep::InPlace } else { Sweep::Synchronous };
        let config = SolverConfig::new().with_gamma(gamma).with_sweep(sweep);
        let iterative = evaluate_policy(&mdp, &policy, &config).unwrap();
        let exact = evaluate_policy_exact(&mdp, &policy, gamma).unwrap();
        prop_assert!(max_abs_diff(&iterative.values, &exact.values) < 1e-6);
        prop_assert!(exact.residual < 1e-9);
    }
}

proptest! {
    #![proptest_config(proptest_config(24))]

    #[test]
    fn sampled_steps_reproduce_the_transition_probabilities(
        mdp in random_mdp(),
        pick in any::<(usize, usize)>(),
        seed in any::<u64>(),
    ) {
        const SAMPLES: usize = 4000;
        let (state, action) = (pick.0 % mdp.num_states(), pick.1 % mdp.num_actions());
        let mut env = TabularEnv::new(mdp.clone());
        env.reset(Some(seed));
        let mut counts = vec![0usize; mdp.num_states()];
        for _ in 0..SAMPLES {
            env.reset_to(state).unwrap();
            let step = env.step(action).unwrap();
            counts[step.observation] += 1;
            // Reward and termination are those of the transition that was sampled.
            let t = mdp.transitions(state, action).iter().find(|t| t.next_state == step.observation).unwrap();
            prop_assert_eq!((step.reward, step.terminated), (t.reward, t.terminal));
        }
        // Pearson chi-square over the possible next states; 0.1% critical values for up to
        // 2 degrees of freedom (the generator draws at most 3 distinct successors).
        let outcomes = mdp.transitions(state, action);
        let chi2: f64 = outcomes
            .iter()
            .map(|t| {
                let expected = t.probability * SAMPLES as f64;
                (counts[t.next_state] as f64 - expected).powi(2) / expected
            })
            .sum();
        let critical = [f64::INFINITY, 10.83, 13.82, 16.27][outcomes.len() - 1];
        prop_assert!(outcomes.len() == 1 || chi2 < critical, "chi2 {chi2} >= {critical}");
        let unexpected: usize = (0..mdp.num_states())
            .filter(|s| outcomes.iter().all(|t| t.next_state != *s))
            .map(|s| counts[s])
            .sum();
        prop_assert_eq!(unexpected, 0);
    }
}
