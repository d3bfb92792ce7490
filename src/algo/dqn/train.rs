//! `train_dqn`: the whole deep Q-learning loop in one call.

use std::time::Instant;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::algo::dqn::Dqn;
use crate::algo::evaluation::{evaluation_seed, run_episodes};
use crate::algo::run::{TrainMetrics, TrainReport, TrainRun};
use crate::checkpoint::ChaCha12Rng;
use crate::encode::FeatureEncoder;
use crate::env::{Environment, SyncVecEnv};
use crate::error::{Error, Result};
use crate::policy::{ActionSelector, EpsilonGreedy, EpsilonSchedule};
use crate::replay::{
    EnvStep, NStepCollector, PrioritizedConfig, PrioritizedReplay, Replay, ReplayBuffer,
    ReplayConfig, RowReplay, SampledBatch, Transition,
};
use crate::value::QFunction;

/// Which replay memory [`train_dqn`] samples from.
#[derive(Config, Debug, PartialEq)]
pub enum ReplayKind {
    /// Uniform sampling ([`ReplayBuffer`]).
    Uniform,
    /// Proportional prioritized replay ([`PrioritizedReplay`]); beta is annealed over the run.
    Prioritized(PrioritizedConfig),
}

/// Settings of [`train_dqn`]. Step counts are environment transitions summed over all copies,
/// as Stable-Baselines3 counts `total_timesteps`.
///
/// # Example
///
/// ```
/// use valuefn::algo::dqn::DqnTrainConfig;
///
/// let config = DqnTrainConfig::new().with_total_steps(1000).with_batch_size(32);
/// assert!(config.validate().is_ok());
/// assert!(config.with_batch_size(0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct DqnTrainConfig {
    /// Environment steps to run, over all copies (>= 1).
    #[config(default = 50_000)]
    pub total_steps: u64,
    /// Replay capacity in transitions (>= batch_size).
    #[config(default = 100_000)]
    pub buffer_size: usize,
    /// Transitions per gradient step (>= 1).
    #[config(default = 64)]
    pub batch_size: usize,
    /// Steps of uniformly random actions before learning starts.
    #[config(default = 1000)]
    pub learning_starts: u64,
    /// Train after every `train_frequency` calls of the vector environment's `step` (>= 1).
    #[config(default = 4)]
    pub train_frequency: u64,
    /// Gradient steps per training phase (>= 1): Stable-Baselines3's `gradient_steps`, kept
    /// under its name; the learners' `gradient_steps()` count the steps taken so far.
    #[config(default = 1)]
    pub gradient_steps: usize,
    /// Exploration rate as a function of the environment step.
    #[config(default = "EpsilonSchedule::Linear { start: 1.0, end: 0.05, steps: 5000 }")]
    pub exploration: EpsilonSchedule,
    /// Uniform or prioritized replay.
    #[config(default = "ReplayKind::Uniform")]
    pub replay: ReplayKind,
    /// Evaluate the greedy policy every this many steps (0: only at the end).
    #[config(default = 0)]
    pub eval_every: u64,
    /// Episodes per evaluation (0: no evaluation).
    #[config(default = 10)]
    pub eval_episodes: usize,
    /// Step cap of one evaluation episode, in case the environment has no time limit.
    #[config(default = 100_000)]
    pub eval_max_steps: usize,
    /// Seed of the environments, the exploration and the replay sampling.
    #[config(default = 0)]
    pub seed: u64,
    /// Draw a progress bar on stderr (it is hidden anyway when stderr is not a terminal).
    #[config(default = true)]
    pub progress_bar: bool,
    /// Write the metrics as JSON lines to this file.
    #[config(default = "None")]
    pub metrics_path: Option<String>,
}

