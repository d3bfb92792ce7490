//! The language model as an agent: a small token model learns the copy (or reverse) task of
//! the text MDP, then shows its completions with each step's policy, Q and V.
//!
//! 1. **Pretrain** the policy head briefly with teacher-forced cross-entropy (`lm::pretrain`).
//! 2. **Fine-tune** it with PPO (`ActorCritic`, a V head on the same trunk as the critic) on
//!    rollouts of 64 episodes played with the cache (`lm::TokenCollector`); the reward is 1 per
//!    token equal to the target's at its position.
//! 3. Meanwhile a **Q head** learns `Q*` off-policy with deep Q-learning (`Dqn`, target network,
//!    double Q) from a replay of the same episodes (`lm::TokenReplay`).
//! 4. For held-out prompts (never seen in training) print the greedy completion, its reward,
//!    and per step the top tokens with `pi`, `Q` and the state's `V`; write the learning curve.
//!
//! ```text
//! cargo run --release --example text_generation -- [--task copy|reverse] [--steps 300]
//!     [--seed 0] [--device ndarray|flex|tch-cpu|tch-cuda:0] [--body gru|transformer]
//!     [--plot text_generation.svg] [--metrics FILE] [--quiet]
//! ```

#[path = "common/curves.rs"]
mod curves;
#[path = "common/text_task.rs"]
mod text_task;
#[path = "common/token_curve.rs"]
mod token_curve;

use text_task::{Task, Text};
use token_curve::TokenCurve;

use burn::module::Module;
use burn::tensor::Device;
use clap::{Parser, ValueEnum};
use plotters::style::colors::{BLUE, RED};
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, AdvantageEstimator, PpoConfig, train_on_policy,
};
use valuefn::algo::dqn::{Bootstrap, Dqn, DqnConfig, TargetUpdate};
use valuefn::algo::{LearningRateSchedule, OptimizerConfig, RunConfig};
use valuefn::encode::ObservationEncoder;
use valuefn::encode::PaddedTokens;
use valuefn::env::text::{TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch, TokenState};
use valuefn::lm::{
    GruBodyConfig, LmBody, PretrainConfig, QFromReplay, Sampling, TokenCollector, TokenEpisode,
    TokenModel, TokenPositions, TokenReplay, TransformerBodyConfig, cross_entropy, evaluate_tasks,
    pretrain,
};
use valuefn::policy::Policy;
use valuefn::tabular::{QValues, SolverConfig, value_iteration};
use valuefn::tensor_ops::to_vec_f32;
use valuefn::text::{Tokenizer, Vocabulary};
use valuefn::value::{QFunction, VFunction};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Body {
    Gru,
    Transformer,
}

/// A token model learns a text task by pretraining, PPO and deep Q-learning.
#[derive(Parser, Debug)]
struct Args {
    /// The task: repeat the prompt, or write it backwards.
    #[arg(long, value_enum, default_value = "copy")]
    task: Task,
    /// PPO updates (each on a rollout of 64 episodes).
    #[arg(long, default_value_t = 300)]
    steps: usize,
    /// Seed of the task split, the models and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// The model's body.
    #[arg(long, value_enum, default_value = "gru")]
    body: Body,
    /// Where to write the learning curve (SVG).
    #[arg(long, default_value = "text_generation.svg")]
    plot: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Write the run's metrics (per update and evaluation) as JSON lines to this file.
    #[arg(long)]
    metrics: Option<String>,
}

/// Episodes per PPO rollout.
const EPISODES: usize = 64;
/// Deep Q-learning steps (minibatches of 128 from the replay) per PPO update.
const DQN_UPDATES: usize = 4;
/// Weight of the value loss (the value head shares the pretrained trunk).
const VALUE_COEF: f64 = 0.1;
/// Evaluate on the held-out prompts every this many updates.
const EVAL_EVERY: usize = 25;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = valuefn::device::parse_device(&args.device)?;
    let train = device.clone().autodiff();
    let task = Text::new(args.task, args.seed)?;
    let vocab = task.vocabulary.len();
    println!(
        "{:?}: {} training and {} held-out prompts over `abcd` (2 to 4 characters, then `=`), \
         {:?} body on {}, seed {}",
        args.task,
        task.train_tasks.len(),
        task.held_out_tasks.len(),
        args.body,
        args.device,
        args.seed
    );
    match args.body {
        Body::Gru => {
            let body = GruBodyConfig::new(vocab).with_hidden(64);
            run(
                &args,
                &task,
                |seed| body.clone().with_seed(seed).init(&train),
                &device,
            )
        }
        Body::Transformer => {
            let body = TransformerBodyConfig::new(vocab)
                .with_hidden(64)
                .with_heads(4)
                .with_layers(2)
                .with_max_len(16);
            run(
                &args,
                &task,
                |seed| body.clone().with_seed(seed).init(&train),
                &device,
            )
        }
    }
}

