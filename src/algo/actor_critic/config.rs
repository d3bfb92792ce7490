//! Settings of the [`crate::algo::actor_critic::ActorCritic`] updater.

use burn::config::Config;

use crate::algo::actor_critic::LossAggregation;
use crate::algo::optim::{LearningRateSchedule, OptimizerConfig};
use crate::error::{Error, Result, check_gamma, check_positive, check_unit_interval};
use crate::returns::GroupBaseline;

/// How advantages and value targets are estimated from a rollout (both by the
/// [`crate::returns`] module).
#[derive(Config, Debug, Copy, PartialEq)]
pub enum AdvantageEstimator {
    /// Generalized advantage estimation ([`crate::returns::gae`]); the value targets are
    /// `A + V`. `lambda = 1` gives the bootstrapped return to the end of the rollout (A2C's
    /// n-step return), `lambda = 0` the one-step TD error.
    Gae {
        /// In `[0, 1]`.
        lambda: f64,
    },
    /// `n`-step returns ([`crate::returns::n_step_targets`]) as value targets, advantages
    /// `target - V`.
    NStep {
        /// Steps summed before bootstrapping (>= 1).
        n: usize,
    },
    /// Critic-free: each episode's return minus a baseline from the other samples of its
    /// prompt ([`crate::returns::group_advantages`]: GRPO, Dr. GRPO, RLOO, ReMax), given to
    /// every token of the episode. The rollout must carry its groups
    /// ([`crate::returns::Rollout::with_groups`]; [`crate::lm::TokenCollector::grouped`] collects
    /// them) and hold one episode per column. No value is read; the value targets are the
    /// returns-to-go (set `value_coef` to 0 to leave the critic untrained).
    Group {
        /// The baseline.
        baseline: GroupBaseline,
    },
    /// Critic-free: REINFORCE++'s returns-to-go standardised over the rollout
    /// ([`crate::returns::normalized_returns`]); one episode per column.
    NormalizedReturns,
    /// A Q critic, the plain form of the actor-critic the crate is named for: the policy
    /// gradient weighted by `Q(s, a)` itself (`theta += alpha grad log pi(a|s) Q(s, a)`). The
    /// critic is the model's Q head ([`crate::policy::ActorCriticModel::logits_and_q_values`]),
    /// learned by expected-SARSA TD on the rollout's own tokens: `Q(s, a)` regresses on
    /// `r + gamma sum_a' pi(a'|s') Q(s', a')` (no bootstrap where the step terminated), with
    /// `pi` and `Q` of the model before the update. Unbiased only if `Q = Q^pi`, and of high
    /// variance: see `QAdvantage`.
    QValue,
    /// A Q critic with the policy's own baseline: `A = Q(s, a) - sum_a' pi(a'|s) Q(s, a')`
    /// (the critic's `V = E_pi Q`), the critic learned as for `QValue`.
    QAdvantage,
}

impl AdvantageEstimator {
    /// Whether the estimator reads the critic's values (GAE and n-step do; the critic-free
    /// estimators do not).
    pub fn uses_critic(&self) -> bool {
        !matches!(
            self,
            AdvantageEstimator::Group { .. } | AdvantageEstimator::NormalizedReturns
        )
    }

    /// Whether the critic is a Q head (`QValue`, `QAdvantage`) rather than a V head.
    pub fn uses_q_critic(&self) -> bool {
        matches!(
            self,
            AdvantageEstimator::QValue | AdvantageEstimator::QAdvantage
        )
    }
}

