//! The token language model on every CPU backend compiled in, at the size of
//! `peer-benchmarks/token_mdp.py` (vocabulary 100, batch 32, 16 generated tokens, width 128):
//!
//! - `lm_generation`: `generate` of 16 tokens after 32 one-token prompts with the cache
//!   (sampling at temperature 1); throughput is generated tokens per second, the figure to set
//!   beside the peer's "rollout only" tokens/s;
//! - `lm_actor_critic_update`: one A2C update of `ActorCritic` on the 512 transitions of 32
//!   episodes of 16 tokens (states as `TokenPositions` in the 32 episodes' sequences, with
//!   scores as a collected rollout has them: one body pass forward and one backward);
//!   throughput is training tokens per second of the update alone;
//! - `lm_actor_critic_loop`: what the peer's training figure measures: collect 32 episodes of
//!   16 tokens with `TokenCollector` (the peer's task: one `<bos>` prompt, a fixed random
//!   16-token target, 1 per matching token) and run the A2C update on them, with the peer's
//!   settings (gamma 1, return-to-go advantages, value coefficient 0.5, entropy 0.01, Adam
//!   3e-3, no clipping). `gru` / `transformer` is one model with policy and value heads on one
//!   trunk (the peer's shape: one body pass forward and backward per update);
//!   `gru_separate` / `transformer_separate` two models (`PolicyAndValue`), the layout before
//!   the learner core.
//!
//! Both for a GRU body and a 2-layer transformer body.
//!
//! ```text
//! cargo bench --features flex --bench lm -- --warm-up-time 1 --measurement-time 5
//! ```

#[path = "common/peer.rs"]
mod peer;

use std::hint::black_box;

use burn::tensor::{Device, Int, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, RolloutBatch, RolloutScores};
use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
use valuefn::batch::TokenBatch;
use valuefn::lm::{
    GenerationConfig, LmBody, Sampling, TokenCollector, TokenModel, TokenPositions,
    TransformerBodyConfig, generate,
};
use valuefn::policy::PolicyAndValue;
use valuefn::returns::Rollout;
use valuefn::tensor_ops::index_tensor;

use peer::{BATCH, HIDDEN, TOKENS, VOCAB, gru, peer_task};

fn transformer(seed: u64, device: &Device) -> TokenModel<valuefn::lm::TransformerBody> {
    let body = TransformerBodyConfig::new(VOCAB)
        .with_hidden(HIDDEN)
        .with_max_len(TOKENS + 1)
        .with_seed(seed);
    TokenModel::new(body.init(device).unwrap(), seed, device)
}

/// Right-padded rows of `ids` (each row its own length).
fn token_batch(rows: &[Vec<usize>], device: &Device) -> TokenBatch {
    let width = rows.iter().map(Vec::len).max().unwrap_or(1);
    let mut ids = vec![0i64; rows.len() * width];
    let mut mask = vec![false; rows.len() * width];
    for (r, row) in rows.iter().enumerate() {
        for (c, &id) in row.iter().enumerate() {
            ids[r * width + c] = id as i64;
            mask[r * width + c] = true;
        }
    }
    let lengths: Vec<usize> = rows.iter().map(Vec::len).collect();
    TokenBatch {
        ids: Tensor::<2, Int>::from_data(TensorData::new(ids, [rows.len(), width]), device),
        mask: Tensor::from_data(TensorData::new(mask, [rows.len(), width]), device),
        lengths: index_tensor(&lengths, device),
    }
}

