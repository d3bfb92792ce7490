//! Tabular Q-learning updates per second: the crate's updater (`QLearning::update`) on every
//! CPU backend compiled in, on its host path (the default there) and on its tensor path (one
//! transition, batches of 64 and 1024), beside a plain-Rust loop over a `Vec<f32>` table doing
//! the same update (the hand-written limit, like `peer-benchmarks/qmin`).
//!
//! And whole online runs, steps per second: `train_tabular` (Q-learning on slippery FrozenLake
//! 4x4, time limit 100, alpha 0.1, gamma 0.99, epsilon 0.1) on the host path and on the tensor
//! path of every CPU backend, beside `peer-benchmarks/qmin`'s hand-written loop (copied below).
//!
//! ```text
//! cargo bench --bench tabular                    # ndarray
//! cargo bench --features flex --bench tabular     # ndarray and flex
//! ```

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::algo::{
    QLearning, StepSize, TabularBatch, TabularControl, TabularControlConfig, TabularPath,
    TabularTdConfig, train_tabular,
};
use valuefn::env::tabular::FrozenLake;
use valuefn::env::{TabularEnv, TimeLimit};
use valuefn::policy::EpsilonSchedule;
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
            for (path_name, path) in [("host", TabularPath::Host), ("tensor", TabularPath::Tensor)]
            {
                let mut q = QTable::zeros(STATES, ACTIONS, &device);
                let mut learner = QLearning::new(&config).unwrap().with_path(path);
                let id = BenchmarkId::new(format!("valuefn_{name}_{path_name}"), size);
                group.bench_function(id, |bench| {
                    bench.iter(|| learner.update(&mut q, black_box(&b)).unwrap())
                });
            }
        }
        let mut table = vec![0.0f32; STATES * ACTIONS];
        group.bench_function(BenchmarkId::new("plain_rust_loop", size), |bench| {
            bench.iter(|| plain_loop(&mut table, black_box(&b)))
        });
    }
    group.finish();
}

/// `peer-benchmarks/qmin`'s loop, verbatim but for formatting: Q-learning on slippery FrozenLake
/// 4x4 in `f64`, epsilon-greedy (first maximum), xorshift64, time limit 100. Returns the sum
/// of the table so that nothing is optimised away.
mod qmin {
    const MAP: &[u8; 16] = b"SFFFFHFHFFFHHFFG";

    struct Rng(u64);
    impl Rng {
        #[inline(always)]
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        #[inline(always)]
        fn f64(&mut self) -> f64 {
            (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
        }
        #[inline(always)]
        fn below(&mut self, n: u64) -> u64 {
            ((self.next() >> 32) * n) >> 32
        }
    }

    #[inline(always)]
    fn mv(s: usize, a: usize) -> usize {
        let (r, c) = (s / 4, s % 4);
        match a {
            0 => r * 4 + c.saturating_sub(1),
            1 => (r + 1).min(3) * 4 + c,
            2 => r * 4 + (c + 1).min(3),
            _ => r.saturating_sub(1) * 4 + c,
        }
    }

    pub fn run(n: u64, eps: f64, seed: u64) -> f64 {
        let mut q = [[0.0f64; 4]; 16];
        let mut rng = Rng(seed | 1);
        let (alpha, gamma) = (0.1, 0.99);
        let (mut s, mut t) = (0usize, 0u32);
        for _ in 0..n {
            let a = if rng.f64() < eps {
                rng.below(4) as usize
            } else {
                let row = &q[s];
                let mut b = 0;
                for i in 1..4 {
                    if row[i] > row[b] {
                        b = i;
                    }
                }
                b
            };
            let actual = (a + 3 + rng.below(3) as usize) % 4;
            let s2 = mv(s, actual);
            let cell = MAP[s2];
            let r = if cell == b'G' { 1.0 } else { 0.0 };
            let term = cell == b'G' || cell == b'H';
            let nmax = if term {
                0.0
            } else {
                q[s2].iter().cloned().fold(f64::MIN, f64::max)
            };
            q[s][a] += alpha * (r + gamma * nmax - q[s][a]);
            t += 1;
            if term || t >= 100 {
                s = 0;
                t = 0;
            } else {
                s = s2;
            }
        }
        q.iter().flatten().sum()
    }
}

/// The issue-14 workload: `episodes` episodes of `train_tabular` on `path`; returns the steps.
fn frozen_lake_run(episodes: usize, path: TabularPath, device: &burn::tensor::Device) -> usize {
    let mut env = TimeLimit::new(TabularEnv::new(FrozenLake::four_by_four(true)), 100).unwrap();
    let mut q = QTable::zeros(16, 4, device);
    let td = TabularTdConfig::new()
        .with_gamma(0.99)
        .with_step_size(StepSize::Constant { alpha: 0.1 });
    let config = TabularControlConfig::new(TabularControl::QLearning, td)
        .with_exploration(EpsilonSchedule::Constant { epsilon: 0.1 })
        .with_episodes(episodes)
        .with_path(path);
    let stats = train_tabular(&mut env, &mut q, &config).unwrap();
    stats.iter().map(|e| e.length).sum()
}

fn online_runs(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_tabular_frozen_lake");
    group.sample_size(20);
    for (name, device) in valuefn::device::cpu_devices() {
        // Host path: 3,000 episodes per iteration.
        let steps = frozen_lake_run(3000, TabularPath::Host, &device);
        group.throughput(Throughput::Elements(steps as u64));
        group.bench_function(BenchmarkId::new("valuefn_host", name), |bench| {
            bench.iter(|| frozen_lake_run(black_box(3000), TabularPath::Host, &device))
        });
        // Tensor path (the path before the host one): 20 episodes per iteration.
        let steps = frozen_lake_run(20, TabularPath::Tensor, &device);
        group.throughput(Throughput::Elements(steps as u64));
        group.bench_function(BenchmarkId::new("valuefn_tensor", name), |bench| {
            bench.iter(|| frozen_lake_run(black_box(20), TabularPath::Tensor, &device))
        });
    }
    const QMIN_STEPS: u64 = 1_000_000;
    group.throughput(Throughput::Elements(QMIN_STEPS));
    group.bench_function("qmin_hand_written_loop", |bench| {
        bench.iter(|| qmin::run(black_box(QMIN_STEPS), black_box(0.1), 0x9E37_79B9_7F4A_7C15))
    });
    group.finish();
}

criterion_group!(benches, updates, online_runs);
criterion_main!(benches);
