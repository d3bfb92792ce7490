//! The KL penalty of RLHF-style fine-tuning: per-token rewards `r_t - beta KL_t` against a
//! frozen reference policy, with a fixed or adaptive `beta`.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::algo::actor_critic::{
    ActorCritic, BatchRows, RolloutBatch, RolloutHooks, RolloutSource,
};
use crate::env::Snapshot;
use crate::error::{Error, Result, check_finite, check_positive};
use crate::policy::ActorCriticModel;
use crate::policy::{KlEstimator, LogitsPolicy, kl_estimates, log_prob};
use crate::tensor_ops::{check_action_indices, check_shape, to_vec_f32};

/// Settings of [`KlPenalty`].
///
/// # Example
///
/// ```
/// use valuefn::algo::actor_critic::KlPenaltyConfig;
///
/// // Adaptive beta aiming at 0.05 nats per token (Ziegler et al. 2019's controller).
/// let config = KlPenaltyConfig::new().with_beta(0.2).with_target(Some(0.05));
/// assert!(config.validate().is_ok());
/// assert!(config.with_beta(-1.0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct KlPenaltyConfig {
    /// The initial coefficient `beta` (`>= 0`).
    #[config(default = 0.1)]
    pub beta: f64,
    /// How each token's divergence is estimated from `log pi - log pi_ref` of the token taken
    /// (`K1`, the log-ratio, is what TRL and Ziegler et al. use).
    #[config(default = "KlEstimator::K1")]
    pub estimator: KlEstimator,
    /// `Some(kl)`: adapt `beta` toward a mean KL per token of `kl` (> 0); `None`: fixed.
    #[config(default = "None")]
    pub target: Option<f64>,
    /// Tokens over which the adaptive controller may change `beta` by 20% (>= 1).
    #[config(default = 10000)]
    pub horizon: usize,
}

impl KlPenaltyConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        check_finite("beta", self.beta)?;
        if self.beta < 0.0 {
            return Err(Error::config("beta", "at least 0", self.beta));
        }
        if let Some(target) = self.target {
            check_positive("target", target)?;
        }
        if self.horizon == 0 {
            return Err(Error::config("horizon", "at least 1", 0));
        }
        Ok(())
    }
}

/// What one [`KlPenalty::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KlPenaltyStats {
    /// Mean estimated KL per counted token.
    pub mean_kl: f64,
    /// The `beta` the rewards were penalised with.
    pub beta: f64,
    /// `beta` for the next rollout (equal to `beta` when fixed).
    pub next_beta: f64,
    /// Tokens (counted transitions) penalised.
    pub tokens: usize,
}

/// The KL penalty of KL-regularised fine-tuning (Ziegler et al. 2019; Stiennon et al. 2020;
/// InstructGPT): before an actor-critic update, every transition's reward becomes
///
/// ```text
/// r_t - beta KL_t,      KL_t = k(log pi(a_t|s_t) - log pi_ref(a_t|s_t))     (k1, k2 or k3)
/// ```
///
/// so GAE over the tokens, the PPO objective, value clipping and masked advantage whitening of
/// [`crate::algo::actor_critic::ActorCritic`] optimise `E[sum r] - beta KL(pi || pi_ref)`.
/// `pi_ref` is read through an inference copy (no gradients, no optimiser state). With a
/// target, `beta` adapts after each rollout: `beta <- beta (1 + clip(KL / target - 1, -0.2, 0.2)
/// min(tokens / horizon, 1))`, so it moves by at most 20% per rollout and stays `>= 0` (a
/// `beta` of 0 stays 0).
///
/// # Example
///
/// ```
/// use valuefn::algo::actor_critic::{KlPenalty, KlPenaltyConfig};
///
/// let penalty = KlPenalty::new(KlPenaltyConfig::new().with_beta(0.5))?;
/// assert_eq!(penalty.beta(), 0.5);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KlPenalty {
    config: KlPenaltyConfig,
    beta: f64,
}

