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

use valuefn::algo::{
    StepSize, TabularControl, TabularControlConfig, TabularTdConfig, train_tabular,
};
use valuefn::env::tabular::{CliffWalking, GridLayout};
use valuefn::env::{EpisodeStats, TimeLimit};
use valuefn::prelude::*;

fn main() -> Result<()> {
    let args = Args::parse()?;
    let td = TabularTdConfig::new()
        .with_gamma(1.0)
        .with_step_size(StepSize::Constant { alpha: 0.5 });
    let mut curves = Vec::new();
    for algorithm in [TabularControl::Sarsa, TabularControl::QLearning] {
        let config = TabularControlConfig::new(algorithm, td.clone())
            .with_episodes(args.episodes)
            .with_seed(args.seed);
        let mut env = TabularEnv::new(CliffWalking::new());
        let mut q = QTable::zeros(48, 4, &args.device);
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
    for e in (0..args.episodes).step_by((args.episodes / 10).max(1)) {
        println!(
            "{:>8} {:>10.1} {:>10.1}",
            e + 1,
            curves[0].1[e],
            curves[1].1[e]
        );
    }
    std::fs::write(&args.plot, svg_plot(&curves)).map_err(|e| Error::InvalidConfig {
        field: "plot",
        expected: "a writable path",
        value: format!("{} ({e})", args.plot),
    })?;
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

/// A small self-contained SVG line chart of the curves (returns clipped at -100 for scale, as
/// in Figure 6.4).
fn svg_plot(curves: &[(String, Vec<f64>)]) -> String {
    let (width, height, margin) = (640.0, 360.0, 48.0);
    let (low, high) = (-100.0, 0.0);
    let episodes = curves[0].1.len().max(2);
    let x = |i: usize| margin + (width - 2.0 * margin) * i as f64 / (episodes - 1) as f64;
    let y = |v: f64| margin + (height - 2.0 * margin) * (high - v.clamp(low, high)) / (high - low);
    let colors = ["#1f77b4", "#d62728"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\">Cliff walking: online return per episode (10-episode average)</text>\n",
        width / 2.0
    );
    for tick in [0.0, -25.0, -50.0, -75.0, -100.0] {
        let (right, level, label_x) = (width - margin, y(tick), margin - 6.0);
        svg += &format!(
            "<line x1=\"{margin}\" x2=\"{right}\" y1=\"{level:.1}\" y2=\"{level:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{label_x}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>\n",
            level + 4.0
        );
    }
    svg += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">episode (1..{episodes})</text>\n",
        width / 2.0,
        height - 12.0
    );
    for (k, (name, curve)) in curves.iter().enumerate() {
        let points: Vec<String> = curve
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        svg += &format!(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n<text x=\"{}\" y=\"{}\" fill=\"{0}\">{name}</text>\n",
            colors[k % 2],
            points.join(" "),
            width - margin - 90.0,
            height - margin - 30.0 + 16.0 * k as f64
        );
    }
    svg + "</svg>\n"
}

/// Command-line flags.
struct Args {
    device: burn::tensor::Device,
    episodes: usize,
    seed: u64,
    plot: String,
}

impl Args {
    fn parse() -> Result<Self> {
        let mut args = Args {
            device: valuefn::device::default_device(),
            episodes: 500,
            seed: 1,
            plot: "cliff_walking.svg".into(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let value = it.next().unwrap_or_default();
            let number = |field: &'static str| {
                value.parse::<u64>().map_err(|_| Error::InvalidConfig {
                    field,
                    expected: "a non-negative integer",
                    value: value.clone(),
                })
            };
            match flag.as_str() {
                "--device" => args.device = valuefn::device::parse_device(&value)?,
                "--episodes" => args.episodes = number("episodes")?.max(1) as usize,
                "--seed" => args.seed = number("seed")?,
                "--plot" => args.plot = value,
                other => {
                    eprintln!(
                        "unknown flag {other}; flags: --device NAME, --episodes N, --seed S, --plot PATH"
                    );
                    std::process::exit(2);
                }
            }
        }
        Ok(args)
    }
}
