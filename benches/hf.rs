//! A pretrained Hugging Face folder loaded through `lm::hf`, measured as
//! `peer-benchmarks/hf_folder.py run DIR 1 BATCH PROMPT_LEN NEW_TOKENS` measures `transformers`
//! on the same folder:
//!
//! - `hf_generation/greedy`, `hf_generation/sampled`: `generate` of `NEW_TOKENS` tokens after
//!   `BATCH` random prompts of `PROMPT_LEN` tokens with the key/value cache (sampling at
//!   temperature 1, no top-k); throughput is generated tokens per second;
//! - `hf_value_head_step`: one A2C update of `ActorCritic` on the `BATCH x NEW_TOKENS`
//!   completion tokens of those sequences, the policy being the LM head and a V head on the
//!   same trunk, every parameter trained (Adam 1e-5, value coefficient 0.5, no entropy, no
//!   clipping), with the scores a collected rollout carries: one forward and one backward pass
//!   over prompt + completion, as the peer's step. Throughput is training tokens per second.
//!
//! ```text
//! python3 ../shared/peer-benchmarks/hf_folder.py make gpt2-small /tmp/gpt2-small
//! VALUEFN_HF_BENCH_DIR=/tmp/gpt2-small VALUEFN_HF_BENCH_SHAPE=8,8,32 VALUEFN_BENCH_BACKEND=flex \
//!     cargo bench --features flex --bench hf -- --warm-up-time 1 --measurement-time 20
//! ```
//!
//! With no variables: the tiny GPT-2 fixture of the tests, batch 8, prompt 8, 32 new tokens,
//! every CPU backend compiled in.

use std::hint::black_box;
use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, RolloutBatch, RolloutScores};
use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
use valuefn::batch::TokenBatch;
use valuefn::lm::hf::{PretrainedLm, QHeadInit};
use valuefn::lm::{GenerationConfig, Sampling, TokenPositions, generate};
use valuefn::returns::Rollout;
use valuefn::tensor_ops::index_tensor;

struct Shape {
    batch: usize,
    prompt: usize,
    new_tokens: usize,
}

fn settings() -> (PathBuf, Shape) {
    let dir = std::env::var("VALUEFN_HF_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/hf/gpt2"));
    let shape: Vec<usize> = std::env::var("VALUEFN_HF_BENCH_SHAPE")
        .unwrap_or_else(|_| "8,8,32".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("VALUEFN_HF_BENCH_SHAPE: BATCH,PROMPT_LEN,NEW_TOKENS")
        })
        .collect();
    let [batch, prompt, new_tokens] = shape[..] else {
        panic!("VALUEFN_HF_BENCH_SHAPE: BATCH,PROMPT_LEN,NEW_TOKENS");
    };
    (
        dir,
        Shape {
            batch,
            prompt,
            new_tokens,
        },
    )
}

fn token_batch(rows: &[Vec<usize>], device: &Device) -> TokenBatch {
    let width = rows[0].len();
    let ids: Vec<i64> = rows.iter().flatten().map(|&id| id as i64).collect();
    TokenBatch {
        ids: Tensor::<2, Int>::from_data(TensorData::new(ids, [rows.len(), width]), device),
        mask: Tensor::from_data(
            TensorData::new(vec![true; rows.len() * width], [rows.len(), width]),
            device,
        ),
        lengths: index_tensor(&vec![width; rows.len()], device),
    }
}

