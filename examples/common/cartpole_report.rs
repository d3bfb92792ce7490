//! What the CartPole examples print and draw: the evaluations, the final verdict, and the
//! learning curve.

use plotters::prelude::*;

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
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..total_steps.max(1) as f64, 0f64..520f64)?;
    chart
        .configure_mesh()
        .x_desc("environment steps")
        .y_desc("return")
        .draw()?;
    chart
        .draw_series(LineSeries::new(smoothed, &BLUE))?
        .label("episode return (mean of 20)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(
            evaluations.iter().map(|&(s, r)| (s as f64, r)),
            &RED,
        ))?
        .label("greedy evaluation (10 episodes)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The table of greedy evaluations.
pub fn print_evaluations(evaluations: &[(u64, f64)]) {
    println!("{:>8} {:>14}", "step", "greedy return");
    for (step, mean) in evaluations {
        println!("{step:>8} {mean:>14.1}");
    }
}

/// The final policy's mean return over new episodes, and whether it solves CartPole-v1 (475).
pub fn print_final(returns: &[f64]) {
    let mean = returns.iter().sum::<f64>() / returns.len().max(1) as f64;
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