impl DqnTrainConfig {
    /// rl-baselines3-zoo's tuned DQN loop for CartPole-v1: 50k steps, batch 64, buffer 100k,
    /// learning starts 1000, 128 gradient steps every 256 environment steps, epsilon 1 -> 0.04
    /// over the first 16% of steps. The updater's half (gamma, Adam at 2.3e-3, the target
    /// schedule) is [`crate::algo::dqn::DqnConfig::zoo_cartpole`]; the zoo's network is `[256, 256]` (see
    /// [`crate::nn::QNetworkConfig`]).
    ///
    /// # Example
    ///
    /// ```
    /// let config = valuefn::algo::dqn::DqnTrainConfig::zoo_cartpole();
    /// assert_eq!((config.total_steps, config.batch_size, config.gradient_steps), (50_000, 64, 128));
    /// assert!(config.validate().is_ok());
    /// ```
    pub fn zoo_cartpole() -> Self {
        Self::new()
            .with_total_steps(50_000)
            .with_buffer_size(100_000)
            .with_batch_size(64)
            .with_learning_starts(1000)
            .with_train_frequency(256)
            .with_gradient_steps(128)
            .with_exploration(EpsilonSchedule::Linear {
                start: 1.0,
                end: 0.04,
                steps: 8000,
            })
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        self.exploration.validate()?;
        for (field, value) in [
            ("total_steps", self.total_steps),
            ("batch_size", self.batch_size as u64),
            ("train_frequency", self.train_frequency),
            ("gradient_steps", self.gradient_steps as u64),
            ("eval_max_steps", self.eval_max_steps as u64),
        ] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", 0));
            }
        }
        if self.buffer_size < self.batch_size {
            return Err(Error::config(
                "buffer_size",
                "at least batch_size",
                self.buffer_size,
            ));
        }
        if let ReplayKind::Prioritized(per) = &self.replay {
            per.validate()?;
        }
        Ok(())
    }
}

/// The statistics of one DQN training phase (its gradient steps' means), as a metrics line
/// writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DqnUpdate {
    /// Mean loss of the training phase.
    pub loss: f64,
    /// Mean `Q(s, a)` of that training phase.
    pub mean_q: f64,
}

/// One line of [`train_dqn`]'s metrics log.
pub type DqnMetrics = TrainMetrics<DqnUpdate>;

/// What [`train_dqn`] did (with the best evaluated Q-network beside the last one).
pub type DqnReport<Q> = TrainReport<Q, DqnUpdate>;

