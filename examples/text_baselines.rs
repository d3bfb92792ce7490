//! Critic or no critic: the advantage estimators of language-model RL measured against the
//! exact advantage, then the learning curves they give.
//!
//! The reverse task over prompts of 2 or 3 characters is small enough to enumerate (a text MDP
//! of 36,928 prefixes), so for a fixed policy the exact `A^pi(s, a) = Q^pi - V^pi` of every
//! token is known.
//!
//! 1. **Pretrain** a GRU token model briefly (teacher-forced cross-entropy): the common start.
//! 2. **Measure**: with that policy fixed, sample batches of `groups` prompts x `group-size`
//!    completions and give every sampled token the advantage of each estimator: GAE from a
//!    learned V critic (trained first on the fixed policy's rollouts), GRPO, Dr. GRPO, RLOO,
//!    ReMax, REINFORCE++, and VinePPO's Monte-Carlo values. Print each one's bias, error
//!    spread, correlation and scale against the exact `A^pi`, and its cost.
//! 3. **Learn**: from the same start, PPO with a V head, GRPO, Dr. GRPO, RLOO and VinePPO
//!    (each with its recipe's loss aggregation), `seeds` seeds each; held-out greedy reward per
//!    target token against tokens generated and wall time, written as two SVG charts.
//!
//! ```text
//! cargo run --release --example text_baselines -- [--updates 150] [--seeds 3] [--groups 16]
//!     [--group-size 4] [--batches 50] [--seed 0] [--device ndarray|flex|tch-cpu|tch-cuda:0]
//!     [--out DIR] [--quiet]
//! ```

#[path = "common/curves.rs"]
mod curves;

use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use clap::Parser;
use plotters::style::RGBColor;
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, ActorCriticStats, AdvantageEstimator, LossAggregation,
    PpoConfig, RolloutBatch, RolloutHooks, UpdateRecord, train_on_policy,
};
use valuefn::algo::{LearningRateSchedule, OptimizerConfig, RunConfig, TrainRun};
use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch};
use valuefn::lm::{
    AdvantageErrors, ExactAdvantages, GruBody, GruBodyConfig, PretrainConfig, Sampling,
    TokenCollector, TokenModel, TokenRollout, evaluate_tasks, monte_carlo_values, pretrain,
};
use valuefn::policy::PolicyAndValue;
use valuefn::returns::{GroupBaseline, Groups, gae, group_advantages, normalized_returns};
use valuefn::tensor_ops::to_vec_f32;
use valuefn::text::{CharTokenizer, SequenceOp, SequenceTask, TaskGenerator, TokenTask, Tokenizer};
use valuefn::value::VFunction;

/// Advantage estimators measured against the exact advantage, then trained with.
#[derive(Parser, Debug)]
struct Args {
    /// Updates per learning curve.
    #[arg(long, default_value_t = 150)]
    updates: usize,
    /// Seeds per method.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Prompts per batch.
    #[arg(long, default_value_t = 16)]
    groups: usize,
    /// Completions per prompt.
    #[arg(long, default_value_t = 4)]
    group_size: usize,
    /// Batches sampled for the measurement.
    #[arg(long, default_value_t = 50)]
    batches: usize,
    /// Seed of the task split, the start model and the measurement.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// Folder for the two SVG charts.
    #[arg(long, default_value = ".")]
    out: String,
    /// No per-update lines.
    #[arg(long)]
    quiet: bool,
}

/// Continuations per state for VinePPO's Monte-Carlo values.
const MC_SAMPLES: usize = 4;
/// Evaluate the learning curves every this many updates.
const EVAL_EVERY: usize = 5;

