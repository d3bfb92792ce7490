//! Value methods for a language model: learn Q and V heads **offline** from a pretrained
//! model's own scored samples (ILQL), decode with value guidance, and compare with
//! KL-regularised PPO from the same reference.
//!
//! 1. **Pretrain** `pi_ref` for one epoch: deliberately imperfect.
//! 2. **Sample and score** completions of the training prompts from `pi_ref`
//!    (`lm::ScoredCompletions`, per-token rewards of the task), saved as JSON lines.
//! 3. **ILQL** (`algo::ilql::Ilql`): twin Q heads with Polyak targets and a V head by expectile
//!    regression, on one GRU token model (both Q heads and the V head on its trunk), from the
//!    dataset alone.
//! 4. **Value-guided decoding** (`lm::ValueGuided`): `log pi_ref + beta (min Q' - V)` on held-out
//!    prompts, greedy and sampled, at several `beta`, with the exact KL from `pi_ref`.
//! 5. **KL-regularised PPO** from `pi_ref` (`algo::actor_critic::KlPenalty` + `ActorCritic`),
//!    for comparison: online, with as many new samples as it needs.
//!
//! ```text
//! cargo run --release --example text_value_guided -- [--task copy|reverse] [--seed 0]
//!     [--samples 4096] [--steps 1500] [--ppo-updates 200] [--kl-beta 0.05]
//!     [--dataset text_value_guided.jsonl] [--device ndarray|flex|tch-cpu|tch-cuda:0] [--quiet]
//! ```

#[path = "common/text_task.rs"]
mod text_task;
#[path = "common/token_curve.rs"]
mod token_curve;

use burn::module::Module;
use burn::tensor::Device;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, AdvantageEstimator, KlPenalty, KlPenaltyConfig, PpoConfig,
    train_on_policy,
};
use valuefn::algo::ilql::{Ilql, IlqlConfig};
use valuefn::algo::{LearningRateSchedule, OptimizerConfig, RunConfig};
use valuefn::encode::ObservationEncoder;
use valuefn::encode::PaddedTokens;
use valuefn::lm::{
    GruBody, GruBodyConfig, PretrainConfig, Sampling, ScoredCompletions, TaskEvaluation,
    TokenCollector, TokenDecoder, TokenModel, TokenPositions, ValueGuided, evaluate_decoder,
    pretrain,
};
use valuefn::policy::PolicyAndValue;
use valuefn::policy::{LogitsPolicy, kl_divergence};
use valuefn::replay::Replay;
use valuefn::tensor_ops::to_vec_f32;
use valuefn::text::Tokenizer;

use text_task::{Task, Text};
use token_curve::TokenCurve;

