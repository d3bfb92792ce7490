//! Tabular Q-learning updates per second: the crate's batched tensor updater on every CPU
//! backend compiled in (one transition, batches of 64 and 1024) beside a plain-Rust loop over a `Vec<f32>` table
//! doing the same update (the hand-written limit, like `peer-benchmarks/qmin`).
//!
//! ```text
//! cargo bench --bench tabular                    # ndarray
//! cargo bench --features flex --bench tabular     # ndarray and flex
//! ```

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::algo::{QLearning, StepSize, TabularBatch, TabularTdConfig};
use valuefn::value::QTable;

const STATES: usize = 64;
const ACTIONS: usize = 4;
const ALPHA: f32 = 0.1;
const GAMMA: f32 = 0.99;

fn batch(size: usize, rng: &mut StdRng) -> TabularBatch {
    TabularBatch::new(
        (0..size).map(|_| rng.random_range(0..STATES)).collect(),
        (0..size).map(|_| rng.random_range(0..ACTIONS)).collect(),
        (0..size).map(|_| rng.random_range(-1.0..1.0)).collect(),
        (0..size).map(|_| rng.random_range(0..STATES)).collect(),
        (0..size).map(|_| rng.random_bool(0.05)).collect(),
    )
    .unwrap()
}

/// The reference: the same Q-learning update, one transition at a time, on a flat table.
fn plain_loop(table: &mut [f32], b: &TabularBatch) {
    for i in 0..b.len() {
        let next = &table[b.next_states[i] * ACTIONS..(b.next_states[i] + 1) * ACTIONS];
        let best = next.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let target = b.rewards[i] as f32 + if b.terminated[i] { 0.0 } else { GAMMA * best };
        let entry = &mut table[b.states[i] * ACTIONS + b.actions[i]];
        *entry += ALPHA * (target - *entry);
    }
}

fn updates(c: &mut Criterion) {
    let config = TabularTdConfig::new()
        .with_gamma(f64::from(GAMMA))
        .with_step_size(StepSize::Constant {
            alpha: f64::from(ALPHA),
        });
    let mut rng = StdRng::seed_from_u64(0);
    let mut group = c.benchmark_group("q_learning_updates");
    for size in [1usize, 64, 1024] {
        let b = batch(size, &mut rng);
        group.throughput(Throughput::Elements(size as u64));
        for (name, device) in valuefn::device::cpu_devices() {
            let mut q = QTable::zeros(STATES, ACTIONS, &device);
            let mut learner = QLearning::new(&config).unwrap();
            group.bench_function(BenchmarkId::new(format!("valuefn_{name}"), size), |bench| {
                bench.iter(|| learner.update(&mut q, black_box(&b)).unwrap())
            });
        }
        let mut table = vec![0.0f32; STATES * ACTIONS];
        group.bench_function(BenchmarkId::new("plain_rust_loop", size), |bench| {
            bench.iter(|| plain_loop(&mut table, black_box(&b)))
        });
    }
    group.finish();
}

criterion_group!(benches, updates);
criterion_main!(benches);