type Model = TokenModel<GruBody>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = valuefn::device::parse_device(&args.device)?;
    let train_device = device.clone().autodiff();
    let (train, held_out, train_tasks) = reverse_task(args.seed)?;
    println!(
        "reverse: {} training and {} held-out prompts of 2-3 characters over `abcd`; batches of \
         {} prompts x {} completions; a GRU of 64 units on {}",
        train.tasks().len(),
        held_out.tasks().len(),
        args.groups,
        args.group_size,
        args.device
    );

    // 1. The common start: one teacher-forced epoch.
    let body = GruBodyConfig::new(train.vocab_size())
        .with_hidden(64)
        .with_seed(args.seed);
    let model = TokenModel::new(body.init(&train_device)?, args.seed, &train_device);
    let (start, _) = pretrain(
        model,
        &train_tasks,
        &[],
        &PretrainConfig::new().with_epochs(1).with_seed(args.seed),
    )?;
    let score = |model: &Model| -> valuefn::Result<f64> {
        Ok(evaluate_tasks(model, &held_out, Sampling::Greedy, 0, &device)?.reward_per_target_token)
    };
    println!(
        "start (1 epoch of pretraining): held-out greedy reward per target token {:.3}",
        score(&start)?
    );

    // 2. The measurement.
    measure(&args, &start, &train, &device)?;

    // 3. The learning curves.
    learn(&args, &start, &train, &score, &device)?;
    Ok(())
}

/// Reverse over `abcd`, prompts of 2 or 3 characters then `=`, split by prompt.
fn reverse_task(
    seed: u64,
) -> valuefn::Result<(TextGenerationEnv, TextGenerationEnv, Vec<TokenTask>)> {
    let generator = SequenceTask::new(SequenceOp::Reverse, "abcd", 2, 3)?.with_separator('=')?;
    let corpus = generator
        .corpus(2000, &mut StdRng::seed_from_u64(seed))?
        .distinct_prompts();
    let (train, held_out) = corpus.split(0.2, seed)?;
    let tokenizer = CharTokenizer::fit(["abcd="])?;
    let train_tasks = TokenTask::encode_all(&train, &tokenizer)?;
    let held_out_tasks = TokenTask::encode_all(&held_out, &tokenizer)?;
    let config = TextEnvConfig::new().with_max_new_tokens(3);
    let vocabulary = tokenizer.vocabulary();
    Ok((
        TextGenerationEnv::new(train_tasks.clone(), vocabulary, TokenMatch, &config)?,
        TextGenerationEnv::new(held_out_tasks, vocabulary, TokenMatch, &config)?,
        train_tasks,
    ))
}

/// One estimator's per-token advantages on a batch, and what it cost beyond the batch.
struct Estimate {
    /// Time-major `[T * B]`, like the rollout.
    advantages: Vec<f32>,
    extra_tokens: usize,
}

/// The estimators of the measurement, in table order.
const MEASURED: [&str; 11] = [
    "GAE(1), V model",
    "GAE(0.95), V model",
    "GAE(1), V head",
    "Q critic: Q",
    "Q critic: Q - E_pi Q",
    "GRPO",
    "Dr. GRPO",
    "RLOO",
    "ReMax",
    "REINFORCE++",
    "VinePPO (MC, 4)",
];