/// 32 random episodes of 16 tokens after `<bos>`, as a time-major rollout of positions in the
/// episodes' sequences.
fn rollout(device: &Device) -> RolloutBatch<TokenPositions> {
    let mut rng = StdRng::seed_from_u64(0);
    let episodes: Vec<Vec<usize>> = (0..BATCH)
        .map(|_| {
            std::iter::once(1)
                .chain((0..TOKENS).map(|_| rng.random_range(4..VOCAB)))
                .collect()
        })
        .collect();
    let (mut states, mut next, mut actions, mut rewards) = (vec![], vec![], vec![], vec![]);
    for t in 0..TOKENS {
        for (b, episode) in episodes.iter().enumerate() {
            states.push((b, t));
            next.push((b, t + 1));
            actions.push(episode[t + 1]);
            rewards.push(f32::from(u8::from(rng.random::<bool>())));
        }
    }
    let terminated = (0..TOKENS * BATCH)
        .map(|i| i / BATCH == TOKENS - 1)
        .collect();
    let sequences = token_batch(&episodes, device);
    RolloutBatch {
        observations: TokenPositions::new(sequences.clone(), states).unwrap(),
        actions: index_tensor(&actions, device),
        next_observations: TokenPositions::new(sequences, next).unwrap(),
        rollout: Rollout::new(
            TOKENS,
            BATCH,
            rewards,
            terminated,
            vec![false; TOKENS * BATCH],
            device,
        )
        .unwrap(),
        mask: None,
        // As a collected rollout carries them: the update runs the body once.
        scores: Some(RolloutScores {
            values: vec![0.5; TOKENS * BATCH],
            next_values: vec![0.5; TOKENS * BATCH],
            log_probs: vec![-(VOCAB as f32).ln(); TOKENS * BATCH],
        }),
    }
}

fn bench_model<B: LmBody>(
    c: &mut Criterion,
    name: &str,
    make: impl Fn(u64, &Device) -> TokenModel<B>,
) {
    for (backend, device) in valuefn::device::cpu_devices() {
        let mut group = c.benchmark_group("lm_generation");
        group.throughput(Throughput::Elements((BATCH * TOKENS) as u64));
        let model = make(0, &device);
        let prompts = token_batch(&vec![vec![1]; BATCH], &device);
        let config = GenerationConfig::new(TOKENS)
            .with_stop_at_eos(false)
            .with_sampling(Sampling::Sample {
                temperature: 1.0,
                top_k: None,
                top_p: None,
            });
        group.bench_function(BenchmarkId::new(name, backend), |b| {
            b.iter(|| black_box(generate(&model, &prompts, &config).unwrap()))
        });
        group.finish();

        let mut group = c.benchmark_group("lm_actor_critic_update");
        group.throughput(Throughput::Elements((BATCH * TOKENS) as u64));
        group.sample_size(10);
        let train = device.clone().autodiff();
        let adam = OptimizerConfig::Adam { epsilon: 1e-8 };
        let lr = LearningRateSchedule::Constant { rate: 3e-3 };
        let config = ActorCriticConfig::new()
            .with_gamma(1.0)
            .with_entropy_coef(0.01)
            .with_max_grad_norm(None)
            .with_actor_optimizer(adam)
            .with_critic_optimizer(adam)
            .with_actor_learning_rate(lr)
            .with_critic_learning_rate(lr);
        let mut a2c = ActorCritic::new(config.clone(), make(1, &train)).unwrap();
        let batch = rollout(&device);
        group.bench_function(BenchmarkId::new(name, backend), |b| {
            b.iter(|| black_box(a2c.update(&batch).unwrap()))
        });
        group.finish();

        let mut group = c.benchmark_group("lm_actor_critic_loop");
        group.throughput(Throughput::Elements((BATCH * TOKENS) as u64));
        group.sample_size(10);
        let mut rollouts = TokenCollector::new(&peer_task(), BATCH, 0).unwrap();
        group.bench_function(BenchmarkId::new(name, backend), |b| {
            b.iter(|| {
                let rollout = rollouts.collect(a2c.model(), &device).unwrap();
                black_box(a2c.update(&rollout.batch).unwrap())
            })
        });
        let pair = PolicyAndValue::new(make(1, &train), make(2, &train));
        let mut separate = ActorCritic::new(config, pair).unwrap();
        group.bench_function(BenchmarkId::new(format!("{name}_separate"), backend), |b| {
            b.iter(|| {
                let rollout = rollouts.collect(separate.model(), &device).unwrap();
                black_box(separate.update(&rollout.batch).unwrap())
            })
        });
        group.finish();
    }
}

fn benches(c: &mut Criterion) {
    bench_model(c, "gru", gru);
    bench_model(c, "transformer", transformer);
}

criterion_group!(lm, benches);
criterion_main!(lm);
