//! Deep Q-learning on CartPole-v1 with rl-baselines3-zoo's tuned settings (50k steps, Adam
//! 2.3e-3, batch 64, 128 gradient steps every 256 environment steps, epsilon 1 -> 0.04 over
//! the first 8k steps, a [256, 256] ReLU network). Draws a progress bar, evaluates the greedy
//! policy every 2.5k steps and at the end (10 episodes), and writes the learning curve as SVG
//! and the metrics as JSON lines.
//!
//! ```text
//! cargo run --release --example cartpole_dqn -- [--device flex] [--seed 1] [--steps 50000]
//!     [--double] [--dueling] [--per] [--n-step 3] [--plot cartpole_dqn.svg] [--metrics cartpole_dqn.jsonl]
//! ```

#[path = "common/cartpole_report.rs"]
mod cartpole_report;
#[path = "common/curves.rs"]
mod curves;

use burn::module::Module;
use clap::Parser;
use valuefn::algo::dqn::{
    Bootstrap, Dqn, DqnConfig, DqnReport, DqnTrainConfig, ReplayKind, evaluate_greedy, train_dqn,
};
use valuefn::encode::Features;
use valuefn::env::SyncVecEnv;
use valuefn::env::classic::CartPole;
use valuefn::nn::{QHead, QNetwork, QNetworkConfig};
use valuefn::replay::PrioritizedConfig;

/// DQN on CartPole-v1.
#[derive(Parser, Debug)]
struct Args {
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// Seed of the network, the environments and the exploration.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Environment steps.
    #[arg(long, default_value_t = 50_000)]
    steps: u64,
    /// Double DQN targets.
    #[arg(long)]
    double: bool,
    /// Dueling head.
    #[arg(long)]
    dueling: bool,
    /// Prioritized replay (alpha 0.6, beta 0.4 -> 1).
    #[arg(long)]
    per: bool,
    /// Steps per transition (n-step returns).
    #[arg(long, default_value_t = 1)]
    n_step: usize,
    /// Where to write the learning curve.
    #[arg(long, default_value = "cartpole_dqn.svg")]
    plot: String,
    /// Where to write the metrics (JSON lines).
    #[arg(long, default_value = "cartpole_dqn.jsonl")]
    metrics: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = valuefn::device::parse_device(&args.device)?;
    let mut config = DqnTrainConfig::zoo_cartpole()
        .with_total_steps(args.steps)
        .with_seed(args.seed)
        .with_eval_every(2_500)
        .with_eval_episodes(10)
        .with_progress_bar(!args.quiet)
        .with_metrics_path(Some(args.metrics.clone()));
    let mut dqn_config = DqnConfig::zoo_cartpole().with_n_step(args.n_step);
    if args.double {
        dqn_config.bootstrap = Bootstrap::Double;
    }
    if args.per {
        config.replay = ReplayKind::Prioritized(PrioritizedConfig::new());
    }
    let head = if args.dueling {
        QHead::Dueling
    } else {
        QHead::Linear
    };
    let network = QNetworkConfig::new(4, 2)
        .with_hidden(vec![256, 256])
        .with_head(head)
        .with_seed(args.seed)
        .init(&device.clone().autodiff())?;
    let mut dqn = Dqn::new(dqn_config, network)?;
    let mut envs = SyncVecEnv::new(vec![CartPole::new()])?;
    let mut eval_env = CartPole::new();
    println!(
        "DQN on CartPole-v1, {} steps on {}, seed {} ({:?}, {:?} head, n-step {}, {})",
        args.steps,
        args.device,
        args.seed,
        dqn.config().bootstrap,
        head,
        args.n_step,
        if args.per {
            "prioritized replay"
        } else {
            "uniform replay"
        },
    );
    let report = train_dqn(
        &config,
        &mut dqn,
        &mut envs,
        Some(&mut eval_env),
        &Features::new(4),
        &device,
    )?;

    cartpole_report::print_evaluations(&report.evaluations);
    // The final policy and the best one on the same 10 new episodes.
    let mut on_new_episodes = |model: &QNetwork| {
        evaluate_greedy(
            model,
            &mut eval_env,
            &Features::new(4),
            10,
            500,
            10_000,
            &device,
        )
    };
    let last = on_new_episodes(&dqn.online().valid())?;
    println!(
        "{} episodes, {} gradient steps in {:.1} s: {:.0} env steps/s; {:.0} gradient steps/s over \
         the whole run, {:.0} within training phases",
        report.episode_returns.len(),
        report.gradient_steps,
        report.seconds,
        report.steps as f64 / report.seconds,
        report.gradient_steps as f64 / report.seconds,
        report.gradient_steps as f64 / report.train_seconds,
    );
    cartpole_report::print_final(&last);
    // The loop kept the model of the best evaluation beside the last one.
    if let (Some(best), Some(model)) = (report.best, &report.best_model) {
        cartpole_report::print_best(best, &on_new_episodes(model)?);
    }
    plot(&report, &args.plot)?;
    println!("learning curve: {}, metrics: {}", args.plot, args.metrics);
    Ok(())
}

fn plot<Q>(report: &DqnReport<Q>, path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let episodes: Vec<(u64, f64)> = report
        .metrics
        .iter()
        .filter_map(|m| m.episode_return.map(|r| (m.step, r)))
        .collect();
    cartpole_report::plot_learning_curve(
        "DQN on CartPole-v1",
        path,
        &episodes,
        &report.evaluations,
        report.steps,
    )
}
