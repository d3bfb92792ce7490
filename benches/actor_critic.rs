//! Actor-critic on every CPU backend compiled in, with rl-baselines3-zoo's CartPole networks
//! (`[64, 64]` tanh actor and critic):
//!
//! - `a2c_update`: one A2C update of a rollout of 8 copies x 5 steps (RMSprop);
//! - `ppo_epoch`: one PPO epoch over 8 x 32 transitions in one minibatch of 256 (Adam), the
//!   zoo's setting, and in minibatches of 64;
//! - `a2c_cartpole`: the whole loop (`train_actor_critic`: CartPole stepping, sampling, the
//!   update) for 4,000 environment steps; throughput is environment steps per second, the
//!   figure to compare with `peer-benchmarks/sb3_a2c.py`.
//!
//! ```text
//! cargo bench --features flex --bench actor_critic -- --warm-up-time 1 --measurement-time 5
//! ```

use std::hint::black_box;

use burn::tensor::{Device, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, ActorCriticTrainConfig, PpoConfig, RolloutBatch,
    train_actor_critic,
};
use valuefn::encode::Features;
use valuefn::env::SyncVecEnv;
use valuefn::env::classic::CartPole;
use valuefn::nn::{CategoricalPolicy, CategoricalPolicyConfig, VNetwork, VNetworkConfig};
use valuefn::policy::PolicyAndValue;
use valuefn::returns::Rollout;
use valuefn::tensor_ops::index_tensor;

fn networks(device: &Device) -> (CategoricalPolicy, VNetwork) {
    let train = device.clone().autodiff();
    (
        CategoricalPolicyConfig::new(4, 2).init(&train).unwrap(),
        VNetworkConfig::new(4).with_seed(1).init(&train).unwrap(),
    )
}

fn rollout(steps: usize, envs: usize, device: &Device) -> RolloutBatch<Tensor<2>> {
    let mut rng = StdRng::seed_from_u64(0);
    let len = steps * envs;
    let mut uniform = |n: usize| (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
    let observations: Vec<f32> = uniform(len * 4);
    let next: Vec<f32> = uniform(len * 4);
    let actions: Vec<usize> = observations
        .iter()
        .step_by(4)
        .map(|&x| usize::from(x > 0.0))
        .collect();
    let terminated: Vec<bool> = next.iter().step_by(4).map(|&x| x > 0.9).collect();
    RolloutBatch {
        observations: Tensor::from_data(TensorData::new(observations, [len, 4]), device),
        actions: index_tensor(&actions, device),
        next_observations: Tensor::from_data(TensorData::new(next, [len, 4]), device),
        rollout: Rollout::new(
            steps,
            envs,
            vec![1.0; len],
            terminated,
            vec![false; len],
            device,
        )
        .unwrap(),
        mask: None,
        scores: None,
    }
}

fn updates(c: &mut Criterion) {
    let mut group = c.benchmark_group("actor_critic_update");
    group.throughput(Throughput::Elements(1));
    for (name, device) in valuefn::device::cpu_devices() {
        let (actor, critic) = networks(&device);
        let mut a2c =
            ActorCritic::new(ActorCriticConfig::new(), PolicyAndValue::new(actor, critic)).unwrap();
        let batch = rollout(5, 8, &device);
        group.bench_function(BenchmarkId::new("a2c_update", format!("{name}/8x5")), |b| {
            b.iter(|| black_box(a2c.update(&batch).unwrap()))
        });
        let batch = rollout(32, 8, &device);
        for minibatch in [256, 64] {
            let (actor, critic) = networks(&device);
            let config = ActorCriticConfig::ppo_cartpole(1_000_000).with_ppo(Some(
                PpoConfig::new()
                    .with_epochs(1)
                    .with_minibatch_size(minibatch),
            ));
            let mut ppo = ActorCritic::new(config, PolicyAndValue::new(actor, critic)).unwrap();
            let id = BenchmarkId::new("ppo_epoch", format!("{name}/8x32/minibatch {minibatch}"));
            group.bench_function(id, |b| b.iter(|| black_box(ppo.update(&batch).unwrap())));
        }
    }
    group.finish();
}

fn whole_loop(c: &mut Criterion) {
    let mut group = c.benchmark_group("actor_critic_loop");
    let steps = 4_000;
    group.throughput(Throughput::Elements(steps));
    group.sample_size(10);
    for (name, device) in valuefn::device::cpu_devices() {
        group.bench_function(BenchmarkId::new("a2c_cartpole", name), |b| {
            b.iter(|| {
                let (actor, critic) = networks(&device);
                let mut a2c =
                    ActorCritic::new(ActorCriticConfig::new(), PolicyAndValue::new(actor, critic))
                        .unwrap();
                let mut envs = SyncVecEnv::new((0..8).map(|_| CartPole::new()).collect()).unwrap();
                let config = ActorCriticTrainConfig::a2c_cartpole()
                    .with_total_steps(steps)
                    .with_progress_bar(false);
                black_box(
                    train_actor_critic(
                        &config,
                        &mut a2c,
                        &mut envs,
                        None,
                        &Features::new(4),
                        &device,
                    )
                    .unwrap(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, updates, whole_loop);
criterion_main!(benches);