/// Offline Q and V heads (ILQL) guide a pretrained model's decoding; KL-regularised PPO beside.
#[derive(Parser, Debug)]
struct Args {
    /// The task: repeat the prompt, or write it backwards.
    #[arg(long, value_enum, default_value = "copy")]
    task: Task,
    /// Seed of the task split, the models and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Completions sampled from `pi_ref` for the offline dataset.
    #[arg(long, default_value_t = 4096)]
    samples: usize,
    /// ILQL gradient steps (minibatches of 128 tokens).
    #[arg(long, default_value_t = 1500)]
    steps: usize,
    /// KL-regularised PPO updates (each on 64 new episodes); 0 leaves PPO out.
    #[arg(long, default_value_t = 200)]
    ppo_updates: usize,
    /// The KL coefficient of PPO's per-token penalty.
    #[arg(long, default_value_t = 0.05)]
    kl_beta: f64,
    /// Where to write the scored completions (JSON lines).
    #[arg(long, default_value = "text_value_guided.jsonl")]
    dataset: String,
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

/// The guidance strengths of the table (0 is `pi_ref`'s own decoding).
const BETAS: [f64; 6] = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0];
/// The guidance strength whose completions are shown beside `pi_ref`'s.
const SHOWN_BETA: f64 = 2.0;
/// Width of every GRU.
const HIDDEN: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = valuefn::device::parse_device(&args.device)?;
    let train = device.clone().autodiff();
    let task = Text::new(args.task, args.seed)?;
    let vocab = task.vocabulary.len();
    let model = |offset: u64| -> valuefn::Result<TokenModel<GruBody>> {
        let seed = args.seed + offset;
        let body = GruBodyConfig::new(vocab)
            .with_hidden(HIDDEN)
            .with_seed(seed)
            .init(&train)?;
        Ok(TokenModel::new(body, seed, &train))
    };
    println!(
        "{:?}: {} training and {} held-out prompts, GRU {HIDDEN} on {}, seed {}",
        args.task,
        task.train_tasks.len(),
        task.held_out_tasks.len(),
        args.device,
        args.seed
    );

    // 1. pi_ref: one teacher-forced epoch.
    let (pretrained, _) = pretrain(
        model(0)?,
        &task.train_tasks,
        &[],
        &PretrainConfig::new().with_epochs(1).with_seed(args.seed),
    )?;

    // 2. Its own samples, scored by the task's reward, through a JSON-lines file.
    let reference = pretrained.valid();
    let sampled =
        ScoredCompletions::sample(&reference, &task.train, args.samples, args.seed, &device)?;
    sampled.save(&args.dataset)?;
    let data = ScoredCompletions::load(&args.dataset)?;
    println!(
        "dataset: {} completions of pi_ref ({} tokens), mean reward {:.3} per completion, \
         written to {}",
        data.len(),
        data.items()
            .iter()
            .map(|c| c.completion().len())
            .sum::<usize>(),
        data.mean_reward(),
        args.dataset
    );

    // 3. ILQL from the dataset alone.
    let mut replay = data.replay(1.0)?;
    let config = IlqlConfig::new()
        .with_expectile(0.8)
        .with_cql_weight(0.1)
        .with_target_rate(0.01)
        .with_learning_rate(LearningRateSchedule::Constant { rate: 1e-3 });
    // One model: twin Q heads and a V head on one trunk, target copies of the heads.
    let mut ilql = Ilql::new(config, model(1)?)?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let bar = progress(args.quiet, args.steps, "ILQL steps")?;
    let start = std::time::Instant::now();
    let mut last = None;
    for _ in 0..args.steps {
        let stats = ilql.update(&replay.sample(128, &device, &mut rng)?.batch)?;
        bar.set_message(format!(
            "Q loss {:.3}, V loss {:.4}",
            stats.q_loss, stats.value_loss
        ));
        last = Some(stats);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(stats) = last {
        println!(
            "ILQL: {} steps in {:.1} s; last Q loss {:.4} (CQL {:.3}), V loss {:.4}, mean Q {:.3}, \
             mean V {:.3}",
            args.steps,
            start.elapsed().as_secs_f64(),
            stats.q_loss,
            stats.cql_loss,
            stats.value_loss,
            stats.mean_q,
            stats.mean_value
        );
    }

    // 4. Decoding the held-out prompts.
    let guided = ValueGuided::new(
        &reference,
        &ilql.target_models(),
        &ilql.model().valid(),
        0.0,
    )?;
    println!(
        "\nheld-out prompts ({}): reward per target token, greedy and sampled (temperature 1), \
         and the exact KL(pi || pi_ref) per token on the sampled completions",
        task.held_out_tasks.len()
    );
    println!("| decoding | greedy | sampled | KL (nats/token) |");
    println!("|---|---|---|---|");
    let mut completions = Vec::new();
    for beta in BETAS {
        let decoder = guided.with_beta(beta)?;
        let name = if beta == 0.0 {
            "pi_ref".to_string()
        } else {
            format!("guided, beta {beta}")
        };
        let greedy = report(&name, &decoder, &reference, &task, args.seed, &device)?;
        if beta == 0.0 || beta == SHOWN_BETA {
            completions.push((name, greedy));
        }
    }
    println!("\nsome held-out prompts, greedy:");
    for (i, held_out) in task.held_out_tasks.iter().take(6).enumerate() {
        let episode = &completions[0].1.episodes[i];
        let prompt = task
            .tokenizer
            .decode(&episode.tokens[1..episode.prompt_len])?;
        let shown: Vec<String> = completions
            .iter()
            .map(|(name, eval)| format!("{name} {:?}", task.text(eval.episodes[i].completion())))
            .collect();
        println!(
            "  {prompt:<6} target {:<7} {}",
            format!("{:?}", task.text(held_out.target())),
            shown.join(", ")
        );
    }

    // 5. KL-regularised PPO from pi_ref, for comparison.
    if args.ppo_updates > 0 {
        // A copy with its own autodiff leaves (a plain clone would share the pretrained ones).
        let actor = pretrained.fork(&train);
        let adam = OptimizerConfig::Adam { epsilon: 1e-5 };
        let ppo_config = ActorCriticConfig::new()
            .with_gamma(1.0)
            .with_advantage(AdvantageEstimator::Gae { lambda: 0.95 })
            .with_entropy_coef(0.0)
            .with_actor_optimizer(adam)
            .with_critic_optimizer(adam)
            .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 1e-3 })
            .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
            .with_seed(args.seed)
            .with_ppo(Some(
                PpoConfig::new()
                    .with_epochs(4)
                    .with_minibatch_size(128)
                    .with_clip_range_value(Some(0.2)),
            ));
        let mut ppo = ActorCritic::new(ppo_config, PolicyAndValue::new(actor, model(4)?))?;
        let penalty = KlPenalty::new(KlPenaltyConfig::new().with_beta(args.kl_beta))?;
        let mut rollouts = TokenCollector::new(&task.train, EPISODES, args.seed)?;
        // The library's on-policy loop, a step per episode; the hooks penalise the rewards by
        // the KL to pi_ref and count the tokens.
        let run =
            RunConfig::new((args.ppo_updates * EPISODES) as u64).with_progress_bar(!args.quiet);
        let mut hooks = (penalty.against(&reference), TokenCurve::default());
        let start = std::time::Instant::now();
        train_on_policy(&run, &mut ppo, &mut rollouts, None, &mut hooks, &device)?;
        let tokens = hooks.1.tokens;
        report(
            &format!(
                "PPO + KL (beta {}), {} updates",
                args.kl_beta, args.ppo_updates
            ),
            &ppo.actor().valid(),
            &reference,
            &task,
            args.seed,
            &device,
        )?;
        println!(
            "\nPPO sampled {tokens} new tokens in {:.1} s; ILQL learned from the {} tokens of \
             the dataset only.",
            start.elapsed().as_secs_f64(),
            replay.len()
        );
    }
    Ok(())
}

