//! Exact soft value iteration against hand-derived closed forms and the unregularised solver.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::Error;
use valuefn::tabular::{
    PolicyTable, RandomMdpConfig, SolverConfig, TabularMdp, Transition, soft_value_iteration,
    value_iteration,
};

/// State 0: action 0 earns 1 and ends the episode; action 1 earns 0 and stays in state 0.
/// State 1 is the (absorbing) end.
fn stay_or_go() -> TabularMdp {
    let transitions = vec![
        vec![Transition::certain(1, 1.0, true)],
        vec![Transition::certain(0, 0.0, false)],
        vec![Transition::certain(1, 0.0, true)],
        vec![Transition::certain(1, 0.0, true)],
    ];
    TabularMdp::new(2, 2, transitions, vec![(0, 1.0)]).unwrap()
}

#[test]
fn uniform_reference_matches_the_closed_form_on_two_states() {
    // With gamma 1/2 and pi_ref uniform, V = V(0) solves
    //   exp(V / beta) = (1/2) exp(1 / beta) + (1/2) exp(V / (2 beta)).
    // With x = exp(V / (2 beta)): x^2 - x / 2 - exp(1 / beta) / 2 = 0, so
    //   x = (1/2 + sqrt(1/4 + 2 exp(1 / beta))) / 2 and V = 2 beta ln x
    // (beta = 1: V = 0.732514). The policy is pi(a) = (1/2) exp((Q(a) - V) / beta) with
    // Q(go) = 1 and Q(stay) = V / 2.
    let mdp = stay_or_go();
    let config = SolverConfig::new().with_gamma(0.5).with_tolerance(1e-12);
    for beta in [0.5, 1.0, 2.0] {
        let x = (0.5 + (0.25 + 2.0 * (1.0f64 / beta).exp()).sqrt()) / 2.0;
        let v = 2.0 * beta * x.ln();
        let soft = soft_value_iteration(&mdp, &PolicyTable::uniform(2, 2), beta, &config).unwrap();
        assert!(
            (soft.values[0] - v).abs() < 1e-9,
            "beta {beta}: {soft:?} vs {v}"
        );
        assert!(soft.values[1].abs() < 1e-12);
        let go = 0.5 * ((1.0 - v) / beta).exp();
        let stay = 0.5 * ((0.5 * v - v) / beta).exp();
        assert!((go + stay - 1.0).abs() < 1e-9);
        assert!(
            (soft.policy.probability(0, 0) - go).abs() < 1e-9,
            "beta {beta}"
        );
        assert!(
            (soft.policy.probability(0, 1) - stay).abs() < 1e-9,
            "beta {beta}"
        );
        assert!((soft.q_values.get(0, 1) - 0.5 * v).abs() < 1e-9);
    }
    let beta_one = soft_value_iteration(&mdp, &PolicyTable::uniform(2, 2), 1.0, &config).unwrap();
    assert!((beta_one.values[0] - 0.732514).abs() < 1e-6);
}

#[test]
fn small_beta_recovers_value_iteration_on_random_mdps() {
    // |V_beta - V*| <= beta max_s ln(1 / pi_ref(a*|s)) / (1 - gamma) for a reference with full
    // support: the soft backup lies between max_a Q + beta ln pi_ref(a*) and max_a Q.
    let mut rng = StdRng::seed_from_u64(7);
    let gamma = 0.9;
    let config = SolverConfig::new().with_gamma(gamma).with_tolerance(1e-11);
    for case in 0..8 {
        let mdp = RandomMdpConfig::new(6, 3).generate(&mut rng).unwrap();
        let weights: Vec<f64> = (0..18).map(|_| rng.random_range(0.1..1.0)).collect();
        let probabilities: Vec<f64> = weights
            .chunks(3)
            .flat_map(|row| {
                let total: f64 = row.iter().sum();
                row.iter().map(move |w| w / total).collect::<Vec<_>>()
            })
            .collect();
        let smallest = probabilities.iter().copied().fold(1.0, f64::min);
        let reference = PolicyTable::new(6, 3, probabilities).unwrap();
        let best = value_iteration(&mdp, &config).unwrap();
        for beta in [1e-2, 1e-4] {
            let soft = soft_value_iteration(&mdp, &reference, beta, &config).unwrap();
            let bound = beta * (1.0 / smallest).ln() / (1.0 - gamma) + 1e-8;
            for (s, (got, want)) in soft.values.iter().zip(&best.values).enumerate() {
                assert!(
                    *got <= want + 1e-8 && want - got <= bound,
                    "case {case}, beta {beta}, state {s}: {got} vs V* {want} (bound {bound})"
                );
            }
            // The soft-optimal policy concentrates on optimal actions as beta shrinks.
            if beta < 1e-3 {
                for s in 0..6 {
                    let greedy = best.policy[s];
                    assert!(
                        soft.policy.probability(s, greedy) > 0.99 || {
                            // Ties: another action with the same Q* may share the mass.
                            let q = best.q_values.row(s);
                            q.iter().filter(|&&x| (x - q[greedy]).abs() < 1e-6).count() > 1
                        }
                    );
                }
            }
        }
    }
}

#[test]
fn actions_outside_the_reference_get_no_probability() {
    // pi_ref never takes "go": the only policy is "stay", worth 0 forever.
    let mdp = stay_or_go();
    let reference = PolicyTable::deterministic(&[1, 1], 2).unwrap();
    let config = SolverConfig::new().with_gamma(0.5);
    let soft = soft_value_iteration(&mdp, &reference, 1.0, &config).unwrap();
    assert!(soft.values[0].abs() < 1e-9);
    assert_eq!(soft.policy.row(0), &[0.0, 1.0]);
}

#[test]
fn bad_input_is_an_error() {
    let mdp = stay_or_go();
    let config = SolverConfig::new().with_gamma(0.5);
    let uniform = PolicyTable::uniform(2, 2);
    for beta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            soft_value_iteration(&mdp, &uniform, beta, &config),
            Err(Error::InvalidConfig { .. })
        ));
    }
    assert!(matches!(
        soft_value_iteration(&mdp, &PolicyTable::uniform(3, 2), 1.0, &config),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        soft_value_iteration(&mdp, &uniform, 1.0, &SolverConfig::new().with_gamma(1.5)),
        Err(Error::InvalidConfig { .. })
    ));
}
