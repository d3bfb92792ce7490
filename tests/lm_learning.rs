//! Scratch: actor-critic on the copy task with a token model.

use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::algo::actor_critic::*;
use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
use valuefn::encode::ObservationEncoder;
use valuefn::env::SyncVecEnv;
use valuefn::env::text::{PaddedTokens, TextEnvConfig, TextGenerationEnv, TokenMatch, TokenState};
use valuefn::lm::{GenerationConfig, GruBodyConfig, TokenModel, generate};
use valuefn::text::{Tokenizer, CharTokenizer, SequenceOp, SequenceTask, TaskGenerator, TokenTask};

#[test]
#[ignore]
fn ppo_learns_copy() {
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let task = SequenceTask::new(SequenceOp::Copy, "abcd", 2, 4).unwrap();
    let corpus = task.corpus(400, &mut StdRng::seed_from_u64(0)).unwrap();
    let (train_corpus, test_corpus) = corpus.split(0.2, 0).unwrap();
    let tokenizer = CharTokenizer::fit(["abcd"]).unwrap();
    let vocab = tokenizer.vocabulary().clone();
    let tasks = TokenTask::encode_all(&train_corpus, &tokenizer).unwrap();
    let test_tasks = TokenTask::encode_all(&test_corpus, &tokenizer).unwrap();
    let config = TextEnvConfig::new().with_max_new_tokens(4);
    let env = TextGenerationEnv::new(tasks, &vocab, TokenMatch, &config).unwrap();
    let mut envs = SyncVecEnv::new((0..16).map(|_| env.replica()).collect()).unwrap();
    let v = vocab.len();
    let actor = TokenModel::new(GruBodyConfig::new(v).with_hidden(64).init(&train).unwrap(), 1, &train);
    let critic = TokenModel::new(GruBodyConfig::new(v).with_hidden(64).with_seed(2).init(&train).unwrap(), 3, &train);
    let lr = LearningRateSchedule::Constant { rate: 3e-3 };
    let ac = ActorCriticConfig::new()
        .with_gamma(1.0)
        .with_advantage(AdvantageEstimator::Gae { lambda: 0.95 })
        .with_normalize_advantage(true)
        .with_entropy_coef(0.01)
        .with_actor_optimizer(OptimizerConfig::Adam { epsilon: 1e-5 })
        .with_critic_optimizer(OptimizerConfig::Adam { epsilon: 1e-5 })
        .with_actor_learning_rate(lr)
        .with_critic_learning_rate(lr)
        .with_ppo(Some(PpoConfig::new().with_epochs(4).with_minibatch_size(64)));
    let mut updater = ActorCritic::new(ac, actor, critic).unwrap();
    let steps: u64 = std::env::var("STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let t = std::time::Instant::now();
    let report = train_actor_critic(
        &ActorCriticTrainConfig::new().with_n_steps(16).with_total_steps(steps).with_progress_bar(false),
        &mut updater, &mut envs, None, &PaddedTokens, &device).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let n = report.episode_returns.len();
    let last: f64 = report.episode_returns[n.saturating_sub(200)..].iter().sum::<f64>() / 200.0;
    // Held-out: greedy generation.
    let states: Vec<TokenState> = test_tasks.iter().map(|t| TokenState::new(t.prompt().clone())).collect();
    let prompts = PaddedTokens.encode(&states, &device).unwrap();
    let actor = burn::module::Module::valid(updater.actor());
    let generated = generate(&actor, &prompts, &GenerationConfig::new(4)).unwrap();
    let (mut hits, mut total) = (0, 0);
    for (task, out) in test_tasks.iter().zip(&generated.tokens) {
        for (i, &t) in task.target().iter().enumerate() {
            total += 1;
            if out.get(i) == Some(&t) { hits += 1; }
        }
    }
    eprintln!("steps {steps} in {secs:.1}s ({:.0}/s); last-200 mean return {last:.2}; held-out per-token {:.3}", steps as f64 / secs, hits as f64 / total as f64);
}
