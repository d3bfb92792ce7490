//! Exact solvers and tabular stepping.
//!
//! ```text
//! cargo bench --bench solvers
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use valuefn::env::tabular::{FrozenLake, GridWorld};
use valuefn::prelude::*;

fn solvers(c: &mut Criterion) {
    let lake = FrozenLake::eight_by_eight(true);
    let config = SolverConfig::new().with_gamma(0.99).with_tolerance(1e-8);
    c.bench_function("value_iteration/frozen_lake_8x8", |b| {
        b.iter(|| value_iteration(black_box(&lake), &config).unwrap())
    });
    c.bench_function("policy_iteration/frozen_lake_8x8", |b| {
        b.iter(|| policy_iteration(black_box(&lake), &config).unwrap())
    });
    let grid = GridWorld::example_3_5();
    let random = PolicyTable::uniform(25, 4);
    c.bench_function("evaluate_policy_exact/example_3_5", |b| {
        b.iter(|| evaluate_policy_exact(black_box(&grid), &random, 0.9).unwrap())
    });
}

fn stepping(c: &mut Criterion) {
    let mut env = TabularEnv::new(FrozenLake::eight_by_eight(true));
    env.reset(Some(0));
    let mut action = 0;
    c.bench_function("tabular_env/step/frozen_lake_8x8", |b| {
        b.iter(|| {
            action = (action + 1) % 4;
            match env.step(action) {
                Ok(step) if !step.done() => {}
                _ => {
                    env.reset(None);
                }
            }
        })
    });
}

criterion_group!(benches, solvers, stepping);
criterion_main!(benches);
