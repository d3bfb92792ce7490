//! One DQN gradient step: MLP 4-256-256-2 (ReLU), batch 64, Adam, Huber loss, target network
//! and hard target copies, on every CPU backend compiled in. The same step as
//! `peer-benchmarks/torch_dqn_step.py` (PyTorch eager), which is the figure to compare with.
//! A second size, 4-64-64-2 with batch 32, matches the small network of `shared/DESIGN.md`.
//!
//! ```text
//! cargo bench --features flex --bench dqn -- --warm-up-time 1 --measurement-time 5
//! ```

use std::hint::black_box;

use burn::tensor::{Bool, Device, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::algo::dqn::{Dqn, DqnConfig, LearningRateSchedule, TargetUpdate};
use valuefn::nn::QNetworkConfig;
use valuefn::replay::TransitionBatch;

fn batch(size: usize, device: &Device) -> TransitionBatch {
    let mut rng = StdRng::seed_from_u64(0);
    let mut normal = |n: usize| {
        (0..n)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect::<Vec<_>>()
    };
    let observations = normal(size * 4);
    let next = normal(size * 4);
    let rewards = normal(size);
    let actions: Vec<i64> = rewards.iter().map(|&r| i64::from(r > 0.0)).collect();
    let terminated: Vec<bool> = rewards.iter().map(|&r| r > 0.9).collect();
    TransitionBatch {
        observations: Tensor::from_data(TensorData::new(observations, [size, 4]), device),
        actions: Tensor::from_data(TensorData::new(actions, [size]), device),
        rewards: Tensor::from_data(TensorData::new(rewards, [size]), device),
        next_observations: Tensor::from_data(TensorData::new(next, [size, 4]), device),
        terminated: Tensor::<1, Bool>::from_data(TensorData::new(terminated, [size]), device),
        discounts: Tensor::full([size], 0.99, device),
        weights: Tensor::ones([size], device),
    }
}

fn gradient_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("dqn_gradient_step");
    for (hidden, size) in [(256, 64), (64, 32)] {
        group.throughput(Throughput::Elements(1));
        for (name, device) in valuefn::device::cpu_devices() {
            let net = QNetworkConfig::new(4, 2)
                .with_hidden(vec![hidden, hidden])
                .init(&device.clone().autodiff())
                .unwrap();
            let config = DqnConfig::new()
                .with_learning_rate(LearningRateSchedule::Constant { rate: 2.3e-3 })
                .with_target_update(TargetUpdate::Hard { every: 10 });
            let mut dqn = Dqn::new(config, net).unwrap();
            let batch = batch(size, &device);
            let id = BenchmarkId::new(format!("{name}/4-{hidden}-{hidden}-2"), size);
            group.bench_function(id, |b| b.iter(|| black_box(dqn.update(&batch).unwrap())));
        }
    }
    group.finish();
}

criterion_group!(benches, gradient_step);
criterion_main!(benches);