/// PPO's clipped objective and its epochs of minibatches (Schulman et al. 2017).
#[derive(Config, Debug, PartialEq)]
pub struct PpoConfig {
    /// The ratio `pi / pi_old` is clipped to `[1 - clip_range, 1 + clip_range]` (> 0).
    #[config(default = 0.2)]
    pub clip_range: f64,
    /// Passes over the rollout per update (>= 1).
    #[config(default = 10)]
    pub epochs: usize,
    /// Transitions per minibatch (>= 1); a rollout that does not divide evenly ends with a
    /// smaller one.
    #[config(default = 64)]
    pub minibatch_size: usize,
    /// Clip the value prediction to within this distance of the rollout's values and take the
    /// larger of the clipped and unclipped squared errors (OpenAI baselines' PPO2); `None` for
    /// the plain squared error.
    #[config(default = "None")]
    pub clip_range_value: Option<f64>,
    /// Stop the update's remaining minibatches once the approximate KL of a minibatch exceeds
    /// 1.5 times this (Stable-Baselines3's rule); `None` never stops early.
    #[config(default = "None")]
    pub target_kl: Option<f64>,
}

impl PpoConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        check_positive("ppo.clip_range", self.clip_range)?;
        for (field, value) in [
            ("ppo.epochs", self.epochs),
            ("ppo.minibatch_size", self.minibatch_size),
        ] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", 0));
            }
        }
        if let Some(clip) = self.clip_range_value {
            check_positive("ppo.clip_range_value", clip)?;
        }
        if let Some(kl) = self.target_kl {
            check_positive("ppo.target_kl", kl)?;
        }
        Ok(())
    }
}

/// Settings of the [`crate::algo::actor_critic::ActorCritic`] updater. The defaults are
/// Stable-Baselines3's A2C: gamma 0.99, GAE with lambda 1, no advantage normalisation, value
/// coefficient 0.5, no entropy bonus, gradient norm 0.5, RMSprop (alpha 0.99, epsilon 1e-5)
/// at 7e-4 for both networks.
///
/// The actor and the critic have **separate optimisers and learning rates**. With the same
/// optimiser and rate for both, the update equals one optimiser over both networks (every
/// optimiser here is per parameter), which is what Stable-Baselines3 runs.
///
/// # Example
///
/// ```
/// use valuefn::algo::actor_critic::{ActorCriticConfig, PpoConfig};
/// use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
///
/// let ppo = ActorCriticConfig::new()
///     .with_ppo(Some(PpoConfig::new().with_epochs(4)))
///     .with_actor_optimizer(OptimizerConfig::Adam { epsilon: 1e-5 })
///     .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 1e-3 });
/// assert!(ppo.validate().is_ok());
/// assert!(ppo.with_ppo(Some(PpoConfig::new().with_clip_range(0.0))).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct ActorCriticConfig {
    /// Discount factor, in `[0, 1]`.
    #[config(default = 0.99)]
    pub gamma: f64,
    /// The advantage estimator.
    #[config(default = "AdvantageEstimator::Gae { lambda: 1.0 }")]
    pub advantage: AdvantageEstimator,
    /// Standardise the advantages of each minibatch to mean 0 and standard deviation 1.
    #[config(default = false)]
    pub normalize_advantage: bool,
    /// Weight of the value loss (>= 0).
    #[config(default = 0.5)]
    pub value_coef: f64,
    /// Weight of the entropy bonus (>= 0).
    #[config(default = 0.0)]
    pub entropy_coef: f64,
    /// Clip the gradient of both networks together to this global L2 norm (PyTorch's
    /// `clip_grad_norm_`); `None` leaves it unclipped.
    #[config(default = "Some(0.5)")]
    pub max_grad_norm: Option<f64>,
    /// The actor's optimiser.
    #[config(default = "OptimizerConfig::RMSPROP")]
    pub actor_optimizer: OptimizerConfig,
    /// The critic's optimiser.
    #[config(default = "OptimizerConfig::RMSPROP")]
    pub critic_optimizer: OptimizerConfig,
    /// The actor's learning rate, by gradient step.
    #[config(default = "LearningRateSchedule::Constant { rate: 7e-4 }")]
    pub actor_learning_rate: LearningRateSchedule,
    /// The critic's learning rate, by gradient step.
    #[config(default = "LearningRateSchedule::Constant { rate: 7e-4 }")]
    pub critic_learning_rate: LearningRateSchedule,
    /// `None`: A2C, one gradient step on the whole rollout with the plain policy gradient.
    /// `Some`: PPO's clipped objective over epochs of minibatches.
    #[config(default = "None")]
    pub ppo: Option<PpoConfig>,
    /// How the policy loss averages over transitions and sequences.
    #[config(default = "LossAggregation::TokenMean")]
    pub loss_aggregation: LossAggregation,
    /// Truncated importance sampling (Yao et al. 2025) for rollouts sampled by a policy `mu`
    /// other than the learner's (an older copy, another backend or precision): each
    /// transition's advantage is weighted by `min(pi_old(a|s) / mu(a|s), cap)`, where
    /// `mu(a|s)` is the batch's [`crate::batch::RolloutScores::log_probs`] and `pi_old` the
    /// learner's policy before the update (one more inference pass of the policy; PPO's ratio is
    /// taken against `pi_old`); the scores' values are used as recorded. `None`: the sampler is
    /// the learner.
    /// The cap must be finite and > 0.
    #[config(default = "None")]
    pub importance_cap: Option<f64>,
    /// Seed of the minibatch shuffling (each update draws from `seed` and its own index).
    #[config(default = 0)]
    pub seed: u64,
}

