//! GAE and TD(lambda) returns through the crate's tensor API on every CPU backend compiled in,
//! beside a plain-Rust loop over `Vec<f32>` doing the same recursion (the hand-written limit).
//!
//! ```text
//! cargo bench --bench returns                    # ndarray
//! cargo bench --features flex --bench returns    # ndarray and flex
//! ```

use std::hint::black_box;

use burn::tensor::Device;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::returns::{Rollout, gae, lambda_returns};
use valuefn::tensor_ops::float_tensor;

const GAMMA: f32 = 0.99;
const LAMBDA: f32 = 0.95;

/// Host data of a `[T, B]` rollout with ~1% terminations and ~0.5% truncations.
struct Data {
    steps: usize,
    envs: usize,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    values: Vec<f32>,
    next_values: Vec<f32>,
}

fn data(steps: usize, envs: usize) -> Data {
    let mut rng = StdRng::seed_from_u64(0);
    let n = steps * envs;
    let ends: Vec<f32> = (0..n).map(|_| rng.random()).collect();
    Data {
        steps,
        envs,
        rewards: (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
        terminated: ends.iter().map(|&u| u < 0.01).collect(),
        truncated: ends.iter().map(|&u| (0.01..0.015).contains(&u)).collect(),
        values: (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
        next_values: (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
    }
}

/// The reference: GAE as a hand-written loop over time-major vectors.
fn plain_gae(d: &Data, out: &mut [f32]) {
    let mut carry = vec![0.0f32; d.envs];
    for t in (0..d.steps).rev() {
        for (b, c) in carry.iter_mut().enumerate() {
            let i = t * d.envs + b;
            let bootstrap = if d.terminated[i] {
                0.0
            } else {
                GAMMA * d.next_values[i]
            };
            let delta = d.rewards[i] + bootstrap - d.values[i];
            let stop = d.terminated[i] || d.truncated[i] || t == d.steps - 1;
            *c = delta + if stop { 0.0 } else { GAMMA * LAMBDA * *c };
            out[i] = *c;
        }
    }
}

/// The reference: TD(lambda) returns as a hand-written loop.
fn plain_lambda(d: &Data, out: &mut [f32]) {
    let mut carry = vec![0.0f32; d.envs];
    for t in (0..d.steps).rev() {
        for (b, c) in carry.iter_mut().enumerate() {
            let i = t * d.envs + b;
            let r = d.rewards[i];
            *c = if d.terminated[i] {
                r
            } else if d.truncated[i] || t == d.steps - 1 {
                r + GAMMA * d.next_values[i]
            } else {
                r + GAMMA * ((1.0 - LAMBDA) * d.next_values[i] + LAMBDA * *c)
            };
            out[i] = *c;
        }
    }
}

fn estimators(c: &mut Criterion) {
    for (steps, envs) in [(128, 64), (2048, 8)] {
        let d = data(steps, envs);
        let label = format!("T{steps}xB{envs}");
        let mut out = vec![0.0f32; steps * envs];
        let mut group = c.benchmark_group("gae");
        group.throughput(Throughput::Elements((steps * envs) as u64));
        group.bench_function(BenchmarkId::new("plain_rust_loop", &label), |b| {
            b.iter(|| plain_gae(black_box(&d), &mut out))
        });
        group.finish();
        let mut group = c.benchmark_group("td_lambda");
        group.throughput(Throughput::Elements((steps * envs) as u64));
        group.bench_function(BenchmarkId::new("plain_rust_loop", &label), |b| {
            b.iter(|| plain_lambda(black_box(&d), &mut out))
        });
        group.finish();
        for (name, device) in valuefn::device::cpu_devices() {
            on_device(c, &d, &label, name, &device);
        }
    }
}

/// The crate's estimators on one device.
fn on_device(c: &mut Criterion, d: &Data, label: &str, name: &str, device: &Device) {
    let (steps, envs) = (d.steps, d.envs);
    let rollout = Rollout::new(
        steps,
        envs,
        d.rewards.clone(),
        d.terminated.clone(),
        d.truncated.clone(),
        device,
    )
    .unwrap();
    let as_tensor = |v: &[f32]| {
        let v: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        float_tensor(&v, [steps, envs], device)
    };
    let (values, next_values) = (as_tensor(&d.values), as_tensor(&d.next_values));
    let id = BenchmarkId::new(format!("valuefn_{name}"), label);

    let mut group = c.benchmark_group("gae");
    group.throughput(Throughput::Elements((steps * envs) as u64));
    group.bench_function(id.clone(), |b| {
        b.iter(|| {
            gae(
                black_box(&rollout),
                values.clone(),
                next_values.clone(),
                0.99,
                0.95,
            )
            .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("td_lambda");
    group.throughput(Throughput::Elements((steps * envs) as u64));
    group.bench_function(id, |b| {
        b.iter(|| lambda_returns(black_box(&rollout), next_values.clone(), 0.99, 0.95).unwrap())
    });
    group.finish();
}

criterion_group!(benches, estimators);
criterion_main!(benches);