fn progress(
    quiet: bool,
    len: usize,
    what: &str,
) -> Result<ProgressBar, Box<dyn std::error::Error>> {
    Ok(if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len as u64).with_style(ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {what} {{msg}} [{{elapsed}} < {{eta}}]"
        ))?)
    })
}

/// Episodes of one PPO rollout.
const EPISODES: usize = 64;

/// One row of the table: greedy and sampled reward per target token on the held-out prompts,
/// and the exact KL from `pi_ref` at the states of the sampled completions. Returns the greedy
/// evaluation.
fn report<D>(
    name: &str,
    decoder: &D,
    reference: &TokenModel<GruBody>,
    task: &Text,
    seed: u64,
    device: &Device,
) -> valuefn::Result<TaskEvaluation>
where
    D: TokenDecoder + LogitsPolicy<Input = TokenPositions>,
{
    let greedy = evaluate_decoder(decoder, &task.held_out, Sampling::Greedy, seed, device)?;
    let sampling = Sampling::Sample {
        temperature: 1.0,
        top_k: None,
        top_p: None,
    };
    let sampled = evaluate_decoder(decoder, &task.held_out, sampling, seed, device)?;
    // Every generated token's state: a position in its episode's final sequence.
    let sequences: Vec<_> = sampled.episodes.iter().map(|e| e.state()).collect();
    let rows = sampled
        .episodes
        .iter()
        .enumerate()
        .flat_map(|(i, e)| (0..e.completion().len()).map(move |t| (i, e.prompt_len - 1 + t)))
        .collect();
    let states = TokenPositions::new(PaddedTokens.encode(&sequences, device)?, rows)?;
    let kl = to_vec_f32(kl_divergence(
        decoder.logits(states.clone())?,
        reference.logits(states)?,
    )?);
    let mean_kl = kl.iter().map(|&k| f64::from(k)).sum::<f64>() / kl.len().max(1) as f64;
    println!(
        "| {name} | {:.3} | {:.3} | {mean_kl:.4} |",
        greedy.reward_per_target_token, sampled.reward_per_target_token
    );
    Ok(greedy)
}
