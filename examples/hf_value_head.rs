//! A pretrained Hugging Face model as the agent: value heads on its trunk, then KL-regularised
//! PPO, on prompts from a JSON-lines file.
//!
//! 1. **Load** a local folder (`config.json`, safetensors weights, `tokenizer.json`): GPT-2,
//!    Llama, SmolLM2, TinyLlama, Qwen2 (`lm::hf::PretrainedLm`, `text::HfTokenizer`). The
//!    default is the tiny random GPT-2 the tests use, so the example runs with no download.
//! 2. **Supervised fine-tuning** (optional, `--sft-epochs`): teacher-forced cross-entropy on
//!    the training targets, the first stage of RLHF, deliberately short. The bundled model is
//!    random, so it cannot complete a prompt before this; a downloaded model can
//!    (`--sft-epochs 0`).
//! 3. **Heads on the frozen trunk.** The policy is the model's own LM head; a V head (small
//!    init) and a Q head (started at the LM's logits) are added. With the trunk frozen, PPO
//!    trains the LM head and the V head on the prompts (reward: 1 per target token produced
//!    at its position), and deep Q-learning trains the Q head from a replay of the same
//!    episodes.
//! 4. **PPO with a KL penalty** to the model it starts from (the loaded one, or its supervised
//!    fine-tune), the whole model trainable.
//! 5. For held-out prompts, print the greedy completion and, per token, `V(s)` and the three
//!    most probable next tokens with `pi` and `Q`; write the learning curve.
//!
//! ```text
//! cargo run --release --example hf_value_head -- [--model DIR] [--prompts FILE.jsonl]
//!     [--sft-epochs 3] [--frozen-steps 60] [--steps 120] [--kl-beta 0.05] [--learning-rate 3e-4] [--seed 0]
//!     [--device ndarray|flex|tch-cpu|tch-cuda:0] [--plot hf_value_head.svg] [--quiet]
//! ```
//!
//! On a downloaded model (see docs/pretrained.md): `--model ~/models/gpt2` or
//! `--model ~/models/SmolLM2-135M`.

#[path = "common/curves.rs"]
mod curves;
#[path = "common/token_curve.rs"]
mod token_curve;

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::Device;
use clap::Parser;
use plotters::style::colors::{BLUE, RED};
use token_curve::{TokenCurve, per_token};
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, ActorCriticStats, AdvantageEstimator, KlPenalty,
    KlPenaltyConfig, PpoConfig, RolloutHooks, UpdateRecord, train_on_policy,
    train_on_policy_resumable,
};
use valuefn::algo::dqn::{Bootstrap, Dqn, DqnConfig, TargetUpdate};
use valuefn::algo::{LearningRateSchedule, OptimizerConfig, ResumeConfig, RunConfig, TrainRun};
use valuefn::encode::{ObservationEncoder, PaddedTokens};
use valuefn::env::Snapshot;
use valuefn::env::text::{Stop, TextEnvConfig, TextGenerationEnv, TokenMatch};
use valuefn::lm::hf::{HfBody, HfConfig, PretrainedLm, QHeadInit};
use valuefn::lm::{
    LmBody, PretrainConfig, QFromReplay, Sampling, TokenCollector, TokenEpisode, TokenModel,
    TokenPositions, TokenReplay, TokenRollout, evaluate_tasks, pretrain,
};
use valuefn::policy::Policy;
use valuefn::tensor_ops::to_vec_f32;
use valuefn::text::{Corpus, HfTokenizer, TokenTask};
use valuefn::value::{QFunction, VFunction};

/// Value heads and KL-regularised PPO on a pretrained Hugging Face model.
#[derive(Parser, Debug)]
struct Args {
    /// A local Hugging Face folder (config.json, model.safetensors, tokenizer.json).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hf/gpt2"))]
    model: PathBuf,
    /// Prompts and targets, one `{"prompt": ..., "target": ...}` per line.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/hf_prompts.jsonl"))]
    prompts: PathBuf,
    /// Epochs of supervised fine-tuning on the training targets before RL (0: none).
    #[arg(long, default_value_t = 3)]
    sft_epochs: usize,
    /// PPO updates with the trunk frozen (heads only).
    #[arg(long, default_value_t = 60)]
    frozen_steps: usize,
    /// PPO updates of the whole model, with the KL penalty.
    #[arg(long, default_value_t = 120)]
    steps: usize,
    /// The KL penalty's coefficient (KL to the loaded model, per token).
    #[arg(long, default_value_t = 0.05)]
    kl_beta: f64,
    /// The policy's learning rate (the V head's is 10 times higher).
    #[arg(long, default_value_t = 3e-4)]
    learning_rate: f64,
    /// Seed of the split, the heads and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// Where to write the learning curve (SVG).
    #[arg(long, default_value = "hf_value_head.svg")]
    plot: String,
    /// No per-update lines.
    #[arg(long)]
    quiet: bool,
    /// Save the fine-tuning stage (PPO + KL) into this folder every 10 updates and continue
    /// the run saved there, if any: a run killed midway picks up where it was saved, bit for
    /// bit. The stages before it run again (they are seeded).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
}