/// The completion tokens of `sequences` (prompt + completion) as a time-major rollout of
/// positions, with random rewards and the scores a collected rollout carries.
fn rollout(
    sequences: &[Vec<usize>],
    shape: &Shape,
    device: &Device,
) -> RolloutBatch<TokenPositions> {
    let mut rng = StdRng::seed_from_u64(1);
    let (steps, rows) = (shape.new_tokens, shape.batch);
    let (mut states, mut next, mut actions, mut rewards) = (vec![], vec![], vec![], vec![]);
    for t in 0..steps {
        for (b, sequence) in sequences.iter().enumerate() {
            let position = shape.prompt - 1 + t;
            states.push((b, position));
            next.push((b, position + 1));
            actions.push(sequence[position + 1]);
            rewards.push(rng.random::<f32>());
        }
    }
    let terminated = (0..steps * rows).map(|i| i / rows == steps - 1).collect();
    let batch = token_batch(sequences, device);
    RolloutBatch {
        observations: TokenPositions::new(batch.clone(), states).unwrap(),
        actions: index_tensor(&actions, device),
        next_observations: TokenPositions::new(batch, next).unwrap(),
        rollout: Rollout::new(
            steps,
            rows,
            rewards,
            terminated,
            vec![false; steps * rows],
            device,
        )
        .unwrap(),
        mask: None,
        scores: Some(RolloutScores {
            values: vec![0.0; steps * rows],
            next_values: vec![0.0; steps * rows],
            log_probs: vec![-5.0; steps * rows],
        }),
    }
}

fn benches(c: &mut Criterion) {
    let (dir, shape) = settings();
    let only = std::env::var("VALUEFN_BENCH_BACKEND").ok();
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (backend, device) in valuefn::device::cpu_devices() {
        if only.as_deref().is_some_and(|b| b != backend) {
            continue;
        }
        let train = device.clone().autodiff();
        let model = PretrainedLm::load(&dir, &train)
            .unwrap()
            .token_model(QHeadInit::Random, 0);
        let inference = model.valid();
        let vocab = inference.vocab_size();
        let mut rng = StdRng::seed_from_u64(1);
        let prompts: Vec<Vec<usize>> = (0..shape.batch)
            .map(|_| {
                (0..shape.prompt)
                    .map(|_| rng.random_range(0..vocab))
                    .collect()
            })
            .collect();
        let prompt_batch = token_batch(&prompts, &device);
        let tokens = (shape.batch * shape.new_tokens) as u64;

        let mut group = c.benchmark_group("hf_generation");
        group.throughput(Throughput::Elements(tokens));
        group.sample_size(10);
        let greedy = GenerationConfig::new(shape.new_tokens).with_stop_at_eos(false);
        let sampled = greedy.clone().with_sampling(Sampling::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: None,
        });
        let mut completion = Vec::new();
        for (mode, config) in [("greedy", &greedy), ("sampled", &sampled)] {
            completion = generate(&inference, &prompt_batch, config).unwrap().tokens;
            group.bench_function(BenchmarkId::new(format!("{name}/{mode}"), backend), |b| {
                b.iter(|| black_box(generate(&inference, &prompt_batch, config).unwrap()))
            });
        }
        group.finish();

        let sequences: Vec<Vec<usize>> = prompts
            .iter()
            .zip(&completion)
            .map(|(p, c)| p.iter().chain(c).copied().collect())
            .collect();
        let batch = rollout(&sequences, &shape, &device);
        let adam = OptimizerConfig::Adam { epsilon: 1e-8 };
        let rate = LearningRateSchedule::Constant { rate: 1e-5 };
        let config = ActorCriticConfig::new()
            .with_gamma(1.0)
            .with_value_coef(0.5)
            .with_entropy_coef(0.0)
            .with_max_grad_norm(None)
            .with_actor_optimizer(adam)
            .with_critic_optimizer(adam)
            .with_actor_learning_rate(rate)
            .with_critic_learning_rate(rate);
        let mut a2c = ActorCritic::new(config, model).unwrap();
        let mut group = c.benchmark_group("hf_value_head_step");
        group.throughput(Throughput::Elements(tokens));
        group.sample_size(10);
        group.bench_function(BenchmarkId::new(name.clone(), backend), |b| {
            b.iter(|| black_box(a2c.update(&batch).unwrap()))
        });
        group.finish();
    }
}

criterion_group!(hf, benches);
criterion_main!(hf);