fn measure(
    args: &Args,
    start: &Model,
    env: &TextGenerationEnv,
    device: &Device,
) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let text_mdp = TextMdp::enumerate(env, &TextMdpConfig::new())?;
    let policy = start.valid();
    let exact = ExactAdvantages::of_policy(&policy, &text_mdp, 1.0, device)?;
    println!(
        "\nmeasurement: the start policy's exact advantages on {} prefixes in {:.1} s",
        text_mdp.num_states(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let critics = Critics::fit(start, env, args, device)?;
    println!(
        "learned critics (a V model, a V head and a Q head on the policy's frozen trunk): \
         {CRITIC_UPDATES} updates each on the fixed policy's rollouts, {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // The greedy completion of each task, ReMax's reference (the policy is fixed).
    let greedy = evaluate_tasks(&policy, env, Sampling::Greedy, 0, device)?;

    let mut rollouts = TokenCollector::grouped(env, args.groups, args.group_size, args.seed + 1)?;
    let mut estimates = vec![Vec::new(); MEASURED.len()];
    let mut truth = Vec::new();
    let mut seconds = vec![0.0; MEASURED.len()];
    let mut extra = vec![0usize; MEASURED.len()];
    let mut sampled = 0;
    for batch in 0..args.batches {
        let rollout = rollouts.collect(&policy, device)?;
        sampled += rollout.tokens;
        for episode in &rollout.episodes {
            truth.extend(exact.episode_advantages(episode)?);
        }
        for (k, seconds) in seconds.iter_mut().enumerate() {
            let t = Instant::now();
            let estimate = estimator(
                k,
                &rollout,
                &rollouts,
                &policy,
                &critics,
                &greedy.episodes,
                batch,
                device,
            )?;
            *seconds += t.elapsed().as_secs_f64();
            extra[k] += estimate.extra_tokens;
            estimates[k].extend(per_episode(&rollout, &estimate.advantages));
        }
    }
    let batches = args.batches as f64;
    println!(
        "{} tokens sampled in {} batches ({:.0} per batch); per-token advantage against the exact A^pi:\n",
        sampled,
        args.batches,
        sampled as f64 / batches
    );
    println!(
        "| estimator | bias | error std | RMSE | correlation | scale | extra tokens / batch | ms / batch |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (k, name) in MEASURED.iter().enumerate() {
        let e = AdvantageErrors::between(&estimates[k], &truth)?;
        println!(
            "| {name} | {:+.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {:.1} |",
            e.bias,
            e.error_std,
            e.rmse,
            e.correlation,
            e.scale,
            extra[k] as f64 / batches,
            1e3 * seconds[k] / batches
        );
    }
    Ok(())
}

/// Estimator `k` of [`MEASURED`] on `rollout`.
#[allow(clippy::too_many_arguments)]
fn estimator(
    k: usize,
    rollout: &TokenRollout,
    rollouts: &TokenCollector<TokenMatch>,
    policy: &Model,
    critics: &Critics,
    greedy: &[valuefn::lm::TokenEpisode],
    batch: usize,
    device: &Device,
) -> valuefn::Result<Estimate> {
    let r = &rollout.batch.rollout;
    let plain = |advantages: burn::tensor::Tensor<2>| Estimate {
        advantages: to_vec_f32(advantages),
        extra_tokens: 0,
    };
    let critic_gae = |lambda: f64| -> valuefn::Result<Estimate> {
        let values = critics.model.values(rollout.batch.observations.clone())?;
        let next = critics
            .model
            .values(rollout.batch.next_observations.clone())?;
        let shape = r.shape();
        Ok(plain(
            gae(r, values.reshape(shape), next.reshape(shape), 1.0, lambda)?.advantages,
        ))
    };
    // The head critics' own estimates (their learners' `advantages`), without the collector's
    // scores: those are the start model's untrained V head.
    let unscored = RolloutBatch {
        scores: None,
        ..rollout.batch.clone()
    };
    Ok(match k {
        0 => critic_gae(1.0)?,
        1 => critic_gae(0.95)?,
        2 => plain(critics.v_head.advantages(&unscored)?.advantages),
        3 => plain(critics.q_plain.advantages(&unscored)?.advantages),
        4 => plain(critics.q_head.advantages(&unscored)?.advantages),
        5 => plain(group_advantages(r, GroupBaseline::Grpo { epsilon: 1e-4 }, 1.0)?.advantages),
        6 => plain(group_advantages(r, GroupBaseline::DrGrpo, 1.0)?.advantages),
        7 => plain(group_advantages(r, GroupBaseline::Rloo, 1.0)?.advantages),
        8 => {
            // The reference: each group's task completed greedily.
            let size = rollouts.group_size();
            let tasks = rollouts.tasks_played();
            let reference: Vec<f64> = (0..tasks.len() / size)
                .map(|g| greedy[tasks[g * size]].total_reward())
                .collect();
            let tokens = (0..tasks.len() / size)
                .map(|g| greedy[tasks[g * size]].rewards.len())
                .sum();
            let groups = Groups::contiguous(tasks.len() / size, size)?.with_reference(reference)?;
            let with_reference = r.clone().with_groups(groups)?;
            Estimate {
                extra_tokens: tokens,
                ..plain(group_advantages(&with_reference, GroupBaseline::ReMax, 1.0)?.advantages)
            }
        }
        9 => plain(normalized_returns(r, 1.0)?.advantages),
        _ => {
            let mc = monte_carlo_values(
                policy,
                rollouts,
                rollout,
                MC_SAMPLES,
                1.0,
                batch as u64,
                device,
            )?;
            // VinePPO: r + V̂(s') - V̂(s), both values Monte-Carlo.
            Estimate {
                extra_tokens: mc.tokens,
                ..plain(gae(r, &mc.values, &mc.next_values, 1.0, 0.0)?.advantages)
            }
        }
    })
}

/// Time-major advantages in episode order (episode by episode, token by token), as the exact
/// advantages are listed.
fn per_episode(rollout: &TokenRollout, advantages: &[f32]) -> Vec<f64> {
    let columns = rollout.episodes.len();
    rollout
        .episodes
        .iter()
        .enumerate()
        .flat_map(|(b, e)| {
            (0..e.completion().len()).map(move |t| f64::from(advantages[t * columns + b]))
        })
        .collect()
}

/// Updates each critic of the measurement takes on the fixed policy's rollouts.
const CRITIC_UPDATES: usize = 150;

/// The learned critics of the measurement, each fitted to the fixed start policy by the
/// actor-critic learner with the actor held still: plain SGD at the smallest normal `f32` rate
/// leaves every actor weight (and a shared trunk) bit-identical, while the critic regresses on
/// its targets (Adam at 3e-3): Monte-Carlo returns for the V critics, expected-SARSA targets
/// for the Q head.
struct Critics {
    /// A separate token model's V head (the two-model PPO of TRL), trunk and all trained.
    model: Model,
    /// A V head on the policy's own (frozen) trunk, GAE(1).
    v_head: ActorCritic<Model>,
    /// A Q head on the policy's own (frozen) trunk: `Q(s, a)` itself.
    q_plain: ActorCritic<Model>,
    /// The same Q head with the policy's baseline, `Q - E_pi Q`.
    q_head: ActorCritic<Model>,
}

impl Critics {
    fn fit(
        start: &Model,
        env: &TextGenerationEnv,
        args: &Args,
        device: &Device,
    ) -> valuefn::Result<Self> {
        let train_device = device.clone().autodiff();
        let config = |advantage| {
            ActorCriticConfig::new()
                .with_gamma(1.0)
                .with_advantage(advantage)
                .with_value_coef(1.0)
                .with_max_grad_norm(None)
                .with_actor_optimizer(OptimizerConfig::Sgd)
                .with_actor_learning_rate(LearningRateSchedule::Constant {
                    rate: f64::from(f32::MIN_POSITIVE),
                })
                .with_critic_optimizer(OptimizerConfig::ADAM)
                .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
        };
        let episodes = args.groups * args.group_size;
        let body = GruBodyConfig::new(env.vocab_size())
            .with_hidden(64)
            .with_seed(args.seed + 7);
        let separate = TokenModel::new(body.init(&train_device)?, args.seed + 7, &train_device);
        let mut model = ActorCritic::new(
            config(AdvantageEstimator::Gae { lambda: 1.0 }),
            PolicyAndValue::new(start.clone(), separate),
        )?;
        let mut v_head = ActorCritic::new(
            config(AdvantageEstimator::Gae { lambda: 1.0 }),
            start.clone(),
        )?;
        let mut q_head = ActorCritic::new(config(AdvantageEstimator::QAdvantage), start.clone())?;
        let mut rollouts = TokenCollector::new(env, episodes, args.seed + 2)?;
        for _ in 0..CRITIC_UPDATES {
            // All three read the same episodes of the fixed policy.
            let rollout = rollouts.collect(&start.valid(), device)?;
            let unscored = RolloutBatch {
                scores: None,
                ..rollout.batch
            };
            model.update(&unscored)?;
            v_head.update(&unscored)?;
            q_head.update(&unscored)?;
        }
        let q_model = q_head.model().clone();
        Ok(Self {
            model: model.critic().valid(),
            v_head,
            q_plain: ActorCritic::new(config(AdvantageEstimator::QValue), q_model)?,
            q_head,
        })
    }
}

/// A method of the learning curves.
#[derive(Clone, Copy)]
struct Method {
    name: &'static str,
    advantage: AdvantageEstimator,
    aggregation: LossAggregation,
    value_coef: f64,
    monte_carlo: bool,
    color: RGBColor,
}

const METHODS: [Method; 6] = [
    Method {
        name: "PPO + V head",
        advantage: AdvantageEstimator::Gae { lambda: 0.95 },
        aggregation: LossAggregation::TokenMean,
        value_coef: 0.1,
        monte_carlo: false,
        color: RGBColor(31, 119, 180),
    },
    Method {
        name: "Q critic (Q - E_pi Q)",
        advantage: AdvantageEstimator::QAdvantage,
        aggregation: LossAggregation::TokenMean,
        value_coef: 1.0,
        monte_carlo: false,
        color: RGBColor(23, 190, 207),
    },
    Method {
        name: "GRPO",
        advantage: AdvantageEstimator::Group {
            baseline: GroupBaseline::Grpo { epsilon: 1e-4 },
        },
        aggregation: LossAggregation::SequenceMean,
        value_coef: 0.0,
        monte_carlo: false,
        color: RGBColor(214, 39, 40),
    },
    Method {
        name: "Dr. GRPO",
        advantage: AdvantageEstimator::Group {
            baseline: GroupBaseline::DrGrpo,
        },
        aggregation: LossAggregation::SequenceSum,
        value_coef: 0.0,
        monte_carlo: false,
        color: RGBColor(255, 127, 14),
    },
    Method {
        name: "RLOO",
        advantage: AdvantageEstimator::Group {
            baseline: GroupBaseline::Rloo,
        },
        aggregation: LossAggregation::SequenceSum,
        value_coef: 0.0,
        monte_carlo: false,
        color: RGBColor(44, 160, 44),
    },
    Method {
        name: "VinePPO (MC, 4)",
        advantage: AdvantageEstimator::Gae { lambda: 0.0 },
        aggregation: LossAggregation::TokenMean,
        value_coef: 0.0,
        monte_carlo: true,
        color: RGBColor(148, 103, 189),
    },
];

/// One run's evaluations: (tokens generated, seconds, held-out reward).
type Points = Vec<(f64, f64, f64)>;

fn learn(
    args: &Args,
    start: &Model,
    env: &TextGenerationEnv,
    score: &dyn Fn(&Model) -> valuefn::Result<f64>,
    device: &Device,
) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "\nlearning curves: {} updates of PPO's clipped objective (4 epochs, minibatches of 128) \
         per method, {} seeds, the same start",
        args.updates, args.seeds
    );
    let start_score = score(start)?;
    let mut results: Vec<Vec<Points>> = Vec::new();
    for method in &METHODS {
        let mut runs = Vec::new();
        for seed in 0..args.seeds {
            runs.push(train(
                args,
                method,
                seed,
                start,
                env,
                start_score,
                score,
                device,
            )?);
        }
        results.push(runs);
    }
    println!(
        "\n| method | held-out reward (mean of seeds) | min-max | tokens generated | seconds |"
    );
    println!("|---|---|---|---|---|");
    for (method, runs) in METHODS.iter().zip(&results) {
        let last: Vec<&(f64, f64, f64)> = runs.iter().filter_map(|r| r.last()).collect();
        let n = last.len().max(1) as f64;
        let mean = |f: fn(&(f64, f64, f64)) -> f64| last.iter().map(|p| f(p)).sum::<f64>() / n;
        let (lo, hi) = last
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.2), hi.max(p.2))
            });
        println!(
            "| {} | {:.3} | {lo:.3}-{hi:.3} | {:.0} | {:.1} |",
            method.name,
            mean(|p| p.2),
            mean(|p| p.0),
            mean(|p| p.1)
        );
    }
    std::fs::create_dir_all(&args.out)?;
    for (axis, path, pick) in [
        ("tokens generated", "text_baselines_tokens.svg", 0usize),
        ("seconds", "text_baselines_seconds.svg", 1),
    ] {
        let curves: Vec<curves::Curve> = METHODS
            .iter()
            .zip(&results)
            .map(|(method, runs)| curves::Curve {
                label: method.name,
                points: mean_curve(runs, pick),
                color: method.color,
            })
            .collect();
        let right = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .fold(0.0, f64::max);
        let path = format!("{}/{path}", args.out);
        curves::plot_curves(
            &path,
            &curves::Axes {
                title: "reverse, held-out greedy reward per target token (mean of seeds)",
                x: (axis, right),
                y: ("reward per target token", 0.0..1.0),
            },
            &curves,
        )?;
        println!("chart: {path}");
    }
    Ok(())
}

