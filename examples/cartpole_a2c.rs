//! A2C (or PPO with `--ppo`) on CartPole-v1 with rl-baselines3-zoo's settings: 8 copies,
//! `[64, 64]` tanh actor and critic with orthogonal initialisation.
//!
//! - A2C: rollouts of 5 steps, RMSprop 7e-4 (alpha 0.99, eps 1e-5), GAE lambda 1, gamma 0.99,
//!   value coefficient 0.5, no entropy bonus, gradient norm 0.5.
//! - PPO: rollouts of 32 steps, 20 epochs of minibatches of 256, Adam 1e-3 falling linearly to
//!   0, gamma 0.98, GAE lambda 0.8, clip 0.2, normalised advantages.
//!
//! Draws a progress bar, evaluates the greedy policy every 5k steps and at the end (10
//! episodes), and writes the learning curve as SVG and the metrics as JSON lines.
//!
//! ```text
//! cargo run --release --example cartpole_a2c -- [--ppo] [--device flex] [--seed 1]
//!     [--steps 100000] [--plot cartpole_a2c.svg] [--metrics cartpole_a2c.jsonl] [--quiet]
//! ```

#[path = "common/cartpole_report.rs"]
mod cartpole_report;
#[path = "common/curves.rs"]
mod curves;

use burn::module::Module;
use clap::Parser;
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, ActorCriticTrainConfig, evaluate_actor, train_actor_critic,
};
use valuefn::encode::Features;
use valuefn::env::SyncVecEnv;
use valuefn::env::classic::CartPole;
use valuefn::nn::{
    CategoricalPolicy, CategoricalPolicyConfig, VNetwork, VNetworkConfig, WeightInit,
};
use valuefn::policy::PolicyAndValue;

/// A2C or PPO on CartPole-v1.
#[derive(Parser, Debug)]
struct Args {
    /// PPO instead of A2C.
    #[arg(long)]
    ppo: bool,
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// Seed of the networks, the environments and the action sampling.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Environment steps (over the 8 copies).
    #[arg(long, default_value_t = 100_000)]
    steps: u64,
    /// Number of environment copies.
    #[arg(long, default_value_t = 8)]
    envs: usize,
    /// Where to write the learning curve.
    #[arg(long)]
    plot: Option<String>,
    /// Where to write the metrics (JSON lines).
    #[arg(long)]
    metrics: Option<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let name = if args.ppo { "ppo" } else { "a2c" };
    let plot = args.plot.clone().unwrap_or(format!("cartpole_{name}.svg"));
    let metrics = args
        .metrics
        .clone()
        .unwrap_or(format!("cartpole_{name}.jsonl"));
    let device = valuefn::device::parse_device(&args.device)?;
    let train_device = device.clone().autodiff();
    let base = if args.ppo {
        ActorCriticTrainConfig::ppo_cartpole()
    } else {
        ActorCriticTrainConfig::a2c_cartpole()
    };
    let config = base
        .with_total_steps(args.steps)
        .with_seed(args.seed)
        .with_eval_every(5_000)
        .with_eval_episodes(10)
        .with_progress_bar(!args.quiet)
        .with_metrics_path(Some(metrics.clone()));
    let updater_config = if args.ppo {
        ActorCriticConfig::ppo_cartpole(config.total_gradient_steps(args.envs, 20, 256))
    } else {
        ActorCriticConfig::new()
    }
    .with_seed(args.seed);
    let actor = CategoricalPolicyConfig::new(4, 2)
        .with_seed(args.seed)
        .init(&train_device)?;
    let critic = VNetworkConfig::new(4)
        .with_init(WeightInit::Orthogonal {
            hidden_gain: std::f64::consts::SQRT_2,
        })
        .with_seed(args.seed.wrapping_add(1))
        .init(&train_device)?;
    let mut updater = ActorCritic::new(updater_config, PolicyAndValue::new(actor, critic))?;
    let mut envs = SyncVecEnv::new((0..args.envs).map(|_| CartPole::new()).collect())?;
    let mut eval_env = CartPole::new();
    println!(
        "{} on CartPole-v1, {} steps over {} copies on {}, seed {}",
        name.to_uppercase(),
        args.steps,
        args.envs,
        args.device,
        args.seed
    );
    let report = train_actor_critic(
        &config,
        &mut updater,
        &mut envs,
        Some(&mut eval_env),
        &Features::new(4),
        &device,
    )?;

    cartpole_report::print_evaluations(&report.evaluations);
    // The final policy and the best one on the same 10 new episodes.
    let mut on_new_episodes = |model: &PolicyAndValue<CategoricalPolicy, VNetwork>| {
        evaluate_actor(
            model,
            &mut eval_env,
            &Features::new(4),
            10,
            500,
            10_000,
            &device,
        )
    };
    let last = on_new_episodes(&updater.model().valid())?;
    println!(
        "{} episodes, {} updates, {} gradient steps in {:.1} s: {:.0} env steps/s",
        report.episode_returns.len(),
        report.updates,
        updater.gradient_steps(),
        report.seconds,
        report.steps as f64 / report.seconds,
    );
    if let Some(&(step, _)) = report.evaluations.iter().find(|(_, r)| *r >= 475.0) {
        println!("first greedy evaluation >= 475 at step {step}");
    }
    cartpole_report::print_final(&last);
    // The loop kept the model of the best evaluation beside the last one.
    if let (Some(best), Some(model)) = (report.best, &report.best_model) {
        cartpole_report::print_best(best, &on_new_episodes(model)?);
    }
    let episodes: Vec<(u64, f64)> = report
        .metrics
        .iter()
        .filter_map(|m| m.episode_return.map(|r| (m.step, r)))
        .collect();
    let title = format!("{} on CartPole-v1", name.to_uppercase());
    cartpole_report::plot_learning_curve(
        &title,
        &plot,
        &episodes,
        &report.evaluations,
        report.steps,
    )?;
    println!("learning curve: {plot}, metrics: {metrics}");
    Ok(())
}
