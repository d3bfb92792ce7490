//! One-call training loops for tabular control.

use burn::config::Config;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::algo::{ExpectedSarsa, QLearning, Sarsa, TabularBatch, TabularTdConfig};
use crate::env::{Environment, EpisodeStats};
use crate::error::Result;
use crate::policy::{ActionSelector, EpsilonSchedule};
use crate::tensor_ops::index_tensor;
use crate::value::{QFunction, QTable};

/// Which tabular control algorithm [`train_tabular`] runs.
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub enum TabularControl {
    /// Off-policy: bootstrap from `max_a' Q(s', a')`.
    QLearning,
    /// On-policy: bootstrap from the next action actually chosen.
    Sarsa,
    /// Bootstrap from the expectation under the epsilon-greedy policy.
    ExpectedSarsa,
}

/// The updater [`train_tabular`] runs, built once from the config.
enum Learner {
    QLearning(QLearning),
    Sarsa(Sarsa),
    ExpectedSarsa(ExpectedSarsa),
}

impl Learner {
    fn new(algorithm: TabularControl, td: &TabularTdConfig) -> Result<Self> {
        Ok(match algorithm {
            TabularControl::QLearning => Learner::QLearning(QLearning::new(td)?),
            TabularControl::Sarsa => Learner::Sarsa(Sarsa::new(td)?),
            TabularControl::ExpectedSarsa => Learner::ExpectedSarsa(ExpectedSarsa::new(td)?),
        })
    }
}

/// Settings of [`train_tabular`].
#[derive(Config, Debug, PartialEq)]
pub struct TabularControlConfig {
    /// The algorithm.
    pub algorithm: TabularControl,
    /// Discount and step size.
    pub td: TabularTdConfig,
    /// Exploration rate as a function of the episode index.
    #[config(default = "EpsilonSchedule::Constant { epsilon: 0.1 }")]
    pub exploration: EpsilonSchedule,
    /// Episodes to run (at least 1).
    #[config(default = 500)]
    pub episodes: usize,
    /// Seed of the environment (first reset) and of the exploration.
    #[config(default = 0)]
    pub seed: u64,
}

/// Runs `config.episodes` episodes of online tabular control on `env`, updating `q` after every
/// step with epsilon-greedy exploration, and returns each episode's statistics (the online
/// returns, exploration included).
///
/// Episodes run until the environment ends them: wrap continuing tasks in a
/// [`crate::env::TimeLimit`]. A truncated step bootstraps; a terminated one does not.
///
/// # Errors
///
/// [`crate::Error::InvalidConfig`] for a bad config; [`crate::Error::InvalidState`] or
/// [`crate::Error::InvalidAction`] when the table is smaller than the environment; whatever the
/// environment returns.
///
/// # Example
///
/// ```
/// use valuefn::algo::{train_tabular, StepSize, TabularControl, TabularControlConfig, TabularTdConfig};
/// use valuefn::env::tabular::CliffWalking;
/// use valuefn::prelude::*;
///
/// let device = valuefn::device::default_device();
/// let mut env = TabularEnv::new(CliffWalking::new());
/// let mut q = QTable::zeros(48, 4, &device);
/// let td = TabularTdConfig::new().with_gamma(1.0).with_step_size(StepSize::Constant { alpha: 0.5 });
/// let config = TabularControlConfig::new(TabularControl::QLearning, td).with_episodes(20);
/// let stats = train_tabular(&mut env, &mut q, &config)?;
/// assert_eq!(stats.len(), 20);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn train_tabular<E>(
    env: &mut E,
    q: &mut QTable,
    config: &TabularControlConfig,
) -> Result<Vec<EpisodeStats>>
where
    E: Environment<Observation = usize, Action = usize>,
{
    config.exploration.validate()?;
    if config.episodes == 0 {
        return Err(crate::Error::config("episodes", "at least 1", 0));
    }
    let mut learner = Learner::new(config.algorithm, &config.td)?;
    let device = q.tensor().device();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut stats = Vec::with_capacity(config.episodes);
    for episode in 0..config.episodes {
        let policy = config.exploration.at(episode)?;
        let act = |q: &QTable, s: usize, rng: &mut StdRng| -> Result<usize> {
            Ok(policy.select(q.q_values(index_tensor(&[s], &device))?, rng)[0])
        };
        let mut state = env.reset((episode == 0).then_some(config.seed));
        let mut action = act(q, state, &mut rng)?;
        let mut totals = EpisodeStats {
            episode_return: 0.0,
            length: 0,
            terminated: false,
        };
        loop {
            let step = env.step(action)?;
            totals.episode_return += step.reward;
            totals.length += 1;
            let batch = TabularBatch::single(
                state,
                action,
                step.reward,
                step.observation,
                step.terminated,
            )?;
            let next_action = act(q, step.observation, &mut rng)?;
            match &mut learner {
                Learner::QLearning(l) => l.update(q, &batch)?,
                Learner::Sarsa(l) => l.update(q, &batch, &[next_action])?,
                Learner::ExpectedSarsa(l) => l.update(q, &batch, &policy)?,
            };
            if step.done() {
                totals.terminated = step.terminated;
                break;
            }
            state = step.observation;
            action = next_action;
        }
        stats.push(totals);
    }
    Ok(stats)
}
