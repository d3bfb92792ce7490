//! What the CartPole examples print and draw: the evaluations, the final verdict, and the
//! learning curve.

use plotters::style::colors::{BLUE, RED};

/// Episode returns (moving average over 20 episodes) and greedy evaluations against
/// environment steps, as an SVG at `path`.
pub fn plot_learning_curve(
    title: &str,
    path: &str,
    episodes: &[(u64, f64)],
    evaluations: &[(u64, f64)],
    total_steps: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let smoothed: Vec<(f64, f64)> = episodes
        .iter()
        .enumerate()
        .map(|(i, &(step, _))| {
            let window = &episodes[i.saturating_sub(19)..=i];
            (
                step as f64,
                window.iter().map(|(_, r)| r).sum::<f64>() / window.len() as f64,
            )
        })
        .collect();
    crate::curves::plot_curves(
        path,
        &crate::curves::Axes {
            title,
            x: ("environment steps", total_steps as f64),
            y: ("return", 0.0..520.0),
        },
        &[
            crate::curves::Curve {
                label: "episode return (mean of 20)",
                points: smoothed,
                color: BLUE,
            },
            crate::curves::Curve {
                label: "greedy evaluation (10 episodes)",
                points: evaluations.iter().map(|&(s, r)| (s as f64, r)).collect(),
                color: RED,
            },
        ],
    )
}

/// The table of greedy evaluations.
pub fn print_evaluations(evaluations: &[(u64, f64)]) {
    println!("{:>8} {:>14}", "step", "greedy return");
    for (step, mean) in evaluations {
        println!("{step:>8} {mean:>14.1}");
    }
}

fn mean(returns: &[f64]) -> f64 {
    returns.iter().sum::<f64>() / returns.len().max(1) as f64
}

/// The final policy's mean return over new episodes, and whether it solves CartPole-v1 (475).
pub fn print_final(returns: &[f64]) {
    let mean = mean(returns);
    let verdict = if mean >= 475.0 {
        "solved"
    } else {
        "not solved"
    };
    println!(
        "final greedy return over {} new episodes: {mean:.1} ({verdict})",
        returns.len()
    );
}

/// The model the loop kept at its best evaluation (`best`: step and mean return), scored on the
/// same new episodes as the final policy.
pub fn print_best(best: (u64, f64), returns: &[f64]) {
    let (step, evaluated) = best;
    println!(
        "best model: evaluated {evaluated:.1} at step {step}; on the same {} new episodes {:.1}",
        returns.len(),
        mean(returns)
    );
}