/// Episodes per PPO rollout.
const EPISODES: usize = 32;
/// Deep Q-learning minibatches (of 64 tokens) per PPO update.
const DQN_UPDATES: usize = 4;

type Model = TokenModel<HfBody>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = valuefn::device::parse_device(&args.device)?;
    let train_device = device.clone().autodiff();

    // 1. The folder: tokenizer, prompts, model.
    let tokenizer = HfTokenizer::from_folder(&args.model)?;
    let corpus = Corpus::load_jsonl(&args.prompts)?;
    let (train_pairs, held_out_pairs) = corpus.split(0.25, args.seed)?;
    let tasks = |corpus: &Corpus| -> valuefn::Result<Vec<TokenTask>> {
        corpus.pairs().iter().map(|p| tokenizer.task(p)).collect()
    };
    let (train_tasks, held_out_tasks) = (tasks(&train_pairs)?, tasks(&held_out_pairs)?);
    let longest = train_tasks
        .iter()
        .chain(&held_out_tasks)
        .map(|t| t.target().len())
        .max()
        .unwrap_or(1);
    let config = TextEnvConfig::new()
        .with_max_new_tokens(longest)
        .with_stop(Stop::TargetLength);
    let train = TextGenerationEnv::new(train_tasks, &tokenizer, TokenMatch, &config)?;
    let held_out = TextGenerationEnv::new(held_out_tasks, &tokenizer, TokenMatch, &config)?;
    let lm = PretrainedLm::load(&args.model, &train_device)?;
    let family = match lm.config() {
        HfConfig::Gpt2(_) => "GPT-2",
        HfConfig::Llama(c) => c.model_type.as_str(),
        HfConfig::Bert(_) => "BERT",
    };
    println!(
        "{} ({family}): vocabulary {}, width {}, {} training and {} held-out prompts, \
         targets of up to {longest} tokens, on {}",
        args.model.display(),
        lm.body().vocab_size(),
        lm.body().hidden_size(),
        train.tasks().len(),
        held_out.tasks().len(),
        args.device,
    );
    let mut model = lm.token_model(QHeadInit::LmLogits, args.seed);
    let score = |model: &Model, env: &TextGenerationEnv| -> valuefn::Result<f64> {
        Ok(evaluate_tasks(model, env, Sampling::Greedy, 0, &device)?.reward_per_target_token)
    };
    let start = (score(&model, &train)?, score(&model, &held_out)?);
    println!(
        "loaded model, greedy reward per target token: training prompts {:.3}, held-out {:.3}",
        start.0, start.1
    );
    if args.sft_epochs > 0 {
        let clock = std::time::Instant::now();
        let sft = PretrainConfig::new()
            .with_epochs(args.sft_epochs)
            .with_batch_size(8)
            .with_learning_rate(1e-3)
            .with_seed(args.seed);
        model = pretrain(model, train.tasks(), held_out.tasks(), &sft)?.0;
        println!(
            "supervised fine-tuning ({} epochs, {:.1} s): training {:.3}, held-out {:.3}",
            args.sft_epochs,
            clock.elapsed().as_secs_f64(),
            score(&model, &train)?,
            score(&model, &held_out)?
        );
    }
    // The start of RL, for the KL penalty: an inference copy, never trained.
    let reference = model.valid();

    // 2. Heads on the frozen trunk: PPO trains the LM head and the V head; DQN the Q head.
    let rate = |rate: f64| LearningRateSchedule::Constant { rate };
    let adam = OptimizerConfig::Adam { epsilon: 1e-5 };
    let ppo_config = |value_coef: f64| {
        ActorCriticConfig::new()
            .with_gamma(1.0)
            .with_advantage(AdvantageEstimator::Gae { lambda: 0.95 })
            .with_value_coef(value_coef)
            .with_entropy_coef(0.0)
            .with_actor_optimizer(adam)
            .with_critic_optimizer(adam)
            .with_actor_learning_rate(rate(args.learning_rate))
            .with_critic_learning_rate(rate(10.0 * args.learning_rate))
            .with_seed(args.seed)
            .with_ppo(Some(
                PpoConfig::new().with_epochs(4).with_minibatch_size(64),
            ))
    };
    let mut ppo = ActorCritic::new(ppo_config(0.5), model.clone().with_frozen_body())?;
    let dqn_config = DqnConfig::new()
        .with_gamma(1.0)
        .with_bootstrap(Bootstrap::Double)
        .with_target_update(TargetUpdate::Polyak { tau: 0.05 })
        .with_learning_rate(rate(10.0 * args.learning_rate));
    let dqn = Dqn::new(dqn_config, model.with_frozen_body())?;
    let replay = TokenReplay::new(10_000, 1.0)?;
    let mut q_learning = QFromReplay::new(dqn, replay, 64, DQN_UPDATES, args.seed)?;
    let mut rollouts = TokenCollector::new(&train, EPISODES, args.seed)?;
    // The library's on-policy loop (a step is one episode); hooks train the Q head, keep the
    // curve and print every tenth update.
    let run = |updates: usize| {
        RunConfig::new((updates * EPISODES).max(1) as u64).with_progress_bar(false)
    };
    let clock = std::time::Instant::now();
    let mut hooks = (
        EveryTenth {
            inner: &mut q_learning,
            stage: "frozen trunk",
            what: |_, stats| format!("value loss {:.4}", stats.value_loss),
            quiet: args.quiet,
        },
        TokenCurve::default(),
    );
    if args.frozen_steps > 0 {
        train_on_policy(
            &run(args.frozen_steps),
            &mut ppo,
            &mut rollouts,
            None,
            &mut hooks,
            &device,
        )?;
    }
    let (_, frozen_curve) = hooks;
    let frozen = (score(ppo.model(), &train)?, score(ppo.model(), &held_out)?);
    println!(
        "heads on the frozen trunk ({} updates, {} tokens, {:.1} s): training {:.3}, \
         held-out {:.3}",
        args.frozen_steps,
        frozen_curve.tokens,
        clock.elapsed().as_secs_f64(),
        frozen.0,
        frozen.1
    );

    // 3. The whole model, PPO with a KL penalty to the loaded model.
    let mut ppo = ActorCritic::new(ppo_config(0.1), ppo.model().clone().with_trainable_body())?;
    let penalty = KlPenalty::new(KlPenaltyConfig::new().with_beta(args.kl_beta))?;
    let clock = std::time::Instant::now();
    let mut hooks = (
        EveryTenth {
            inner: penalty.against(&reference),
            stage: "fine-tuning",
            what: |penalty, _| format!("KL {:.4}", penalty.last().map_or(0.0, |kl| kl.mean_kl)),
            quiet: args.quiet,
        },
        TokenCurve {
            first: args.frozen_steps,
            ..TokenCurve::default()
        },
    );
    match (&args.checkpoint, args.steps) {
        (_, 0) => {}
        (None, _) => {
            train_on_policy(
                &run(args.steps),
                &mut ppo,
                &mut rollouts,
                None,
                &mut hooks,
                &device,
            )?;
        }
        (Some(dir), _) => {
            let resume =
                ResumeConfig::new(dir.display().to_string()).with_every(10 * EPISODES as u64);
            let report = train_on_policy_resumable(
                &run(args.steps),
                &resume,
                &mut ppo,
                &mut rollouts,
                None,
                &mut hooks,
                &device,
            )?;
            println!(
                "fine-tuning checkpoint: {} ({} updates)",
                dir.display(),
                report.updates
            );
        }
    }
    let (kl, tuned_curve) = hooks;
    // The last rollout's KL (none when a finished run was only read back from its checkpoint).
    let kl = kl.inner.last().map_or_else(
        || "not measured in this call".to_string(),
        |stats| format!("{:.4} per token", stats.mean_kl),
    );
    let tuned = (score(ppo.model(), &train)?, score(ppo.model(), &held_out)?);
    println!(
        "PPO + KL ({} updates, {} tokens, {:.1} s): training {:.3}, held-out {:.3}, \
         KL to the loaded model {kl}",
        args.steps,
        tuned_curve.tokens,
        clock.elapsed().as_secs_f64(),
        tuned.0,
        tuned.1
    );
    let curve: Vec<(usize, f64)> = frozen_curve
        .points
        .into_iter()
        .chain(tuned_curve.points)
        .collect();

    // 4. Held-out completions, token by token.
    let policy = ppo.model().valid();
    let q_model = q_learning.dqn().online().valid();
    let evaluation = evaluate_tasks(&policy, &held_out, Sampling::Greedy, 0, &device)?;
    for (i, episode) in evaluation.episodes.iter().enumerate().take(4) {
        let pair = &held_out_pairs.pairs()[i];
        println!(
            "\n{:?} -> {:?} (target {:?}), reward {}",
            pair.prompt,
            tokenizer.decode(episode.completion(), false)?,
            pair.target,
            episode.total_reward()
        );
        show_steps(episode, &tokenizer, [&policy, &q_model], &device)?;
    }
    plot(
        &args.plot,
        &curve,
        args.frozen_steps,
        args.frozen_steps + args.steps,
    )?;
    println!("\nlearning curve: {}", args.plot);
    Ok(())
}

