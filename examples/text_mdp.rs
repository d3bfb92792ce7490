//! A language model's job as an MDP, solved exactly and then learned.
//!
//! The task: reverse the prompt "abc" with character tokens, stopping at `<eos>`. Every
//! prefix of the output is a state, every token an action, and the per-token reward pays 1
//! for each token that matches the target "cba" then `<eos>`. The MDP is small enough to
//! enumerate, so value iteration gives the exact `Q*` of every token after every prefix;
//! tabular Q-learning then learns the same numbers from episodes alone.
//!
//! ```text
//! cargo run --example text_mdp -- [--device ndarray|flex|tch-cpu|tch-cuda:0] [--episodes 3000] [--seed 0]
//! ```

use clap::Parser;
use valuefn::algo::{
    StepSize, TabularControl, TabularControlConfig, TabularTdConfig, train_tabular,
};
use valuefn::env::text::{
    Stop, TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch, TokenState,
};
use valuefn::policy::EpsilonSchedule;
use valuefn::prelude::*;
use valuefn::tabular::QValues;
use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer, Vocabulary};

const GAMMA: f64 = 1.0;

fn main() -> Result<()> {
    let args = Args::parse();
    let device = valuefn::device::parse_device(&args.device)?;
    let pair = TextPair::new("abc", "cba");
    let tokenizer = CharTokenizer::fit([&pair.prompt])?;
    let vocab = tokenizer.vocabulary();
    let task = TokenTask::encode(&pair, &tokenizer)?;
    let config = TextEnvConfig::new()
        .with_stop(Stop::Eos)
        .with_max_new_tokens(4);
    let env = TextGenerationEnv::new(vec![task], vocab, TokenMatch, &config)?;

    // Exact truth: every prefix of at most 4 tokens (none after <eos>) is a state.
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new())?;
    let best = value_iteration(&text_mdp, &SolverConfig::new().with_gamma(GAMMA))?;
    println!(
        "Task: {:?} -> {:?}, character tokens {:?}\nstop at <eos>, at most {} new tokens, per-token match reward, gamma {GAMMA}",
        pair.prompt,
        pair.target,
        vocab.tokens(),
        config.max_new_tokens
    );
    println!(
        "Exact model: {} prefixes x {} tokens, value iteration in {} sweeps\n",
        text_mdp.num_states(),
        vocab.len(),
        best.iterations
    );

    // The optimal completion, prefix by prefix.
    let path = greedy_path(&env, &text_mdp, &best.q_values)?;
    println!("Exact Q* of each token after each prefix of the optimal completion (V* = the max):");
    print_q_rows(&tokenizer, &text_mdp, &path, &best.q_values, None);

    // Learning: Q-learning through the index map, on the chosen device.
    let episodes = args.episodes as usize;
    let mut indexed = text_mdp.indexed(env.replica())?;
    let mut q = QTable::zeros(text_mdp.num_states(), vocab.len(), &device);
    let td = TabularTdConfig::new()
        .with_gamma(GAMMA)
        .with_step_size(StepSize::Constant { alpha: 0.5 });
    let train = TabularControlConfig::new(TabularControl::QLearning, td)
        .with_exploration(EpsilonSchedule::Linear {
            start: 1.0,
            end: 0.1,
            steps: episodes,
        })
        .with_episodes(episodes)
        .with_seed(args.seed);
    let stats = train_tabular(&mut indexed, &mut q, &train)?;
    let learned = q.to_q_values();
    let last = &stats[stats.len().saturating_sub(100)..];
    println!(
        "\nQ-learning: {} episodes (alpha 0.5, epsilon 1.0 -> 0.1, seed {}); mean return of the last {}: {:.2}",
        episodes,
        args.seed,
        last.len(),
        last.iter().map(|s| s.episode_return).sum::<f64>() / last.len() as f64
    );
    println!("Learned Q (exact Q* in brackets) along the exact optimal completion:");
    print_q_rows(&tokenizer, &text_mdp, &path, &learned, Some(&best.q_values));
    let (exact, learned_ref) = (&best.q_values, &learned);
    let error = path
        .iter()
        .flat_map(|s| {
            let i = text_mdp.index_of(s).expect("path states are enumerated");
            (0..vocab.len()).map(move |a| (learned_ref.get(i, a) - exact.get(i, a)).abs())
        })
        .fold(0.0, f64::max);
    println!("largest |Q - Q*| on these rows: {error:.3}");

    let learned_path = greedy_path(&env, &text_mdp, &learned)?;
    let completion = learned_path
        .last()
        .expect("a path has a start")
        .generated
        .clone();
    println!(
        "\nGreedy completion of the learned Q: {:?}{} (target {:?})",
        tokenizer.decode(&completion)?,
        if completion.last() == Some(&Vocabulary::EOS) {
            " <eos>"
        } else {
            ""
        },
        pair.target
    );
    Ok(())
}

/// The prefixes visited by acting greedily on `q` from the start, the final one included.
fn greedy_path(
    env: &TextGenerationEnv,
    text_mdp: &TextMdp,
    q: &QValues,
) -> Result<Vec<TokenState>> {
    let mut env = env.replica();
    let mut state = env.reset(Some(0));
    let mut path = vec![state.clone()];
    let greedy = q.greedy_actions();
    loop {
        let token = greedy[text_mdp.index_of(&state)?];
        let step = env.step(token)?;
        path.push(step.observation.clone());
        if step.done() {
            return Ok(path);
        }
        state = step.observation;
    }
}

/// One row per non-final prefix of `path`: the Q-value of every token, with `exact` in
/// brackets when given.
fn print_q_rows(
    tokenizer: &CharTokenizer,
    text_mdp: &TextMdp,
    path: &[TokenState],
    q: &QValues,
    exact: Option<&QValues>,
) {
    let width = if exact.is_some() { 13 } else { 6 };
    let header: String = tokenizer
        .vocabulary()
        .tokens()
        .iter()
        .map(|t| format!("{t:>width$}"))
        .collect();
    println!("{:<10}{:>6}{header}", "prefix", "max");
    for state in &path[..path.len() - 1] {
        let i = text_mdp
            .index_of(state)
            .expect("path states are enumerated");
        let row: String = (0..q.num_actions())
            .map(|a| match exact {
                Some(e) => format!(
                    "{:>width$}",
                    format!("{:.2} [{:.0}]", q.get(i, a), e.get(i, a))
                ),
                None => format!("{:>width$.2}", q.get(i, a)),
            })
            .collect();
        let prefix = format!(
            "{:?}",
            tokenizer.decode(&state.generated).unwrap_or_default()
        );
        let max = q.row(i).iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!("{prefix:<10}{max:>6.2}{row}");
    }
}

/// Command-line flags.
#[derive(Parser, Debug)]
#[command(
    about = "Reversing \"abc\" as an exact MDP: Q* by value iteration, learned by Q-learning"
)]
struct Args {
    /// Backend: ndarray, flex, tch-cpu or tch-cuda:N (those compiled in; the first is the
    /// default).
    #[arg(long, default_value_t = valuefn::device::available_device_names()[0].to_string())]
    device: String,
    /// Q-learning episodes (>= 1).
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..))]
    episodes: u64,
    /// Seed of the exploration.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}
