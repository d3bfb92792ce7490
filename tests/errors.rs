//! Bad input: one test per error variant, each checking that nothing was half-updated.

use valuefn::device::parse_device;
use valuefn::encode::{Features, ObservationEncoder};
use valuefn::env::tabular::{CliffWalking, FrozenLake, GridWorld, RandomWalk};
use valuefn::prelude::*;
use valuefn::space::BoxSpace;
use valuefn::tabular::{RandomMdpConfig, TabularMdp, Transition, evaluate_policy_exact};
use valuefn::tensor_ops::index_tensor;

#[test]
fn invalid_action_is_rejected_and_leaves_the_episode_where_it_was() {
    let mut env = TabularEnv::new(CliffWalking::new());
    env.reset(Some(0));
    let err = env.step(4).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidAction {
            action: "4".into(),
            space: "Discrete { n: 4 }".into()
        }
    );
    assert_eq!(env.state(), Some(36));
    assert_eq!(env.step(CliffWalking::UP).unwrap().observation, 24);
}

#[test]
fn invalid_state_from_reset_to_and_from_tables() {
    let mut env = TabularEnv::new(FrozenLake::four_by_four(false));
    assert_eq!(
        env.reset_to(16),
        Err(Error::InvalidState {
            state: 16,
            num_states: 16
        })
    );
    assert_eq!(env.state(), None);
    let device = valuefn::device::default_device();
    let q = QTable::zeros(3, 2, &device);
    assert_eq!(
        q.q_values(index_tensor(&[0, 3], &device)).unwrap_err(),
        Error::InvalidState {
            state: 3,
            num_states: 3
        }
    );
}

#[test]
fn stepping_before_reset_or_after_the_end_is_episode_finished() {
    let mut env = TabularEnv::new(RandomWalk::example_6_2());
    assert_eq!(env.step(0), Err(Error::EpisodeFinished));
    env.reset(Some(3));
    while !env.step(0).unwrap().done() {}
    assert_eq!(env.step(0), Err(Error::EpisodeFinished));
    env.reset(None);
    assert!(env.step(0).is_ok());
}

#[test]
fn invalid_config_names_the_field_and_value() {
    let err = SolverConfig::new().with_gamma(1.5).validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid config: gamma must be in [0, 1], got 1.5"
    );
    let grid = GridWorld::example_4_1();
    let cases = [
        (SolverConfig::new().with_gamma(f64::NAN), "gamma"),
        (SolverConfig::new().with_tolerance(-1.0), "tolerance"),
        (SolverConfig::new().with_max_iterations(0), "max_iterations"),
    ];
    for (config, field) in cases {
        match value_iteration(&grid, &config) {
            Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(matches!(
        TimeLimit::new(TabularEnv::new(grid), 0),
        Err(Error::InvalidConfig {
            field: "max_steps",
            ..
        })
    ));
    assert!(matches!(
        RandomMdpConfig::new(3, 2)
            .with_terminal_probability(2.0)
            .validate(),
        Err(Error::InvalidConfig {
            field: "terminal_probability",
            ..
        })
    ));
    assert!(matches!(
        Discrete::new(0),
        Err(Error::InvalidConfig { field: "n", .. })
    ));
}

#[test]
fn shape_mismatches_are_reported_with_both_shapes() {
    let device = valuefn::device::default_device();
    let q = QTable::zeros(3, 2, &device);
    let wrong = burn::Tensor::<2>::ones([1, 3], &device);
    assert_eq!(
        q.expected_q(index_tensor(&[0], &device), wrong)
            .unwrap_err(),
        Error::ShapeMismatch {
            what: "action probabilities",
            expected: vec![1, 2],
            actual: vec![1, 3]
        }
    );
    let grid = GridWorld::example_4_1();
    assert!(matches!(
        evaluate_policy_exact(&grid, &PolicyTable::uniform(5, 4), 1.0),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Features::new(2).encode(&[vec![1.0]], &device),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        BoxSpace::new(vec![0.0], vec![]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        QValues::new(2, 2, vec![0.0; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn non_finite_rewards_are_rejected() {
    let nan = TabularMdp::new(
        1,
        1,
        vec![vec![Transition::certain(0, f64::NAN, true)]],
        vec![(0, 1.0)],
    );
    match nan.unwrap_err() {
        Error::NonFinite { what, value } => assert!(what == "transition reward" && value.is_nan()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        RandomWalk::new(5, f64::INFINITY, 1.0),
        Err(Error::NonFinite { .. })
    ));
}

#[test]
fn invalid_mdps_say_which_pair_is_wrong() {
    let err = TabularMdp::from_fn(2, 2, vec![(0, 1.0)], |s, a| {
        let p = if (s, a) == (1, 0) { 0.9 } else { 1.0 };
        Ok(vec![Transition {
            probability: p,
            ..Transition::certain(0, 0.0, false)
        }])
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid MDP: state 1, action 0: probabilities sum to 0.9, not 1"
    );
    assert!(matches!(
        FrozenLake::from_map(&["FFF", "FFG"], true),
        Err(Error::InvalidConfig { .. })
    ));
}

#[test]
fn iteration_cap_gives_not_converged_with_the_residual() {
    let config = SolverConfig::new().with_max_iterations(3);
    match value_iteration(&GridWorld::example_3_5(), &config) {
        Err(Error::NotConverged {
            solver,
            iterations,
            residual,
            tolerance,
        }) => {
            assert_eq!(
                (solver, iterations, tolerance),
                ("value iteration", 3, 1e-10)
            );
            assert!(residual > 1e-10);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn undiscounted_evaluation_of_a_policy_that_never_ends_is_singular() {
    // Example 3.5 is continuing: with gamma = 1 no policy has finite values.
    let grid = GridWorld::example_3_5();
    assert_eq!(
        evaluate_policy_exact(&grid, &PolicyTable::uniform(25, 4), 1.0).unwrap_err(),
        Error::SingularSystem
    );
    // Policy iteration from "always up" on cliff walking bumps the top wall forever.
    assert_eq!(
        policy_iteration(&CliffWalking::new(), &SolverConfig::new().with_gamma(1.0)).unwrap_err(),
        Error::SingularSystem
    );
}

#[test]
fn unknown_devices_list_what_is_available() {
    let err = parse_device("quantum").unwrap_err();
    assert!(matches!(err, Error::UnknownDevice { .. }));
    assert!(
        err.to_string()
            .contains(valuefn::device::cpu_devices()[0].0),
        "{err}"
    );
}