impl ActorCriticConfig {
    /// Stable-Baselines3's PPO defaults, as rl-baselines3-zoo tunes them for CartPole-v1:
    /// gamma 0.98, GAE lambda 0.8, normalised advantages, clip 0.2, 20 epochs of minibatches
    /// of 256, Adam (epsilon 1e-5) at a rate falling linearly from 1e-3 to 0 over
    /// `total_gradient_steps` (the run's, from
    /// [`crate::algo::actor_critic::ActorCriticTrainConfig::total_gradient_steps`]), value
    /// coefficient 0.5, gradient norm 0.5.
    pub fn ppo_cartpole(total_gradient_steps: u64) -> Self {
        let rate = LearningRateSchedule::Linear {
            start: 1e-3,
            end: 0.0,
            steps: total_gradient_steps.max(1),
        };
        let adam = OptimizerConfig::Adam { epsilon: 1e-5 };
        Self::new()
            .with_gamma(0.98)
            .with_advantage(AdvantageEstimator::Gae { lambda: 0.8 })
            .with_normalize_advantage(true)
            .with_actor_optimizer(adam)
            .with_critic_optimizer(adam)
            .with_actor_learning_rate(rate)
            .with_critic_learning_rate(rate)
            .with_ppo(Some(
                PpoConfig::new().with_epochs(20).with_minibatch_size(256),
            ))
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        check_gamma(self.gamma)?;
        match self.advantage {
            AdvantageEstimator::Gae { lambda } => check_unit_interval("advantage.lambda", lambda)?,
            AdvantageEstimator::NStep { n: 0 } => {
                return Err(Error::config("advantage.n", "at least 1", 0));
            }
            AdvantageEstimator::NStep { .. }
            | AdvantageEstimator::NormalizedReturns
            | AdvantageEstimator::QValue
            | AdvantageEstimator::QAdvantage => {}
            AdvantageEstimator::Group { baseline } => baseline.validate()?,
        }
        if let Some(cap) = self.importance_cap {
            check_positive("importance_cap", cap)?;
        }
        for (field, value) in [
            ("value_coef", self.value_coef),
            ("entropy_coef", self.entropy_coef),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::config(field, "finite and >= 0", value));
            }
        }
        if let Some(norm) = self.max_grad_norm {
            check_positive("max_grad_norm", norm)?;
        }
        self.actor_optimizer.validate()?;
        self.critic_optimizer.validate()?;
        self.actor_learning_rate.validate()?;
        self.critic_learning_rate.validate()?;
        if let Some(ppo) = &self.ppo {
            ppo.validate()?;
        }
        Ok(())
    }
}
