//! Example 3.5 of Sutton and Barto, solved exactly: the value of the random policy (Figure 3.2),
//! the optimal values (Figure 3.5) and the optimal policy as arrows, side by side.
//!
//! ```text
//! cargo run --example gridworld -- [--device ndarray|flex|tch-cpu|tch-cuda:0] [--gamma 0.9]
//! ```

use clap::Parser;
use valuefn::env::tabular::{GridLayout, GridWorld};
use valuefn::prelude::*;
use valuefn::tensor_ops::{index_tensor, to_indices};

fn main() -> Result<()> {
    let args = Args::parse();
    let device = valuefn::device::parse_device(&args.device)?;
    let grid = GridWorld::example_3_5();
    let (n, m) = (grid.num_states(), grid.num_actions());
    let config = SolverConfig::new().with_gamma(args.gamma);

    // v_pi of the equiprobable random policy, by one linear solve.
    let random = evaluate_policy_exact(&grid, &PolicyTable::uniform(n, m), args.gamma)?;
    // v* and q* by value iteration.
    let best = value_iteration(&grid, &config)?;

    // The greedy policy read through the tensor interface, on the chosen device: this is the
    // call a learner makes on its own Q-table.
    let q = QTable::from_q_values(&best.q_values, &device);
    let greedy = to_indices(q.greedy_actions(index_tensor(&(0..n).collect::<Vec<_>>(), &device))?);
    assert!((0..n).all(|s| best.q_values.best_actions(s).contains(&greedy[s])));

    let layout = grid.grid();
    let v_pi = layout.render(|s| format!("{:.1}", random.values[s]));
    let v_star = layout.render(|s| format!("{:.1}", best.values[s]));
    // All optimal actions of a cell, as the book draws them.
    let arrows = layout.render(|s| {
        best.q_values
            .best_actions(s)
            .into_iter()
            .map(|a| grid.action_symbol(a))
            .collect::<String>()
    });

    println!(
        "Grid world of Example 3.5, gamma {} (value iteration: {} sweeps, residual {:.1e})\n",
        args.gamma, best.iterations, best.residual
    );
    print_side_by_side(&[
        ("v of the random policy (Fig. 3.2)", &v_pi),
        ("v* (Fig. 3.5)", &v_star),
        ("optimal policy (Fig. 3.5)", &arrows),
    ]);
    Ok(())
}

/// Prints text blocks next to each other, each under its title.
fn print_side_by_side(blocks: &[(&str, &String)]) {
    let widths: Vec<usize> = blocks
        .iter()
        .map(|(title, text)| {
            text.lines()
                .map(|l| l.chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        println!("{}", padded.join("    ").trim_end());
    };
    line(blocks.iter().map(|(t, _)| t.to_string()).collect());
    let rows = blocks[0].1.lines().count();
    for r in 0..rows {
        line(
            blocks
                .iter()
                .map(|(_, text)| text.lines().nth(r).unwrap_or("").to_string())
                .collect(),
        );
    }
}

/// Command-line flags.
#[derive(Parser, Debug)]
#[command(about = "Sutton and Barto's Example 3.5 solved exactly (Figures 3.2 and 3.5)")]
struct Args {
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// Discount factor in [0, 1].
    #[arg(long, default_value_t = 0.9)]
    gamma: f64,
}
