//! One-call training loops for tabular control.

use burn::config::Config;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::algo::tabular::host::{bootstrap_one, row_dot, row_max};
use crate::algo::tabular::step_size::StepSizes;
use crate::algo::{ExpectedSarsa, QLearning, Sarsa, TabularBatch, TabularPath, TabularTdConfig};
use crate::env::{Environment, EpisodeStats};
use crate::error::{Error, Result, check_finite_f32};
use crate::policy::{ActionSelector, EpsilonSchedule, HostSelector};
use crate::tensor_ops::{check_has_actions, index_tensor, to_vec_f32};
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
    /// The updater of the tensor path: its updates stay tensor ops too.
    fn new(algorithm: TabularControl, td: &TabularTdConfig) -> Result<Self> {
        let path = TabularPath::Tensor;
        Ok(match algorithm {
            TabularControl::QLearning => Learner::QLearning(QLearning::new(td)?.with_path(path)),
            TabularControl::Sarsa => Learner::Sarsa(Sarsa::new(td)?.with_path(path)),
            TabularControl::ExpectedSarsa => {
                Learner::ExpectedSarsa(ExpectedSarsa::new(td)?.with_path(path))
            }
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
    /// Where the table lives while training: by default on the host when the table's device
    /// is a CPU backend (the same numbers, hundreds of times faster); see [`TabularPath`].
    #[config(default = "TabularPath::Auto")]
    pub path: TabularPath,
}

/// Runs `config.episodes` episodes of online tabular control on `env`, updating `q` after every
/// step with epsilon-greedy exploration, and returns each episode's statistics (the online
/// returns, exploration included).
///
/// Episodes run until the environment ends them: wrap continuing tasks in a
/// [`crate::env::TimeLimit`]. A truncated step bootstraps; a terminated one does not.
///
/// On a CPU backend (or with `config.path` [`TabularPath::Host`]) the table is read into host
/// memory once, trained there with the tensor path's `f32` arithmetic and the same random
/// draws ([`HostSelector`]), and written back once at the end (also when an error stops the
/// run, so the table holds every update made before it, as on the tensor path).
///
/// # Errors
///
/// [`crate::Error::InvalidConfig`] for a bad config; [`crate::Error::ShapeMismatch`] for a
/// table with no actions; [`crate::Error::InvalidState`] or [`crate::Error::InvalidAction`]
/// when the table is smaller than the environment; [`crate::Error::NonFinite`] for a reward
/// that is not a finite `f32`; whatever the environment returns.
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
    check_has_actions("Q table (at least one action)", q.tensor().dims())?;
    let device = q.tensor().device();
    if config.path.runs_on_host(&device) {
        let [num_states, num_actions] = q.tensor().dims();
        let mut table = to_vec_f32(q.tensor().clone());
        let result = train_on_host(env, &mut table, num_actions, config);
        let flat =
            Tensor::<1>::from_data(TensorData::new(table, [num_states * num_actions]), &device);
        q.set_flat(flat);
        return result;
    }
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

/// The host path of [`train_tabular`]: the same loop on a flat `[num_states * num_actions]`
/// table, with the tensor path's checks in its order, its `f32` arithmetic and its draws.
fn train_on_host<E>(
    env: &mut E,
    table: &mut [f32],
    num_actions: usize,
    config: &TabularControlConfig,
) -> Result<Vec<EpisodeStats>>
where
    E: Environment<Observation = usize, Action = usize>,
{
    let len = table.len();
    let num_states = len / num_actions;
    let check_state = |state: usize| {
        if state < num_states {
            Ok(state)
        } else {
            Err(Error::InvalidState { state, num_states })
        }
    };
    let gamma = config.td.gamma as f32;
    let mut step_sizes = StepSizes::new(config.td.step_size);
    let mut probabilities = vec![0.0f32; num_actions];
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut stats = Vec::with_capacity(config.episodes);
    for episode in 0..config.episodes {
        let policy = config.exploration.at(episode)?;
        let mut state = check_state(env.reset((episode == 0).then_some(config.seed)))?;
        let mut action = policy.select_row(&table[state * num_actions..][..num_actions], &mut rng);
        let mut totals = EpisodeStats {
            episode_return: 0.0,
            length: 0,
            terminated: false,
        };
        loop {
            let step = env.step(action)?;
            totals.episode_return += step.reward;
            totals.length += 1;
            let reward = check_finite_f32("reward (as the f32 the tables store)", step.reward)?;
            let next_state = check_state(step.observation)?;
            let next_row = &table[next_state * num_actions..][..num_actions];
            let next_action = policy.select_row(next_row, &mut rng);
            let next_value = match config.algorithm {
                TabularControl::QLearning => row_max(next_row),
                TabularControl::Sarsa => next_row[next_action],
                TabularControl::ExpectedSarsa => {
                    policy.row_probabilities(next_row, &mut probabilities);
                    row_dot(next_row, &probabilities)
                }
            };
            let target = bootstrap_one(reward, step.terminated, next_value, gamma);
            let index = state * num_actions + action;
            let td_error = target - table[index];
            table[index] += step_sizes.scale_one(td_error, index, len);
            if step.done() {
                totals.terminated = step.terminated;
                break;
            }
            state = next_state;
            action = next_action;
        }
        stats.push(totals);
    }
    Ok(stats)
}