/// The training rollouts' source.
type Collector = TokenCollector<TokenMatch>;

/// An inner hook, and every tenth update a line: the stage, the update, the rollout's reward
/// per token and `what` the inner hook or the update's statistics say.
struct EveryTenth<H> {
    inner: H,
    stage: &'static str,
    what: fn(&H, &ActorCriticStats) -> String,
    quiet: bool,
}

/// What a resumable run saves of it: the inner hook's state.
impl<H: Snapshot> Snapshot for EveryTenth<H> {
    type Snapshot = H::Snapshot;

    fn snapshot(&self) -> H::Snapshot {
        self.inner.snapshot()
    }

    fn restore(&mut self, snapshot: H::Snapshot) -> valuefn::Result<()> {
        self.inner.restore(snapshot)
    }
}

impl<H: RolloutHooks<Model, Collector>> RolloutHooks<Model, Collector> for EveryTenth<H> {
    fn before_update(
        &mut self,
        rollout: &mut TokenRollout,
        updater: &ActorCritic<Model>,
        source: &Collector,
        device: &Device,
    ) -> valuefn::Result<()> {
        self.inner.before_update(rollout, updater, source, device)
    }

    fn after_update(
        &mut self,
        rollout: &TokenRollout,
        stats: &ActorCriticStats,
        updater: &ActorCritic<Model>,
        source: &Collector,
        run: &TrainRun<Model, UpdateRecord>,
        device: &Device,
    ) -> valuefn::Result<bool> {
        let stop = self
            .inner
            .after_update(rollout, stats, updater, source, run, device)?;
        if !self.quiet && run.updates().is_multiple_of(10) {
            run.println(format!(
                "  {}, update {}: reward/token {:.3}, {}",
                self.stage,
                run.updates(),
                per_token(&rollout.episodes),
                (self.what)(&self.inner, stats)
            ));
        }
        Ok(stop)
    }
}