/// The mean over seeds of each evaluation, against the mean of x (`pick`: 0 tokens, 1 seconds).
fn mean_curve(runs: &[Points], pick: usize) -> Vec<(f64, f64)> {
    let len = runs.iter().map(Vec::len).min().unwrap_or(0);
    let n = runs.len().max(1) as f64;
    (0..len)
        .map(|i| {
            let x = runs
                .iter()
                .map(|r| if pick == 0 { r[i].0 } else { r[i].1 })
                .sum::<f64>()
                / n;
            let y = runs.iter().map(|r| r[i].2).sum::<f64>() / n;
            (x, y)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn train(
    args: &Args,
    method: &Method,
    seed: u64,
    start: &Model,
    env: &TextGenerationEnv,
    start_score: f64,
    score: &dyn Fn(&Model) -> valuefn::Result<f64>,
    device: &Device,
) -> valuefn::Result<Points> {
    let adam = OptimizerConfig::Adam { epsilon: 1e-5 };
    let config = ActorCriticConfig::new()
        .with_gamma(1.0)
        .with_advantage(method.advantage)
        .with_loss_aggregation(method.aggregation)
        .with_value_coef(method.value_coef)
        .with_actor_optimizer(adam)
        .with_critic_optimizer(adam)
        .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 1e-3 })
        .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
        .with_seed(seed)
        .with_ppo(Some(
            PpoConfig::new().with_epochs(4).with_minibatch_size(128),
        ));
    let mut learner = ActorCritic::new(config, start.clone())?;
    let mut rollouts = TokenCollector::grouped(env, args.groups, args.group_size, 100 + seed)?;
    // The library's on-policy loop (a step per episode); the hooks add Monte Carlo values and
    // evaluate on the method's own clock.
    let run = RunConfig::new((args.updates * args.groups * args.group_size).max(1) as u64)
        .with_progress_bar(false);
    let mut curve = Curve {
        args,
        method,
        seed,
        score,
        clock: Instant::now(),
        evaluating: 0.0,
        tokens: 0,
        points: vec![(0.0, 0.0, start_score)],
    };
    if args.updates > 0 {
        train_on_policy(&run, &mut learner, &mut rollouts, None, &mut curve, device)?;
    }
    Ok(curve.points)
}

/// One method's run as hooks of the loop: VinePPO's Monte Carlo values before each update (when
/// the method asks for them), and every `EVAL_EVERY` updates a held-out evaluation, timed apart
/// from training.
struct Curve<'a> {
    args: &'a Args,
    method: &'a Method,
    seed: u64,
    score: &'a dyn Fn(&Model) -> valuefn::Result<f64>,
    clock: Instant,
    /// Seconds spent evaluating, left out of the curve's time axis.
    evaluating: f64,
    tokens: usize,
    points: Points,
}