/// Mean return of `episodes` greedy episodes of `q` on `env` (`argmax_a Q`, ties to the
/// lowest action), episode `k` reset with seed `seed + k`; each episode stops at
/// `max_steps` steps if the environment has not ended it.
///
/// # Errors
///
/// [`Error::InvalidConfig`] when `episodes` or `max_steps` is 0; the encoder's, network's and
/// environment's errors.
pub fn evaluate_greedy<E, Enc, Q>(
    q: &Q,
    env: &mut E,
    encoder: &Enc,
    episodes: usize,
    max_steps: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<f64>>
where
    E: Environment<Action = usize>,
    Enc: FeatureEncoder<E::Observation>,
    Q: QFunction<Input = Tensor<2>>,
{
    run_episodes(env, episodes, max_steps, seed, |observation| {
        let x = encoder.encode(std::slice::from_ref(observation), device)?;
        let greedy = q.q_values(x)?.argmax(1);
        Ok(crate::tensor_ops::to_indices(greedy.reshape([1]))[0])
    })
}

/// Trains `dqn` on the copies in `envs` for `config.total_steps` environment steps, as
/// Stable-Baselines3's DQN does: uniformly random actions for `learning_starts` steps, then
/// epsilon-greedy on the online network with epsilon from `exploration`; every transition
/// (n-step where the updater's `n_step > 1`, each copy's sequence kept apart, a truncated episode
/// bootstrapping from its true last observation) goes into the replay memory; every
/// `train_frequency` vector steps, `gradient_steps` updates on sampled batches (prioritized
/// replay gets the TD errors back). The greedy policy is evaluated on `eval_env` every
/// `eval_every` steps and at the end.
///
/// The updater's own config governs the update and is the one place of gamma and n-step: the
/// replayed transitions are built from `dqn.config().gamma` and `n_step`.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a bad config; [`Error::Io`] when the metrics file cannot be
/// written; any error of the environments, encoder or updater (a NaN reward, for one) stops the
/// run and is returned.
pub fn train_dqn<E, Enc, Q>(
    config: &DqnTrainConfig,
    dqn: &mut Dqn<Q>,
    envs: &mut SyncVecEnv<E>,
    eval_env: Option<&mut E>,
    encoder: &Enc,
    device: &Device,
) -> Result<DqnReport<Q>>
where
    E: Environment<Action = usize>,
    E::ActionSpace: std::fmt::Debug,
    Enc: FeatureEncoder<E::Observation>,
    Q: Module + QFunction<Input = Tensor<2>>,
{
    config.validate()?;
    let mut state = DqnLoop::start(config, dqn, envs, encoder)?;
    state.run(config, dqn, envs, eval_env, encoder, device, |_, _, _| {
        Ok(false)
    })?;
    state.run.finish()
}

/// Everything a DQN run carries from one environment step to the next, apart from the updater
/// and the environments: what a training checkpoint saves beside them.
pub(super) struct DqnLoop<Q, O> {
    pub(super) memory: Memory,
    pub(super) collector: NStepCollector,
    pub(super) run: TrainRun<Q, DqnUpdate>,
    pub(super) rng: ChaCha12Rng,
    /// The copies' current observations.
    pub(super) observations: Vec<O>,
    /// Calls of the vector environment's `step` so far.
    pub(super) vec_steps: u64,
}

impl<Q, O> DqnLoop<Q, O>
where
    Q: Module + QFunction<Input = Tensor<2>>,
{
    /// A fresh run: empty memory, the copies reset with `config.seed`.
    pub(super) fn start<E, Enc>(
        config: &DqnTrainConfig,
        dqn: &Dqn<Q>,
        envs: &mut SyncVecEnv<E>,
        encoder: &Enc,
    ) -> Result<Self>
    where
        E: Environment<Action = usize, Observation = O>,
        E::ActionSpace: std::fmt::Debug,
        Enc: FeatureEncoder<O>,
    {
        let (memory, collector) = empty_memory(config, dqn, envs.len(), encoder.dim())?;
        Ok(Self {
            memory,
            collector,
            run: TrainRun::new(
                config.total_steps,
                config.eval_every,
                config.progress_bar,
                config.metrics_path.as_deref(),
            )?,
            rng: ChaCha12Rng::seed_from_u64(config.seed ^ 0x9E37_79B9_7F4A_7C15),
            observations: envs.reset(Some(config.seed)),
            vec_steps: 0,
        })
    }

    /// Runs until the run is done or `after_step` (called after every vector step with the
    /// loop, the updater and the environments) returns `true`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run<E, Enc>(
        &mut self,
        config: &DqnTrainConfig,
        dqn: &mut Dqn<Q>,
        envs: &mut SyncVecEnv<E>,
        mut eval_env: Option<&mut E>,
        encoder: &Enc,
        device: &Device,
        mut after_step: impl FnMut(&Self, &Dqn<Q>, &SyncVecEnv<E>) -> Result<bool>,
    ) -> Result<()>
    where
        E: Environment<Action = usize, Observation = O>,
        E::ActionSpace: std::fmt::Debug,
        Enc: FeatureEncoder<O>,
    {
        let num_actions = dqn.online().num_actions();
        let dim = encoder.dim();
        let n = envs.len();
        let (mut row, mut next_row) = (vec![0.0f32; dim], vec![0.0f32; dim]);
        // The online network as it was after the last training phase (a checkpoint is only
        // ever taken between phases, so a resumed run rebuilds it from the online network).
        let mut acting = dqn.online().valid();

        while !self.run.done() {
            let epsilon = config.exploration.value(self.run.steps() as usize);
            let actions = if self.run.steps() < config.learning_starts {
                (0..n)
                    .map(|_| self.rng.random_range(0..num_actions))
                    .collect()
            } else {
                let q = acting.q_values(encoder.encode(&self.observations, device)?)?;
                EpsilonGreedy::new(epsilon)?.select(q, &mut self.rng)
            };
            let step = envs.step(&actions)?;
            for (i, &action) in actions.iter().enumerate() {
                let next = step.final_observations[i]
                    .as_ref()
                    .unwrap_or(&step.observations[i]);
                encoder.write_features(&self.observations[i], &mut row)?;
                encoder.write_features(next, &mut next_row)?;
                let transition = EnvStep {
                    observation: &row,
                    action,
                    reward: step.rewards[i],
                    next_observation: &next_row,
                    terminated: step.terminated[i],
                    truncated: step.truncated[i],
                };
                self.collector.push(i, transition, &mut self.memory)?;
            }
            self.run.advance(n as u64);
            self.vec_steps += 1;
            self.run.steps_taken(
                &step.rewards,
                &step.terminated,
                &step.truncated,
                Some(epsilon),
            )?;
            self.observations = step.observations;

            if self.run.steps() >= config.learning_starts
                && self.vec_steps.is_multiple_of(config.train_frequency)
                && self.memory.len() >= config.batch_size
            {
                let phase = Instant::now();
                self.memory
                    .set_progress(self.run.steps() as f64 / config.total_steps as f64);
                let (mut loss, mut mean_q) = (0.0, 0.0);
                for _ in 0..config.gradient_steps {
                    let sampled = self
                        .memory
                        .sample(config.batch_size, device, &mut self.rng)?;
                    let stats = dqn.update(&sampled.batch)?;
                    self.memory
                        .update_priorities(&sampled.indices, &stats.td_errors)?;
                    loss += stats.loss;
                    mean_q += stats.mean_q;
                }
                acting = dqn.online().valid();
                let phases = config.gradient_steps as f64;
                self.run.updated(
                    DqnUpdate {
                        loss: loss / phases,
                        mean_q: mean_q / phases,
                    },
                    config.gradient_steps as u64,
                    phase.elapsed().as_secs_f64(),
                    Some(epsilon),
                )?;
            }

            if let Some(env) = eval_env.as_deref_mut()
                && config.eval_episodes > 0
                && self.run.evaluation_due(self.run.done())
            {
                let returns = evaluate_greedy(
                    &acting,
                    env,
                    encoder,
                    config.eval_episodes,
                    config.eval_max_steps,
                    evaluation_seed(config.seed),
                    device,
                )?;
                let mean = returns.iter().sum::<f64>() / returns.len() as f64;
                self.run.evaluated(mean, dqn.online())?;
            }
            if after_step(self, dqn, envs)? {
                break;
            }
        }
        Ok(())
    }
}

