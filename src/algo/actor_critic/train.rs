//! `train_actor_critic`: the whole on-policy loop in one call.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Device;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::algo::actor_critic::on_policy::{Evaluate, round};
use crate::algo::actor_critic::{
    ActorCritic, ActorCriticStats, BatchRows, RolloutBatch, RolloutSource,
};
use crate::algo::evaluation::{evaluation_seed, run_episodes};
use crate::algo::run::{RunConfig, TrainMetrics, TrainReport, TrainRun};
use crate::checkpoint::ChaCha12Rng;
use crate::encode::ObservationEncoder;
use crate::env::{Environment, SyncVecEnv};
use crate::error::{Error, Result, check_size};
use crate::policy::{ActorCriticModel, LogitsPolicy, Policy};
use crate::returns::Rollout;
use crate::tensor_ops::{index_tensor, to_indices};

/// Settings of [`train_actor_critic`]. Step counts are environment transitions summed over
/// all copies, as Stable-Baselines3 counts `total_timesteps`.
///
/// # Example
///
/// ```
/// use valuefn::algo::actor_critic::ActorCriticTrainConfig;
///
/// let config = ActorCriticTrainConfig::new().with_n_steps(16);
/// assert!(config.validate().is_ok());
/// assert!(config.with_n_steps(0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct ActorCriticTrainConfig {
    /// Steps of every copy per rollout (>= 1): a rollout is `n_steps * copies` transitions.
    #[config(default = 5)]
    pub n_steps: usize,
    /// Environment steps to run, over all copies (>= 1); the last rollout is completed.
    #[config(default = 100_000)]
    pub total_steps: u64,
    /// Evaluate the greedy policy every this many steps (0: only at the end).
    #[config(default = 0)]
    pub eval_every: u64,
    /// Episodes per evaluation (0: no evaluation).
    #[config(default = 10)]
    pub eval_episodes: usize,
    /// Step cap of one evaluation episode, in case the environment has no time limit.
    #[config(default = 100_000)]
    pub eval_max_steps: usize,
    /// Seed of the environments and of the action sampling.
    #[config(default = 0)]
    pub seed: u64,
    /// Draw a progress bar on stderr (it is hidden anyway when stderr is not a terminal).
    #[config(default = true)]
    pub progress_bar: bool,
    /// Write the metrics as JSON lines to this file.
    #[config(default = "None")]
    pub metrics_path: Option<String>,
}

impl ActorCriticTrainConfig {
    /// rl-baselines3-zoo's A2C on CartPole-v1 (with 8 copies): rollouts of 5 steps, 100k
    /// steps. Pair it with [`crate::algo::actor_critic::ActorCriticConfig::new`] (A2C's
    /// defaults) and `[64, 64]` tanh networks.
    pub fn a2c_cartpole() -> Self {
        Self::new().with_n_steps(5).with_total_steps(100_000)
    }

    /// rl-baselines3-zoo's PPO on CartPole-v1 (with 8 copies): rollouts of 32 steps, 100k
    /// steps. Pair it with
    /// [`crate::algo::actor_critic::ActorCriticConfig::ppo_cartpole`] given
    /// [`ActorCriticTrainConfig::total_gradient_steps`].
    pub fn ppo_cartpole() -> Self {
        Self::new().with_n_steps(32).with_total_steps(100_000)
    }

    /// The gradient steps a run takes with `copies` environments, `epochs` passes and
    /// minibatches of `minibatch_size` (1 and the rollout size for A2C): what a learning rate
    /// that anneals over the whole run needs to know. Saturates at `u64::MAX` instead of
    /// overflowing.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::algo::actor_critic::ActorCriticTrainConfig;
    ///
    /// // 100k steps in rollouts of 8 x 32 = 256: 391 rollouts of 20 epochs of one minibatch.
    /// let ppo = ActorCriticTrainConfig::ppo_cartpole();
    /// assert_eq!(ppo.total_gradient_steps(8, 20, 256), 7820);
    /// let huge = ActorCriticTrainConfig::new().with_n_steps(usize::MAX);
    /// let huge = huge.with_total_steps(u64::MAX);
    /// assert_eq!(huge.total_gradient_steps(usize::MAX, usize::MAX, 1), u64::MAX);
    /// ```
    pub fn total_gradient_steps(&self, copies: usize, epochs: usize, minibatch_size: usize) -> u64 {
        let rollout = (self.n_steps as u64).saturating_mul(copies as u64).max(1);
        let rollouts = self.total_steps.div_ceil(rollout);
        let minibatches = rollout.div_ceil(minibatch_size.max(1) as u64);
        rollouts
            .saturating_mul(epochs as u64)
            .saturating_mul(minibatches)
    }