impl RolloutHooks<Model, TokenCollector<TokenMatch>> for Curve<'_> {
    fn before_update(
        &mut self,
        rollout: &mut TokenRollout,
        learner: &ActorCritic<Model>,
        rollouts: &TokenCollector<TokenMatch>,
        device: &Device,
    ) -> valuefn::Result<()> {
        self.tokens += rollout.tokens;
        if self.method.monte_carlo {
            let update = learner.updates() + 1;
            let mc = monte_carlo_values(
                &learner.model().valid(),
                rollouts,
                rollout,
                MC_SAMPLES,
                1.0,
                self.seed * 1_000_003 + update,
                device,
            )?;
            self.tokens += mc.tokens;
            rollout.batch.scores = Some(mc.into_scores(rollout)?);
        }
        Ok(())
    }

    fn after_update(
        &mut self,
        _: &TokenRollout,
        _: &ActorCriticStats,
        learner: &ActorCritic<Model>,
        _: &TokenCollector<TokenMatch>,
        _: &TrainRun<Model, UpdateRecord>,
        _: &Device,
    ) -> valuefn::Result<bool> {
        let update = learner.updates() as usize;
        if update.is_multiple_of(EVAL_EVERY) || update == self.args.updates {
            let t = Instant::now();
            let held_out = (self.score)(learner.model())?;
            self.evaluating += t.elapsed().as_secs_f64();
            let seconds = self.clock.elapsed().as_secs_f64() - self.evaluating;
            self.points.push((self.tokens as f64, seconds, held_out));
            if !self.args.quiet {
                println!(
                    "  {} seed {}: update {update}, {} tokens, {seconds:.1} s, held-out {held_out:.3}",
                    self.method.name, self.seed, self.tokens
                );
            }
        }
        Ok(false)
    }
}