/// The empty replay memory and n-step collector of a run with `num_envs` copies whose
/// observations encode to `dim` features (what a resumed run refills). Nothing outside them
/// is touched: a resume that fails later has not yet opened the metrics file.
pub(super) fn empty_memory<Q>(
    config: &DqnTrainConfig,
    dqn: &Dqn<Q>,
    num_envs: usize,
    dim: usize,
) -> Result<(Memory, NStepCollector)>
where
    Q: Module + QFunction<Input = Tensor<2>>,
{
    let (gamma, n_step) = (dqn.config().gamma, dqn.config().n_step);
    let replay_config = ReplayConfig::new(config.buffer_size, dim, dqn.online().num_actions());
    let memory = match &config.replay {
        ReplayKind::Uniform => Memory::Uniform(ReplayBuffer::new(&replay_config)?),
        ReplayKind::Prioritized(per) => {
            Memory::Prioritized(PrioritizedReplay::new(&replay_config, per)?)
        }
    };
    Ok((memory, NStepCollector::new(n_step, gamma, num_envs)?))
}

/// The memory [`train_dqn`] runs, chosen at run time by [`ReplayKind`].
pub(super) enum Memory {
    Uniform(ReplayBuffer),
    Prioritized(PrioritizedReplay),
}

macro_rules! delegate {
    ($self:ident, $memory:ident => $call:expr) => {
        match $self {
            Memory::Uniform($memory) => $call,
            Memory::Prioritized($memory) => $call,
        }
    };
}

impl Replay for Memory {
    type Item<'a> = Transition<'a>;
    type Input = Tensor<2>;

    fn push(&mut self, transition: Transition<'_>) -> Result<()> {
        delegate!(self, m => m.push(transition))
    }
    fn len(&self) -> usize {
        delegate!(self, m => m.len())
    }
    fn capacity(&self) -> usize {
        delegate!(self, m => m.capacity())
    }
    fn sample<R: rand::Rng + ?Sized>(
        &mut self,
        batch_size: usize,
        device: &Device,
        rng: &mut R,
    ) -> Result<SampledBatch> {
        delegate!(self, m => m.sample(batch_size, device, rng))
    }
    fn update_priorities(&mut self, indices: &[usize], td_errors: &[f32]) -> Result<()> {
        delegate!(self, m => m.update_priorities(indices, td_errors))
    }
    fn set_progress(&mut self, fraction: f64) {
        delegate!(self, m => m.set_progress(fraction))
    }
}

impl RowReplay for Memory {
    fn observation_dim(&self) -> usize {
        delegate!(self, m => m.observation_dim())
    }
    fn num_actions(&self) -> usize {
        delegate!(self, m => m.num_actions())
    }
}
