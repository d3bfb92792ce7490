//! The exact solvers against numbers printed in Sutton and Barto (2nd edition, 2018).

mod common;

use common::{assert_matches_printed_table, max_abs_diff};
use valuefn::env::tabular::{CliffWalking, GridWorld, RandomWalk, WindyGridworld};
use valuefn::prelude::*;
use valuefn::tabular::{Sweep, evaluate_policy_exact};

/// Figure 3.2 (right): v of the equiprobable random policy on the grid world of Example 3.5.
const FIGURE_3_2: [f64; 25] = [
    3.3, 8.8, 4.4, 5.3, 1.5, //
    1.5, 3.0, 2.3, 1.9, 0.5, //
    0.1, 0.7, 0.7, 0.4, -0.4, //
    -1.0, -0.4, -0.4, -0.6, -1.2, //
    -1.9, -1.3, -1.2, -1.4, -2.0,
];

/// Figure 3.5 (middle): v* of the same grid world.
const FIGURE_3_5: [f64; 25] = [
    22.0, 24.4, 22.0, 19.4, 17.5, //
    19.8, 22.0, 19.8, 17.8, 16.0, //
    17.8, 19.8, 17.8, 16.0, 14.4, //
    16.0, 17.8, 16.0, 14.4, 13.0, //
    14.4, 16.0, 14.4, 13.0, 11.7,
];

/// Figure 4.1 (k = infinity): v of the random policy on the grid world of Example 4.1.
const FIGURE_4_1: [f64; 16] = [
    0.0, -14.0, -20.0, -22.0, //
    -14.0, -18.0, -20.0, -20.0, //
    -20.0, -20.0, -18.0, -14.0, //
    -22.0, -20.0, -14.0, 0.0,
];

fn config(gamma: f64) -> SolverConfig {
    SolverConfig::new().with_gamma(gamma)
}

#[test]
fn example_3_5_random_policy_matches_figure_3_2() {
    let grid = GridWorld::example_3_5();
    let random = PolicyTable::uniform(25, 4);
    let exact = evaluate_policy_exact(&grid, &random, 0.9).unwrap();
    assert_matches_printed_table("Figure 3.2", &exact.values, &FIGURE_3_2);
    for sweep in [Sweep::Synchronous, Sweep::InPlace] {
        let iterative = evaluate_policy(&grid, &random, &config(0.9).with_sweep(sweep)).unwrap();
        assert!(
            max_abs_diff(&iterative.values, &exact.values) < 1e-8,
            "{sweep:?}"
        );
    }
}

#[test]
fn example_3_5_optimal_values_match_figure_3_5() {
    let grid = GridWorld::example_3_5();
    let vi = value_iteration(&grid, &config(0.9)).unwrap();
    assert_matches_printed_table("Figure 3.5 (value iteration)", &vi.values, &FIGURE_3_5);
    let pi = policy_iteration(&grid, &config(0.9)).unwrap();
    assert_matches_printed_table("Figure 3.5 (policy iteration)", &pi.values, &FIGURE_3_5);
    // Figure 3.5 (right): in A every action is optimal; in the bottom-left cell up and right tie.
    assert_eq!(vi.q_values.best_actions(1), vec![0, 1, 2, 3]);
    assert_eq!(
        vi.q_values.best_actions(20),
        vec![GridWorld::UP, GridWorld::RIGHT]
    );
}

#[test]
fn example_4_1_random_policy_matches_figure_4_1() {
    let grid = GridWorld::example_4_1();
    let random = PolicyTable::uniform(16, 4);
    let exact = evaluate_policy_exact(&grid, &random, 1.0).unwrap();
    assert!(
        max_abs_diff(&exact.values, &FIGURE_4_1) < 1e-9,
        "{:?}",
        exact.values
    );
    for sweep in [Sweep::Synchronous, Sweep::InPlace] {
        let iterative = evaluate_policy(&grid, &random, &config(1.0).with_sweep(sweep)).unwrap();
        assert!(
            max_abs_diff(&iterative.values, &FIGURE_4_1) < 1e-6,
            "{sweep:?}"
        );
    }
}

#[test]
fn in_place_sweeps_converge_in_fewer_iterations_on_example_4_1() {
    // Section 4.1: the in-place version "usually converges faster".
    let grid = GridWorld::example_4_1();
    let random = PolicyTable::uniform(16, 4);
    let sync = evaluate_policy(&grid, &random, &config(1.0)).unwrap();
    let in_place =
        evaluate_policy(&grid, &random, &config(1.0).with_sweep(Sweep::InPlace)).unwrap();
    assert!(
        in_place.iterations < sync.iterations,
        "{} vs {}",
        in_place.iterations,
        sync.iterations
    );
}

#[test]
fn random_walk_true_values_are_one_sixth_to_five_sixths() {
    let walk = RandomWalk::example_6_2();
    let v = evaluate_policy_exact(&walk, &PolicyTable::uniform(5, 1), 1.0).unwrap();
    let book = [1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0, 4.0 / 6.0, 5.0 / 6.0];
    assert!(max_abs_diff(&v.values, &book) < 1e-12, "{:?}", v.values);
    assert!(max_abs_diff(&walk.true_values(), &book) < 1e-15);
}

#[test]
fn nineteen_state_random_walk_values_run_from_minus_to_plus_nine_tenths() {
    let walk = RandomWalk::nineteen_states();
    let v = evaluate_policy_exact(&walk, &PolicyTable::uniform(19, 1), 1.0).unwrap();
    let book: Vec<f64> = (1..=19).map(|i| -1.0 + i as f64 / 10.0).collect();
    assert!(max_abs_diff(&v.values, &book) < 1e-12, "{:?}", v.values);
}

#[test]
fn cliff_walking_optimal_return_is_minus_13_along_the_edge() {
    let cliff = CliffWalking::new();
    let best = value_iteration(&cliff, &config(1.0)).unwrap();
    assert_eq!(best.values[cliff.start()], -13.0);
    let mut env = TabularEnv::new(cliff);
    let mut visited = Vec::new();
    let stats = env
        .run_episode(Some(0), |&s| {
            visited.push(s);
            best.policy[s]
        })
        .unwrap();
    assert_eq!(
        (stats.episode_return, stats.length, stats.terminated),
        (-13.0, 13, true)
    );
    // The optimal path runs along row 2, right above the cliff.
    assert!(
        visited[1..].iter().all(|&s| (24..36).contains(&s)),
        "{visited:?}"
    );
}

#[test]
fn windy_gridworld_optimal_episode_takes_15_steps() {
    let windy = WindyGridworld::new();
    let best = value_iteration(&windy, &config(1.0)).unwrap();
    assert_eq!(best.values[windy.start()], -15.0);
    let mut env = TabularEnv::new(windy);
    let stats = env.run_episode(Some(0), |&s| best.policy[s]).unwrap();
    assert_eq!((stats.length, stats.terminated), (15, true));

    // Exercise 6.9: king's moves shorten the optimal episode to 7 steps.
    let kings = WindyGridworld::kings_moves();
    let best = value_iteration(&kings, &config(1.0)).unwrap();
    assert_eq!(best.values[kings.start()], -7.0);
}
