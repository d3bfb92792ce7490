//! The environments: Gymnasium-compatible models, seeding, wrappers.

use valuefn::env::tabular::{FrozenLake, GridLayout, GridWorld, MAP_8X8, RandomWalk};
use valuefn::prelude::*;
use valuefn::tabular::Transition;

fn outcomes(lake: &FrozenLake, s: usize, a: usize) -> Vec<(f64, usize, f64, bool)> {
    lake.transitions(s, a)
        .iter()
        .map(|t: &Transition| (t.probability, t.next_state, t.reward, t.terminal))
        .collect()
}

#[test]
fn frozen_lake_matches_gymnasiums_p_table() {
    // Entries of gymnasium's FrozenLake-v1 `env.unwrapped.P` for the 4x4 map.
    let slippery = FrozenLake::four_by_four(true);
    let third = 1.0 / 3.0;
    assert_eq!(
        outcomes(&slippery, 0, FrozenLake::LEFT),
        vec![
            (third, 0, 0.0, false),
            (third, 0, 0.0, false),
            (third, 4, 0.0, false)
        ]
    );
    assert_eq!(
        outcomes(&slippery, 14, FrozenLake::RIGHT),
        vec![
            (third, 14, 0.0, false),
            (third, 15, 1.0, true),
            (third, 10, 0.0, false)
        ]
    );
    assert_eq!(
        outcomes(&slippery, 4, FrozenLake::RIGHT),
        vec![
            (third, 8, 0.0, false),
            (third, 5, 0.0, true),
            (third, 0, 0.0, false)
        ]
    );
    assert_eq!(
        outcomes(&slippery, 5, FrozenLake::UP),
        vec![(1.0, 5, 0.0, true)]
    ); // a hole
    let ice = FrozenLake::four_by_four(false);
    assert_eq!(
        outcomes(&ice, 14, FrozenLake::RIGHT),
        vec![(1.0, 15, 1.0, true)]
    );
    let big = FrozenLake::eight_by_eight(true);
    assert_eq!(big.grid().len(), 64);
    let holes = MAP_8X8
        .iter()
        .flat_map(|r| r.chars())
        .filter(|&c| c == 'H')
        .count();
    assert_eq!((0..64).filter(|&s| big.tile(s) == 'H').count(), holes);
    assert_eq!(holes, 10);
}

#[test]
fn frozen_lake_optimal_policy_avoids_holes_and_reaches_the_goal_on_plain_ice() {
    let ice = FrozenLake::four_by_four(false);
    let best = value_iteration(&ice, &SolverConfig::new().with_gamma(0.9)).unwrap();
    // Shortest path is 6 steps: v*(start) = 0.9^5.
    assert!(
        (best.values[0] - 0.9f64.powi(5)).abs() < 1e-9,
        "{}",
        best.values[0]
    );
    let stats = TabularEnv::new(ice)
        .run_episode(Some(0), |&s| best.policy[s])
        .unwrap();
    assert_eq!((stats.episode_return, stats.length), (1.0, 6));
}

#[test]
fn same_seed_same_episode_and_none_continues_the_stream() {
    let run = |seeds: &[Option<u64>]| {
        // Episode lengths vary with the ice; the cap only guards against a policy that loops.
        let mut env = TimeLimit::new(TabularEnv::new(FrozenLake::four_by_four(true)), 100).unwrap();
        seeds
            .iter()
            .map(|&seed| env.run_episode(seed, |&s| s % 4).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&[Some(5), None, None]), run(&[Some(5), None, None]));
    let episodes = run(&[Some(1), None, None, None, None, None]);
    assert!(
        episodes.windows(2).any(|w| w[0] != w[1]),
        "None should not reseed"
    );
}

#[test]
fn resets_follow_the_initial_distribution() {
    let mut env = TabularEnv::new(GridWorld::example_4_1());
    let mut counts = [0usize; 16];
    env.reset(Some(9));
    for _ in 0..14_000 {
        counts[env.reset(None)] += 1;
    }
    assert_eq!(
        (counts[0], counts[15]),
        (0, 0),
        "terminal corners are never starts"
    );
    assert!(
        counts[1..15].iter().all(|&c| (850..1150).contains(&c)),
        "{counts:?}"
    );
    assert_eq!(TabularEnv::new(RandomWalk::example_6_2()).reset(Some(0)), 2);
}

#[test]
fn time_limit_truncates_but_lets_termination_win() {
    // A three-state walk starts in the middle, so its first step cannot terminate: truncated.
    let mut env =
        TimeLimit::new(TabularEnv::new(RandomWalk::new(3, 0.0, 1.0).unwrap()), 1).unwrap();
    env.reset(Some(0));
    let step = env.step(0).unwrap();
    assert!(step.truncated && !step.terminated, "{step:?}");
    // A walk of one state always terminates on its first step, even at the limit.
    let mut env =
        TimeLimit::new(TabularEnv::new(RandomWalk::new(1, 0.0, 1.0).unwrap()), 1).unwrap();
    env.reset(Some(0));
    let step = env.step(0).unwrap();
    assert!(step.terminated && !step.truncated);
    assert_eq!(env.elapsed(), 1);
    env.reset(None);
    assert_eq!(env.elapsed(), 0);
}

#[test]
fn grid_rendering_aligns_cells() {
    let grid = GridWorld::example_4_1();
    let text = grid.grid().render(|s| format!("{}", s));
    assert_eq!(text.lines().next().unwrap(), " 0  1  2  3");
    assert_eq!(grid.action_symbol(GridWorld::RIGHT), "→");
}