impl KlPenalty {
    /// A penalty starting at `config.beta`.
    ///
    /// # Errors
    ///
    /// As [`KlPenaltyConfig::validate`].
    pub fn new(config: KlPenaltyConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            beta: config.beta,
            config,
        })
    }

    /// The current coefficient.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The settings.
    pub fn config(&self) -> &KlPenaltyConfig {
        &self.config
    }

    /// Subtracts `beta KL_t` from the reward of every counted transition of `batch` (the
    /// policy's and the reference's log-probabilities of the actions taken: the policy's from
    /// the batch's [`crate::batch::RolloutScores`] when its collector kept them, else one pass
    /// of `actor`; one pass of the reference), then adapts `beta` when a target is set.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for a batch whose actions, mask or observations do not match
    /// its rollout, or two policies with different action counts; [`Error::InvalidAction`] for
    /// an action outside the policy's; errors of the policies on
    /// the observations; [`Error::NonFinite`] for a log-probability or penalised reward that is
    /// not finite. On error, neither the batch nor `beta` has changed.
    pub fn apply<P, R>(
        &mut self,
        batch: &mut RolloutBatch<P::Input>,
        actor: &P,
        reference: &R,
    ) -> Result<KlPenaltyStats>
    where
        P: Module + LogitsPolicy,
        P::Input: Clone,
        R: Module + LogitsPolicy<Input = P::Input>,
    {
        let [steps, envs] = batch.rollout.shape();
        let len = steps * envs;
        check_shape("rollout actions", batch.actions.dims(), [len])?;
        let mask = batch.mask.clone().unwrap_or_else(|| vec![true; len]);
        if mask.len() != len {
            return Err(Error::ShapeMismatch {
                what: "rollout mask",
                expected: vec![steps, envs],
                actual: vec![mask.len()],
            });
        }
        let num_actions = actor.num_actions();
        let reference_logits = reference.valid().logits(batch.observations.clone())?;
        check_shape(
            "reference logits (as the policy's)",
            reference_logits.dims(),
            [len, num_actions],
        )?;
        check_action_indices(&batch.actions, num_actions)?;
        let log_pi = match &batch.scores {
            Some(scores) => {
                scores.check(len)?;
                Tensor::from_data(
                    TensorData::new(scores.log_probs.clone(), [len]),
                    &batch.actions.device(),
                )
            }
            None => {
                let logits = actor.valid().logits(batch.observations.clone())?;
                check_shape("policy logits", logits.dims(), [len, num_actions])?;
                log_prob(logits, batch.actions.clone())
            }
        };
        let log_ref = log_prob(reference_logits, batch.actions.clone());
        let kl = to_vec_f32(kl_estimates(log_pi, log_ref, self.config.estimator));
        let beta = self.beta;
        let mut rewards = batch.rollout.rewards.clone();
        let (mut total, mut tokens) = (0.0, 0usize);
        for ((reward, &k), &counted) in rewards.iter_mut().zip(&kl).zip(&mask) {
            if !counted {
                continue;
            }
            let k = f64::from(k);
            let penalised = (f64::from(*reward) - beta * k) as f32;
            if !penalised.is_finite() {
                return Err(Error::NonFinite {
                    what: "KL-penalised reward",
                    value: f64::from(penalised),
                });
            }
            *reward = penalised;
            total += k;
            tokens += 1;
        }
        let mean_kl = total / tokens.max(1) as f64;
        let next_beta = match self.config.target {
            Some(target) => {
                // The step is at most 20% of beta, however many tokens the rollout holds, so
                // beta never turns negative.
                let error = (mean_kl / target - 1.0).clamp(-0.2, 0.2);
                let weight = (tokens as f64 / self.config.horizon as f64).min(1.0);
                beta * (1.0 + error * weight)
            }
            None => beta,
        };
        batch.rollout.rewards = rewards;
        self.beta = next_beta;
        Ok(KlPenaltyStats {
            mean_kl,
            beta,
            next_beta,
            tokens,
        })
    }
}

/// The saved state of a [`KlPenalty`] (its [`Snapshot`]): the current `beta`, which an
/// adaptive penalty has moved away from its config's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KlPenaltySnapshot {
    /// The coefficient the next rollout is penalised with.
    pub beta: f64,
}

/// The penalty's settings are its config's; what changes as it runs is `beta`.
impl Snapshot for KlPenalty {
    type Snapshot = KlPenaltySnapshot;

    fn snapshot(&self) -> KlPenaltySnapshot {
        KlPenaltySnapshot { beta: self.beta }
    }

    /// # Errors
    ///
    /// [`Error::NonFinite`] for a `beta` that is not finite, [`Error::InvalidConfig`] for a
    /// negative one (as for the config's); nothing changes then.
    fn restore(&mut self, snapshot: KlPenaltySnapshot) -> Result<()> {
        check_finite("beta", snapshot.beta)?;
        if snapshot.beta < 0.0 {
            return Err(Error::config("beta", "at least 0", snapshot.beta));
        }
        self.beta = snapshot.beta;
        Ok(())
    }
}

/// A [`KlPenalty`] against a reference policy as a hook of
/// [`crate::algo::actor_critic::train_on_policy`]: applied to every rollout before its update,
/// with the actor of the model being trained (made with [`KlPenalty::against`]).
#[derive(Debug)]
pub struct KlPenaltyHook<'r, R> {
    penalty: KlPenalty,
    reference: &'r R,
    last: Option<KlPenaltyStats>,
}

impl KlPenalty {
    /// This penalty as a hook of [`crate::algo::actor_critic::train_on_policy`] against
    /// `reference` (`pi_ref`, read through an inference copy).
    pub fn against<R>(self, reference: &R) -> KlPenaltyHook<'_, R> {
        KlPenaltyHook {
            penalty: self,
            reference,
            last: None,
        }
    }
}

impl<R> KlPenaltyHook<'_, R> {
    /// The penalty (its current `beta`).
    pub fn penalty(&self) -> &KlPenalty {
        &self.penalty
    }

    /// What the last rollout's penalty did; `None` before the first.
    pub fn last(&self) -> Option<KlPenaltyStats> {
        self.last
    }
}

/// What a resumable run saves of the hook: its penalty's `beta` (the reference is the
/// caller's; [`KlPenaltyHook::last`] is what this process measured, and stays).
impl<R> Snapshot for KlPenaltyHook<'_, R> {
    type Snapshot = KlPenaltySnapshot;

    fn snapshot(&self) -> KlPenaltySnapshot {
        self.penalty.snapshot()
    }

    fn restore(&mut self, snapshot: KlPenaltySnapshot) -> Result<()> {
        self.penalty.restore(snapshot)
    }
}

impl<M, S, R, I> RolloutHooks<M, S> for KlPenaltyHook<'_, R>
where
    M: Module + ActorCriticModel<Input = I> + LogitsPolicy<Input = I>,
    I: BatchRows + Clone,
    S: RolloutSource<M>,
    R: Module + LogitsPolicy<Input = I>,
{
    fn before_update(
        &mut self,
        rollout: &mut S::Rollout,
        updater: &ActorCritic<M>,
        _: &S,
        _: &Device,
    ) -> Result<()> {
        let stats = self
            .penalty
            .apply(rollout.as_mut(), updater.model(), self.reference)?;
        self.last = Some(stats);
        Ok(())
    }
}