fn run<B: LmBody>(
    args: &Args,
    task: &Text,
    body: impl Fn(u64) -> valuefn::Result<B>,
    device: &Device,
) -> Result<(), Box<dyn std::error::Error>> {
    let train_device = device.clone().autodiff();
    let seed = args.seed;
    let model = |offset: u64| -> valuefn::Result<TokenModel<B>> {
        Ok(TokenModel::new(
            body(seed + offset)?,
            seed + offset,
            &train_device,
        ))
    };
    let score = |actor: &TokenModel<B>| -> valuefn::Result<f64> {
        Ok(
            evaluate_tasks(actor, &task.held_out, Sampling::Greedy, 0, device)?
                .reward_per_target_token,
        )
    };

    // 1. Pretraining: a couple of teacher-forced epochs, deliberately short.
    let actor = model(0)?;
    let before = cross_entropy(&actor.valid(), &task.held_out_tasks, None)?;
    let (actor, _) = pretrain(
        actor,
        &task.train_tasks,
        &[],
        &PretrainConfig::new().with_epochs(2).with_seed(seed),
    )?;
    let after = cross_entropy(&actor.valid(), &task.held_out_tasks, None)?;
    let pretrained = score(&actor)?;
    println!(
        "pretraining (2 epochs): held-out cross-entropy {before:.3} -> {after:.3} nats/token, \
         greedy reward per target token {pretrained:.3}"
    );

    // 2. PPO of the policy head, with a V head on the same trunk as the critic.
    let adam = OptimizerConfig::Adam { epsilon: 1e-5 };
    let steps = args.steps.max(1);
    let rate = LearningRateSchedule::Linear {
        start: 1e-3,
        end: 0.0,
        steps: steps as u64 * 8,
    };
    let ppo_config = ActorCriticConfig::new()
        .with_gamma(1.0)
        .with_advantage(AdvantageEstimator::Gae { lambda: 0.95 })
        .with_entropy_coef(0.0)
        .with_value_coef(VALUE_COEF)
        .with_actor_optimizer(adam)
        .with_critic_optimizer(adam)
        .with_actor_learning_rate(rate)
        .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
        .with_seed(seed)
        .with_ppo(Some(
            PpoConfig::new().with_epochs(4).with_minibatch_size(128),
        ));
    // One model: the pretrained policy head and a fresh value head on one trunk.
    let mut ppo = ActorCritic::new(ppo_config, actor)?;
    let mut rollouts = TokenCollector::new(&task.train, EPISODES, seed)?;

    // 3. Deep Q-learning of a Q head from a replay of the same episodes.
    let dqn_config = DqnConfig::new()
        .with_gamma(1.0)
        .with_bootstrap(Bootstrap::Double)
        .with_target_update(TargetUpdate::Polyak { tau: 0.05 })
        .with_learning_rate(LearningRateSchedule::Constant { rate: 1e-3 });
    let dqn = Dqn::new(dqn_config, model(2)?)?;
    let replay = TokenReplay::new(20_000, 1.0)?;
    let q_learning = QFromReplay::new(dqn, replay, 128, DQN_UPDATES, seed)?;

    // The library's on-policy loop; a step is one episode. Besides the PPO update, the hooks
    // keep the training curve and train the Q head.
    let run = RunConfig::new((steps * EPISODES) as u64)
        .with_eval_every((EVAL_EVERY * EPISODES) as u64)
        .with_progress_bar(!args.quiet)
        .with_metrics_path(args.metrics.clone());
    let mut hooks = (TokenCurve::default(), q_learning);
    let start = std::time::Instant::now();
    let report = train_on_policy(
        &run,
        &mut ppo,
        &mut rollouts,
        Some(&mut |model: &TokenModel<B>| score(model)),
        &mut hooks,
        device,
    )?;
    let (train_curve, q_learning) = hooks;
    let seconds = start.elapsed().as_secs_f64();
    let tokens = train_curve.tokens;
    let mut curve = vec![(0usize, pretrained)];
    curve.extend(
        report
            .evaluations
            .iter()
            .map(|&(step, held_out)| (step as usize / EPISODES, held_out)),
    );
    let final_score = curve.last().map_or(pretrained, |&(_, s)| s);
    println!(
        "PPO: {steps} updates, {tokens} tokens in {seconds:.1} s ({:.0} tokens/s with the DQN \
         updates); held-out greedy reward per target token {pretrained:.3} -> {final_score:.3}",
        tokens as f64 / seconds
    );
    if let Some((step, best)) = report.best {
        println!(
            "best held-out evaluation: {best:.3} after update {}",
            step as usize / EPISODES
        );
    }

    // 4. Held-out completions, step by step.
    let actor = ppo.model().valid();
    let critic = actor.clone();
    let q_model = q_learning.dqn().online().valid();
    let evaluation = evaluate_tasks(&actor, &task.held_out, Sampling::Greedy, 0, device)?;
    for (task_index, episode) in evaluation.episodes.iter().enumerate().take(4) {
        let target = task.held_out_tasks[task_index].target();
        println!(
            "\nprompt {:?} -> {:?} (target {:?}), reward {} of {}",
            task.tokenizer
                .decode(&episode.tokens[1..episode.prompt_len])?,
            task.text(episode.completion()),
            task.text(target),
            episode.total_reward(),
            target.len()
        );
        let exact = ExactQ::of(&task.held_out, task_index, &task.vocabulary)?;
        show_steps(episode, task, &exact, [&actor, &critic, &q_model], device)?;
    }
    plot(&args.plot, &curve, &train_curve.points, steps)?;
    println!("\nlearning curve: {}", args.plot);
    Ok(())
}