    /// The old name of [`ActorCriticTrainConfig::total_gradient_steps`] (every other
    /// `gradient_steps` in the crate counts steps taken).
    #[deprecated(note = "renamed to `total_gradient_steps`")]
    pub fn gradient_steps(&self, copies: usize, epochs: usize, minibatch_size: usize) -> u64 {
        self.total_gradient_steps(copies, epochs, minibatch_size)
    }

    /// The settings every loop shares: steps, evaluation schedule, progress bar, metrics
    /// file (what [`crate::algo::actor_critic::train_on_policy`] takes).
    pub fn run_config(&self) -> RunConfig {
        RunConfig::new(self.total_steps)
            .with_eval_every(self.eval_every)
            .with_progress_bar(self.progress_bar)
            .with_metrics_path(self.metrics_path.clone())
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("n_steps", self.n_steps as u64),
            ("total_steps", self.total_steps),
            ("eval_max_steps", self.eval_max_steps as u64),
        ] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", 0));
            }
        }
        Ok(())
    }
}

/// One line of [`train_actor_critic`]'s metrics log.
pub type ActorCriticMetrics = TrainMetrics<UpdateRecord>;

/// What [`train_actor_critic`] did (with the best evaluated model beside the last one).
pub type ActorCriticReport<M> = TrainReport<M, UpdateRecord>;

/// The update statistics of a metrics line (see [`ActorCriticStats`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRecord {
    /// Policy loss.
    pub policy_loss: f64,
    /// Value loss.
    pub value_loss: f64,
    /// Mean entropy.
    pub entropy: f64,
    /// Approximate KL.
    pub approx_kl: f64,
    /// Clip fraction.
    pub clip_fraction: f64,
    /// Explained variance (`null` when the returns were constant).
    pub explained_variance: Option<f64>,
}

impl From<&ActorCriticStats> for UpdateRecord {
    fn from(stats: &ActorCriticStats) -> Self {
        Self {
            policy_loss: stats.policy_loss,
            value_loss: stats.value_loss,
            entropy: stats.entropy,
            approx_kl: stats.approx_kl,
            clip_fraction: stats.clip_fraction,
            explained_variance: stats
                .explained_variance
                .is_finite()
                .then_some(stats.explained_variance),
        }
    }
}

