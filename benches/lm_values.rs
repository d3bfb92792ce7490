//! The language-model value methods on every CPU backend compiled in, at the size of
//! `benches/lm.rs` (vocabulary 104, batch 32, 16 generated tokens, GRU width 128):
//!
//! - `lm_ilql_update`: one `Ilql` step on 512 token transitions sampled from a `TokenReplay`
//!   of 32 played episodes: `gru` on one model (both Q heads and the V head on one trunk, one
//!   body pass), `gru_separate` on three models with whole target copies;
//! - `lm_soft_q_update`: one `SoftQ` step (Q-head model against a reference model) on the same
//!   batch;
//! - `lm_kl_penalty`: `KlPenalty::apply` on the rollout of 32 episodes of 16 tokens (one pass of
//!   the policy and one of the reference);
//! - `lm_guided_generation`: `generate` of 16 tokens after 32 prompts with `ValueGuided`
//!   (reference, the two target-Q views of the ILQL model, the model for V: four caches
//!   stepped per token), beside `generate`
//!   with the reference alone in `benches/lm.rs`.
//!
//! Throughput is tokens (transitions or generated tokens) per second.
//!
//! ```text
//! cargo bench --features flex --bench lm_values -- --warm-up-time 1 --measurement-time 3
//! ```

#[path = "common/peer.rs"]
mod peer;

use std::hint::black_box;

use burn::module::Module;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::algo::actor_critic::{KlPenalty, KlPenaltyConfig};
use valuefn::algo::dqn::DqnConfig;
use valuefn::algo::dqn::SoftQ;
use valuefn::algo::ilql::{Ilql, IlqlConfig, IlqlNetworks};
use valuefn::encode::ObservationEncoder;
use valuefn::encode::PaddedTokens;
use valuefn::env::text::TokenState;
use valuefn::lm::{GenerationConfig, Sampling, TokenCollector, TokenReplay, ValueGuided, generate};
use valuefn::replay::Replay;
use valuefn::text::Vocabulary;

use peer::{BATCH, TOKENS, gru, peer_task};

fn benches(c: &mut Criterion) {
    let tokens = Throughput::Elements((BATCH * TOKENS) as u64);
    for (backend, device) in valuefn::device::cpu_devices() {
        let train = device.clone().autodiff();
        let reference = gru(0, &device);
        let rollout = TokenCollector::new(&peer_task(), BATCH, 0)
            .unwrap()
            .collect(&reference, &device)
            .unwrap();
        let mut replay = TokenReplay::new(BATCH * TOKENS, 1.0).unwrap();
        for episode in &rollout.episodes {
            replay.push(episode).unwrap();
        }
        let mut rng = StdRng::seed_from_u64(0);
        let batch = replay
            .sample(BATCH * TOKENS, &device, &mut rng)
            .unwrap()
            .batch;

        let mut group = c.benchmark_group("lm_ilql_update");
        group.throughput(tokens.clone());
        group.sample_size(10);
        // One trunk: both Q heads and the V head of one model, targets of the heads only.
        let mut ilql = Ilql::new(IlqlConfig::new(), gru(1, &train)).unwrap();
        group.bench_function(BenchmarkId::new("gru", backend), |b| {
            b.iter(|| black_box(ilql.update(&batch).unwrap()))
        });
        // Three models, whole target copies (the layout before the learner core).
        let networks = IlqlNetworks::new(gru(1, &train), gru(2, &train), gru(3, &train)).unwrap();
        let mut separate = Ilql::new(IlqlConfig::new(), networks).unwrap();
        group.bench_function(BenchmarkId::new("gru_separate", backend), |b| {
            b.iter(|| black_box(separate.update(&batch).unwrap()))
        });
        group.finish();

        let mut group = c.benchmark_group("lm_soft_q_update");
        group.throughput(tokens.clone());
        group.sample_size(10);
        let mut soft =
            SoftQ::new(DqnConfig::new(), 0.5, gru(4, &train), reference.clone()).unwrap();
        group.bench_function(BenchmarkId::new("gru", backend), |b| {
            b.iter(|| black_box(soft.update(&batch).unwrap()))
        });
        group.finish();

        let mut group = c.benchmark_group("lm_kl_penalty");
        group.throughput(tokens.clone());
        let actor = gru(5, &device);
        let mut penalty = KlPenalty::new(KlPenaltyConfig::new()).unwrap();
        group.bench_function(BenchmarkId::new("gru", backend), |b| {
            b.iter(|| {
                let mut penalised = rollout.batch.clone();
                black_box(penalty.apply(&mut penalised, &actor, &reference).unwrap())
            })
        });
        group.finish();

        let mut group = c.benchmark_group("lm_guided_generation");
        group.throughput(tokens.clone());
        let guided = ValueGuided::new(
            &reference,
            &ilql.target_models(),
            &ilql.model().valid(),
            1.0,
        )
        .unwrap();
        let prompts = PaddedTokens
            .encode(
                &vec![TokenState::new(vec![Vocabulary::BOS].into()); BATCH],
                &device,
            )
            .unwrap();
        let config = GenerationConfig::new(TOKENS)
            .with_stop_at_eos(false)
            .with_sampling(Sampling::Sample {
                temperature: 1.0,
                top_k: None,
                top_p: None,
            });
        group.bench_function(BenchmarkId::new("gru", backend), |b| {
            b.iter(|| black_box(generate(&guided, &prompts, &config).unwrap()))
        });
        group.finish();
    }
}

criterion_group!(lm_values, benches);
criterion_main!(lm_values);