/// `Q*` of one held-out task: its text MDP enumerated and solved by value iteration.
struct ExactQ {
    mdp: TextMdp,
    q: QValues,
}

impl ExactQ {
    fn of(env: &TextGenerationEnv, task: usize, vocabulary: &Vocabulary) -> valuefn::Result<Self> {
        let single = TextGenerationEnv::new(
            vec![env.tasks()[task].clone()],
            vocabulary,
            TokenMatch,
            env.config(),
        )?;
        let mdp = TextMdp::enumerate(&single, &TextMdpConfig::new())?;
        let q = value_iteration(&mdp, &SolverConfig::new().with_gamma(1.0))?.q_values;
        Ok(Self { mdp, q })
    }

    fn at(&self, state: &TokenState, token: usize) -> valuefn::Result<f64> {
        Ok(self.q.get(self.mdp.index_of(state)?, token))
    }
}

/// Per generated token: `V(s)` and the three most probable next tokens with `pi`, the learned
/// `Q` and the exact `Q*`.
fn show_steps<B: LmBody>(
    episode: &TokenEpisode,
    task: &Text,
    exact: &ExactQ,
    [actor, critic, q_model]: [&TokenModel<B>; 3],
    device: &Device,
) -> valuefn::Result<()> {
    let sequence = PaddedTokens.encode(&[episode.state()], device)?;
    let rows = (0..episode.completion().len())
        .map(|t| (0, episode.prompt_len - 1 + t))
        .collect();
    let states = TokenPositions::new(sequence, rows)?;
    let vocab = actor.vocab_size();
    let probabilities = to_vec_f32(actor.action_probabilities(states.clone())?);
    let q = to_vec_f32(q_model.q_values(states.clone())?);
    let v = to_vec_f32(critic.values(states)?);
    let prompt = episode.state().prompt;
    for (t, &token) in episode.completion().iter().enumerate() {
        let state = TokenState {
            prompt: prompt.clone(),
            generated: episode.completion()[..t].to_vec(),
        };
        let row = t * vocab..(t + 1) * vocab;
        let (pi, q) = (&probabilities[row.clone()], &q[row]);
        let mut top: Vec<usize> = (0..vocab).collect();
        top.sort_by(|&a, &b| pi[b].total_cmp(&pi[a]));
        let shown = top[..3]
            .iter()
            .map(|&a| {
                Ok(format!(
                    "{:>5} pi {:.2} Q {:5.2} (Q* {})",
                    format!("{:?}", task.text(&[a])),
                    pi[a],
                    q[a],
                    exact.at(&state, a)?
                ))
            })
            .collect::<valuefn::Result<Vec<String>>>()?;
        println!(
            "  step {t}: V {:5.2} | chose {:?} | {}",
            v[t],
            task.text(&[token]),
            shown.join(" | ")
        );
    }
    Ok(())
}

/// Held-out greedy reward per target token and the training rollouts' reward per token.
fn plot(
    path: &str,
    held_out: &[(usize, f64)],
    train: &[(usize, f64)],
    steps: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let points = |curve: &[(usize, f64)]| curve.iter().map(|&(u, r)| (u as f64, r)).collect();
    curves::plot_curves(
        path,
        &curves::Axes {
            title: "PPO on the text MDP",
            x: ("PPO updates", steps as f64),
            y: ("reward per token", 0.0..1.05),
        },
        &[
            curves::Curve {
                label: "training rollouts (sampled)",
                points: points(train),
                color: BLUE,
            },
            curves::Curve {
                label: "held-out prompts (greedy)",
                points: points(held_out),
                color: RED,
            },
        ],
    )
}