/// Mean return of `episodes` episodes of the greedy policy of `actor` (`argmax_a pi(a|s)`,
/// ties to the lowest action) on `env`, episode `k` reset with seed `seed + k`; each stops at
/// `max_steps` steps if the environment has not ended it.
///
/// # Errors
///
/// [`Error::InvalidConfig`] when `episodes` or `max_steps` is 0; the encoder's, policy's and
/// environment's errors.
pub fn evaluate_actor<E, Enc, P>(
    actor: &P,
    env: &mut E,
    encoder: &Enc,
    episodes: usize,
    max_steps: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<f64>>
where
    E: Environment<Action = usize>,
    Enc: ObservationEncoder<E::Observation, Output = P::Input>,
    P: LogitsPolicy,
{
    run_episodes(env, episodes, max_steps, seed, |observation| {
        let x = encoder.encode(std::slice::from_ref(observation), device)?;
        Ok(to_indices(actor.greedy_actions(x)?)[0])
    })
}

/// Trains `updater` on the copies in `envs` for `config.total_steps` environment steps:
/// rollouts of `n_steps` steps of every copy with actions sampled from the actor (a truncated
/// episode's true last observation kept for the bootstrap, copies reset as their episodes
/// end), each followed by one [`ActorCritic::update`]. The greedy policy is evaluated on
/// `eval_env` every `eval_every` steps and at the end.
///
/// The encoder turns observations into the networks' input (e.g.
/// [`crate::encode::Features`] for CartPole, [`crate::encode::StateIndex`] for tables).
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a bad config; [`Error::TooLarge`] for a rollout of more than
/// `2^28` transitions (`n_steps x copies`); [`Error::Io`] when the metrics file cannot be
/// written; any error of the environments, encoder or updater (a NaN reward, for one) stops
/// the run and is returned.
pub fn train_actor_critic<E, Enc, M, I>(
    config: &ActorCriticTrainConfig,
    updater: &mut ActorCritic<M>,
    envs: &mut SyncVecEnv<E>,
    eval_env: Option<&mut E>,
    encoder: &Enc,
    device: &Device,
) -> Result<ActorCriticReport<M>>
where
    E: Environment<Action = usize>,
    E::Observation: Clone,
    E::ActionSpace: std::fmt::Debug,
    Enc: ObservationEncoder<E::Observation, Output = I>,
    M: Module + ActorCriticModel<Input = I> + LogitsPolicy<Input = I>,
    I: BatchRows,
{
    config.validate()?;
    let mut state = ActorCriticLoop::start(config, envs)?;
    state.run(
        config,
        updater,
        envs,
        eval_env,
        encoder,
        device,
        |_, _, _| Ok(false),
    )?;
    state.run.finish()
}

/// The most transitions one rollout holds (`n_steps x copies`), `2^28`: its columns are
/// allocated up front.
const MAX_ROLLOUT: usize = 1 << 28;

/// Everything an actor-critic run carries from one update to the next, apart from the updater
/// and the environments: what a training checkpoint saves beside them.
pub(super) struct ActorCriticLoop<M, O> {
    pub(super) run: TrainRun<M, UpdateRecord>,
    pub(super) rng: ChaCha12Rng,
    /// The copies' current observations.
    pub(super) observations: Vec<O>,
}

impl<M: Module, O: Clone> ActorCriticLoop<M, O> {
    /// A fresh run, the copies reset with `config.seed`.
    pub(super) fn start<E>(
        config: &ActorCriticTrainConfig,
        envs: &mut SyncVecEnv<E>,
    ) -> Result<Self>
    where
        E: Environment<Action = usize, Observation = O>,
        E::ActionSpace: std::fmt::Debug,
    {
        Ok(Self {
            run: TrainRun::from_config(&config.run_config())?,
            rng: ChaCha12Rng::seed_from_u64(config.seed ^ 0x9E37_79B9_7F4A_7C15),
            observations: envs.reset(Some(config.seed)),
        })
    }

    /// Runs rollouts and updates until the run is done or `after_update` (called after every
    /// update and its evaluation, with the loop, the updater and the environments) returns
    /// `true`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run<E, Enc, I>(
        &mut self,
        config: &ActorCriticTrainConfig,
        updater: &mut ActorCritic<M>,
        envs: &mut SyncVecEnv<E>,
        eval_env: Option<&mut E>,
        encoder: &Enc,
        device: &Device,
        mut after_update: impl FnMut(&Self, &ActorCritic<M>, &SyncVecEnv<E>) -> Result<bool>,
    ) -> Result<()>
    where
        E: Environment<Action = usize, Observation = O>,
        E::ActionSpace: std::fmt::Debug,
        Enc: ObservationEncoder<O, Output = I>,
        M: ActorCriticModel<Input = I> + LogitsPolicy<Input = I>,
        I: BatchRows,
    {
        // The rollout's columns are allocated up front: its size is checked first.
        let len = check_size(
            "rollout transitions (n_steps x copies)",
            config.n_steps,
            envs.len(),
            MAX_ROLLOUT,
        )?;
        // The greedy evaluation, when there is an environment and episodes to run.
        let mut evaluate = eval_env.filter(|_| config.eval_episodes > 0).map(|env| {
            move |model: &M| -> Result<f64> {
                let returns = evaluate_actor(
                    &model.valid(),
                    env,
                    encoder,
                    config.eval_episodes,
                    config.eval_max_steps,
                    evaluation_seed(config.seed),
                    device,
                )?;
                Ok(returns.iter().sum::<f64>() / returns.len() as f64)
            }
        });
        while !self.run.done() {
            let mut source = EnvRollouts {
                envs: &mut *envs,
                encoder,
                n_steps: config.n_steps,
                len,
                rng: &mut self.rng,
                observations: &mut self.observations,
            };
            let mut evaluate = evaluate.as_mut().map(|f| f as Evaluate<'_, M>);
            round(
                &mut self.run,
                updater,
                &mut source,
                &mut evaluate,
                &mut (),
                device,
            )?;
            if after_update(self, updater, envs)? {
                break;
            }
        }
        Ok(())
    }
}

/// Rollouts of `n_steps` steps of every copy in `envs`, actions sampled from the model's
/// policy: a truncated episode's true last observation kept for the bootstrap, copies reset as
/// their episodes end. A step is one transition of one copy.
struct EnvRollouts<'a, E: Environment, Enc> {
    envs: &'a mut SyncVecEnv<E>,
    encoder: &'a Enc,
    n_steps: usize,
    /// `n_steps x copies`, checked.
    len: usize,
    rng: &'a mut ChaCha12Rng,
    /// The copies' current observations.
    observations: &'a mut Vec<E::Observation>,
}

