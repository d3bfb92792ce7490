//! SARSA vs Q-learning on cliff walking (Sutton and Barto Example 6.6, Figure 6.4).
//!
//! Both learn online with epsilon-greedy exploration (epsilon 0.1, alpha 0.5). Q-learning
//! learns the optimal path along the cliff edge but, exploring, falls off now and then; SARSA
//! learns the longer safe path and collects more reward online. Prints the greedy paths and the
//! smoothed online returns, and writes the learning curves to an SVG plot.
//!
//! ```text
//! cargo run --example cliff_walking -- [--device ndarray] [--episodes 500] [--seed 1] [--plot cliff_walking.svg]
//! ```

#[path = "common/curves.rs"]
mod curves;

use clap::Parser;
use plotters::style::colors::{BLUE, RED};
use valuefn::algo::{
    StepSize, TabularControl, TabularControlConfig, TabularTdConfig, train_tabular,
};
use valuefn::env::tabular::{CliffWalking, GridLayout};
use valuefn::env::{EpisodeStats, TimeLimit};
use valuefn::prelude::*;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = valuefn::device::parse_device(&args.device)?;
    let episodes = args.episodes as usize;
    let td = TabularTdConfig::new()
        .with_gamma(1.0)
        .with_step_size(StepSize::Constant { alpha: 0.5 });
    let mut curves = Vec::new();
    for algorithm in [TabularControl::Sarsa, TabularControl::QLearning] {
        let config = TabularControlConfig::new(algorithm, td.clone())
            .with_episodes(episodes)
            .with_seed(args.seed);
        let mut env = TabularEnv::new(CliffWalking::new());
        let mut q = QTable::zeros(48, 4, &device);
        let stats = train_tabular(&mut env, &mut q, &config)?;

        let greedy = q.to_q_values().greedy_actions();
        let mut probe = TimeLimit::new(TabularEnv::new(CliffWalking::new()), 200)?;
        let mut path = vec![CliffWalking::new().start()];
        let run = probe.run_episode(Some(0), |&s| {
            path.push(s);
            greedy[s]
        })?;
        println!(
            "{algorithm:?}: greedy path, return {} in {} steps",
            run.episode_return, run.length
        );
        println!("{}", draw_path(&path, &greedy));
        curves.push((format!("{algorithm:?}"), smooth(&stats, 10)));
    }

    println!("Online return per episode (moving average over 10 episodes):");
    println!("{:>8} {:>10} {:>10}", "episode", &curves[0].0, &curves[1].0);
    for e in (0..episodes).step_by((episodes / 10).max(1)) {
        println!(
            "{:>8} {:>10.1} {:>10.1}",
            e + 1,
            curves[0].1[e],
            curves[1].1[e]
        );
    }
    // Returns clipped at -100 for scale, as in Figure 6.4.
    let lines: Vec<curves::Curve<'_>> = curves
        .iter()
        .zip([BLUE, RED])
        .map(|((label, curve), color)| curves::Curve {
            label,
            points: curve
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v.max(-100.0)))
                .collect(),
            color,
        })
        .collect();
    curves::plot_curves(
        &args.plot,
        &curves::Axes {
            title: "Cliff walking: online return per episode (10-episode average)",
            x: ("episode", episodes as f64),
            y: ("return", -100.0..0.0),
        },
        &lines,
    )?;
    println!("\nLearning curves written to {}", args.plot);
    Ok(())
}

/// The grid with the path's moves as arrows: S start, G goal, C cliff.
fn draw_path(path: &[usize], greedy: &[usize]) -> String {
    let cliff = CliffWalking::new();
    cliff.grid().render(|s| {
        if s == cliff.goal() {
            "G".into()
        } else if cliff.is_cliff(s) {
            "C".into()
        } else if path.contains(&s) {
            cliff.action_symbol(greedy[s]).into()
        } else {
            ".".into()
        }
    })
}

/// Trailing moving average of the episode returns.
fn smooth(stats: &[EpisodeStats], window: usize) -> Vec<f64> {
    (0..stats.len())
        .map(|i| {
            let from = (i + 1).saturating_sub(window);
            stats[from..=i]
                .iter()
                .map(|s| s.episode_return)
                .sum::<f64>()
                / (i + 1 - from) as f64
        })
        .collect()
}

/// Command-line flags.
#[derive(Parser, Debug)]
#[command(about = "SARSA vs Q-learning on cliff walking (Sutton and Barto Example 6.6)")]
struct Args {
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// Episodes per learner (>= 1).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    episodes: u64,
    /// Seed of the exploration.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the learning curves (SVG).
    #[arg(long, default_value = "cliff_walking.svg")]
    plot: String,
}