/// Per generated token: the policy model's `V(s)` and the three most probable next tokens with
/// `pi` and the Q head's `Q(s, a)`.
fn show_steps(
    episode: &TokenEpisode,
    tokenizer: &HfTokenizer,
    [policy, q_model]: [&Model; 2],
    device: &Device,
) -> valuefn::Result<()> {
    let sequence = PaddedTokens.encode(&[episode.state()], device)?;
    let rows = (0..episode.completion().len())
        .map(|t| (0, episode.prompt_len - 1 + t))
        .collect();
    let states = TokenPositions::new(sequence, rows)?;
    let vocab = policy.vocab_size();
    let pi = to_vec_f32(policy.action_probabilities(states.clone())?);
    let q = to_vec_f32(q_model.q_values(states.clone())?);
    let v = to_vec_f32(policy.values(states)?);
    for (t, &token) in episode.completion().iter().enumerate() {
        let row = t * vocab..(t + 1) * vocab;
        let (pi, q) = (&pi[row.clone()], &q[row]);
        let mut top: Vec<usize> = (0..vocab).collect();
        top.sort_by(|&a, &b| pi[b].total_cmp(&pi[a]));
        let shown = top[..3]
            .iter()
            .map(|&a| {
                Ok(format!(
                    "{:?} pi {:.2} Q {:5.2}",
                    tokenizer.decode(&[a], false)?,
                    pi[a],
                    q[a]
                ))
            })
            .collect::<valuefn::Result<Vec<String>>>()?;
        println!(
            "  step {t}: V {:5.2} | chose {:?} | {}",
            v[t],
            tokenizer.decode(&[token], false)?,
            shown.join(" | ")
        );
    }
    Ok(())
}

/// The training rollouts' reward per token over both stages.
fn plot(
    path: &str,
    curve: &[(usize, f64)],
    frozen_steps: usize,
    updates: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let (frozen, tuned): (Vec<_>, Vec<_>) = curve.iter().partition(|&&(u, _)| u <= frozen_steps);
    let points = |c: &[(usize, f64)]| c.iter().map(|&(u, r)| (u as f64, r)).collect();
    curves::plot_curves(
        path,
        &curves::Axes {
            title: "Value heads, then PPO + KL, on a pretrained model",
            x: ("PPO updates", updates as f64),
            y: ("reward per token (training rollouts)", 0.0..1.05),
        },
        &[
            curves::Curve {
                label: "heads on the frozen trunk",
                points: points(&frozen),
                color: BLUE,
            },
            curves::Curve {
                label: "whole model, KL penalty",
                points: points(&tuned),
                color: RED,
            },
        ],
    )
}