impl<E, Enc, M, I> RolloutSource<M> for EnvRollouts<'_, E, Enc>
where
    E: Environment<Action = usize>,
    E::Observation: Clone,
    E::ActionSpace: std::fmt::Debug,
    Enc: ObservationEncoder<E::Observation, Output = I>,
    M: Module + ActorCriticModel<Input = I> + LogitsPolicy<Input = I>,
    I: BatchRows,
{
    type Rollout = RolloutBatch<I>;

    fn rollout<S: Serialize + Clone>(
        &mut self,
        model: &M,
        run: &mut TrainRun<M, S>,
        device: &Device,
    ) -> Result<RolloutBatch<I>> {
        let (n, len) = (self.envs.len(), self.len);
        let acting = model.valid();
        let mut inputs = self.encoder.encode(self.observations, device)?;
        let mut observation_parts = Vec::with_capacity(self.n_steps);
        let mut next_parts = Vec::with_capacity(self.n_steps);
        let mut actions_taken = Vec::with_capacity(len);
        let mut rewards = Vec::with_capacity(len);
        let mut terminated = Vec::with_capacity(len);
        let mut truncated = Vec::with_capacity(len);
        for _ in 0..self.n_steps {
            let actions = acting.sample_actions(inputs.clone(), self.rng)?;
            let step = self.envs.step(&actions)?;
            let next_inputs = self.encoder.encode(&step.observations, device)?;
            // The state each step reached: the new observation, or for a copy that was
            // reset, its episode's true last observation.
            let reached = if step.final_observations.iter().any(Option::is_some) {
                let finals: Vec<E::Observation> = step
                    .final_observations
                    .iter()
                    .zip(&step.observations)
                    .map(|(last, now)| last.as_ref().unwrap_or(now).clone())
                    .collect();
                self.encoder.encode(&finals, device)?
            } else {
                next_inputs.clone()
            };
            observation_parts.push(inputs);
            next_parts.push(reached);
            actions_taken.extend_from_slice(&actions);
            rewards.extend(step.rewards.iter().map(|&r| r as f32));
            terminated.extend_from_slice(&step.terminated);
            truncated.extend_from_slice(&step.truncated);
            run.advance(n as u64);
            run.steps_taken(&step.rewards, &step.terminated, &step.truncated, None)?;
            inputs = next_inputs;
            *self.observations = step.observations;
        }
        Ok(RolloutBatch {
            observations: I::concat_rows(observation_parts),
            actions: index_tensor(&actions_taken, device),
            next_observations: I::concat_rows(next_parts),
            rollout: Rollout::new(self.n_steps, n, rewards, terminated, truncated, device)?,
            mask: None,
            scores: None,
        })
    }
}
