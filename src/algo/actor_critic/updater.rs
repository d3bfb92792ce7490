//! The actor-critic updater (A2C and PPO), generic over one actor-critic model.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::algo::actor_critic::loss::{
    approx_kl, clip_fraction, clipped_surrogate_loss, clipped_value_loss, explained_variance,
    normalize_advantages, policy_gradient_loss, value_loss,
};
use crate::algo::actor_critic::{ActorCriticConfig, AdvantageEstimator};
use crate::algo::step::{Optimizer, PendingStep};
use crate::batch::{BatchRows, RolloutBatch};
use crate::error::{Error, Result};
use crate::policy::{ActorCriticModel, PolicyQValues, PolicyValue, entropy, log_prob};
use crate::returns::{Advantages, gae, group_advantages, n_step_targets, normalized_returns};
use crate::tensor_ops::{
    check_action_indices, host_log_softmax_at, host_softmax, index_tensor, to_indices, to_vec_f32,
};

/// What one [`ActorCritic::update`] did: means over the minibatches it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorCriticStats {
    /// The policy loss (`-mean A log pi` for A2C, the clipped surrogate for PPO).
    pub policy_loss: f64,
    /// The value loss, before its coefficient.
    pub value_loss: f64,
    /// Mean entropy of the policy over the states.
    pub entropy: f64,
    /// Approximate `KL(pi_old || pi)` ([`crate::algo::actor_critic::approx_kl`]), 0 on the
    /// first minibatch.
    pub approx_kl: f64,
    /// Fraction of ratios outside the clip range (0 for A2C).
    pub clip_fraction: f64,
    /// How much of the value targets' variance the batch's `V(s)` explained before the update
    /// ([`crate::algo::actor_critic::explained_variance`]): the critic's own values, unless
    /// the batch's scores were replaced (Monte Carlo values, a sampler's), whose fit it then
    /// measures.
    pub explained_variance: f64,
    /// Mean global gradient norm before clipping (`None` when clipping is off).
    pub grad_norm: Option<f64>,
    /// Gradient steps taken by this update.
    pub gradient_steps: u64,
    /// Whether PPO's target KL stopped the update before its last epoch.
    pub stopped_early: bool,
    /// The actor's learning rate at the last step.
    pub actor_learning_rate: f64,
    /// The critic's learning rate at the last step.
    pub critic_learning_rate: f64,
}

/// Actor-critic updates: A2C (Mnih et al. 2016) or PPO (Schulman et al. 2017) from one
/// config, generic over the model `M`: any burn [`Module`] that is an [`ActorCriticModel`],
/// i.e. gives the policy's logits and the values of a batch from one forward pass. A language
/// model with policy and value heads on one trunk ([`crate::lm::TokenModel`]) runs its trunk
/// once per minibatch; two separate networks train as one model through
/// [`crate::policy::PolicyAndValue`].
///
/// For a rollout of `T * B` transitions, with the rollout's policy `pi_old` and values
/// `V_old`:
///
/// ```text
/// A, R      = gae(rollout, V_old(s), V_old(s'), gamma, lambda)     (or n-step: R - V_old;
///             a group baseline or REINFORCE++ without a critic; a Q critic's Q_old(s, a))
/// A2C:  L_pi = -mean(A log pi(a|s))
/// PPO:  L_pi = -mean(min(r A, clip(r, 1 - eps, 1 + eps) A)),  r = pi(a|s) / pi_old(a|s)
/// L_V       = mean((V(s) - R)^2)                      (optionally clipped around V_old)
/// loss      = L_pi + c_V L_V - c_H mean(H(pi(.|s)))
/// ```
///
/// with each `A` weighted by the loss aggregation and the truncated importance weight when
/// those are set (see [`crate::algo::actor_critic::LossAggregation`] and
/// [`ActorCriticConfig::importance_cap`]; docs/baselines.md compares the estimators against the
/// exact advantage), then the global gradient norm of the whole model is clipped, and the critic's own
/// parameters ([`ActorCriticModel::critic_gradients`]: a separate critic, or a value head) take
/// a step with the critic's optimiser and learning rate, everything else (the actor and any
/// shared trunk) with the actor's. A2C takes one step on the whole
/// rollout; PPO takes `epochs` passes of shuffled minibatches, stopping early when a
/// minibatch's approximate KL exceeds `1.5 * target_kl`. Advantages come from
/// [`crate::returns::gae`] or [`crate::returns::n_step_targets`]: [`ActorCritic::advantages`]
/// gives them.
///
/// `V_old` and `log pi_old` come from the rollout's [`crate::batch::RolloutScores`] when its
/// collector kept them ([`crate::lm::TokenCollector::collect`] does), so an A2C update on a token
/// model is **one forward and one backward pass of the trunk**; without them the update runs
/// the model once more, without gradients, to get them.
///
/// Build the model on an autodiff device (`device.autodiff()`); the rollout's tensors may sit
/// on the plain device.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Int, Tensor, TensorData};
/// use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, RolloutBatch};
/// use valuefn::nn::{CategoricalPolicyConfig, VNetworkConfig};
/// use valuefn::policy::PolicyAndValue;
/// use valuefn::returns::Rollout;
///
/// let device = valuefn::device::default_device();
/// let train = device.clone().autodiff();
/// let actor = CategoricalPolicyConfig::new(2, 3).with_hidden(vec![8]).init(&train)?;
/// let critic = VNetworkConfig::new(2).with_hidden(vec![8]).init(&train)?;
/// let mut a2c = ActorCritic::new(ActorCriticConfig::new(), PolicyAndValue::new(actor, critic))?;
/// // T = 2 steps of B = 1 copy; the second step terminates.
/// let batch = RolloutBatch {
///     observations: Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0]], &device),
///     actions: Tensor::<1, Int>::from_ints([2, 0], &device),
///     next_observations: Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 0.0]], &device),
///     rollout: Rollout::new(2, 1, vec![1.0, 0.0], vec![false, true], vec![false; 2], &device)?,
///     mask: None,
///     scores: None,
/// };
/// let stats = a2c.update(&batch)?;
/// assert_eq!(stats.gradient_steps, 1);
/// assert!(stats.entropy > 1.0); // near-uniform over 3 actions: ln 3 = 1.0986
/// # Ok::<(), valuefn::Error>(())
/// ```
pub struct ActorCritic<M> {
    config: ActorCriticConfig,
    model: M,
    /// The actor's (and shared trunk's) optimiser, then the critic's.
    optimizers: [Optimizer; 2],
    gradient_steps: u64,
    updates: u64,
}

impl<M: std::fmt::Debug> std::fmt::Debug for ActorCritic<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorCritic")
            .field("config", &self.config)
            .field("model", &self.model)
            .field("gradient_steps", &self.gradient_steps)
            .field("updates", &self.updates)
            .finish_non_exhaustive()
    }
}

/// The rollout's constants an update reads, one entry per transition (`[T * B]`).
struct Scored {
    /// `log pi_old(a|s)`, which only PPO's ratio reads (A2C's single step starts at `pi_old`).
    old_log_probs: Option<Tensor<1>>,
    old_values: Tensor<1>,
    advantages: Tensor<1>,
    /// Each transition's weight on its advantage: the loss aggregation's times the truncated
    /// importance weight; `None` when all are 1.
    weights: Option<Tensor<1>>,
    returns: Tensor<1>,
    explained_variance: f64,
}

/// What the model said before the update (see [`ActorCritic::old_scores`]).
struct OldScores {
    /// `V_old` of the observations then of the next observations, `2 * T * B` values.
    values: Vec<f32>,
    /// `log pi_old(a|s)` when asked for (PPO's ratio).
    log_probs: Option<Tensor<1>>,
    /// The truncated importance weights `min(pi_old / mu, cap)`, with a cap.
    importance: Option<Vec<f32>>,
    /// A Q critic's `Q_old(s, a)` of the actions taken.
    taken_q: Option<Vec<f32>>,
}

/// Truncated importance weights `min(exp(log pi - log mu), cap)`.
fn importance_weights(learner: &[f32], sampled: &[f32], cap: f64) -> Vec<f32> {
    learner
        .iter()
        .zip(sampled)
        .map(|(&pi, &mu)| (f64::from(pi - mu).exp().min(cap)) as f32)
        .collect()
}

/// Sums of the per-minibatch statistics.
#[derive(Default)]
struct Totals {
    minibatches: usize,
    policy_loss: f64,
    value_loss: f64,
    entropy: f64,
    approx_kl: f64,
    clip_fraction: f64,
    grad_norm: f64,
    stopped_early: bool,
}

impl<M> ActorCritic<M>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
{
    /// An updater training `model` from fresh optimisers.
    ///
    /// # Errors
    ///
    /// As [`ActorCriticConfig::validate`].
    pub fn new(config: ActorCriticConfig, model: M) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            optimizers: [
                Optimizer::new(config.actor_optimizer, config.actor_learning_rate),
                Optimizer::new(config.critic_optimizer, config.critic_learning_rate),
            ],
            config,
            model,
            gradient_steps: 0,
            updates: 0,
        })
    }

    /// Restores an updater from its parts (see [`crate::algo::actor_critic::ActorCriticCheckpoint`]).
    pub(crate) fn from_parts(
        config: ActorCriticConfig,
        model: M,
        optimizers: [ModuleOptimizer; 2],
        gradient_steps: u64,
        updates: u64,
    ) -> Self {
        let [actor, critic] = optimizers;
        Self {
            optimizers: [
                Optimizer::with_state(config.actor_learning_rate, actor),
                Optimizer::with_state(config.critic_learning_rate, critic),
            ],
            config,
            model,
            gradient_steps,
            updates,
        }
    }

    pub(crate) fn optimizers(&self) -> [&ModuleOptimizer; 2] {
        self.optimizers.each_ref().map(Optimizer::state)
    }

    /// The settings.
    pub fn config(&self) -> &ActorCriticConfig {
        &self.config
    }

    /// The model being trained (actor and critic).
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, giving up the updater.
    pub fn into_model(self) -> M {
        self.model
    }

    /// Gradient steps taken so far (minibatches, summed over updates).
    pub fn gradient_steps(&self) -> u64 {
        self.gradient_steps
    }

    /// Updates (rollouts) applied so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The advantages and value targets an update would use on `batch`: the config's estimator
    /// from [`crate::returns`] on the values of `observations` and `next_observations` (the
    /// batch's scores, or the model's current values).
    ///
    /// # Errors
    ///
    /// As [`ActorCritic::update`].
    pub fn advantages(&self, batch: &RolloutBatch<M::Input>) -> Result<Advantages> {
        let len = self.check(batch)?;
        let old = self.old_scores(batch, len, false)?;
        self.estimate(batch, &old, len)
    }

    /// One update on `batch` (see the type's docs for the equations).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the actions, observations, mask and rollout disagree in
    /// length or the observations do not fit the networks; [`Error::Empty`] for a mask with no
    /// transition; [`Error::InvalidAction`] for an action
    /// outside `0..num_actions`; [`Error::NonFinite`] for a value, loss or gradient that is not
    /// finite (NaN observations end there). On error, nothing has changed: networks,
    /// optimiser states and counters are as before the call.
    pub fn update(&mut self, batch: &RolloutBatch<M::Input>) -> Result<ActorCriticStats> {
        let len = self.check(batch)?;
        let ppo = self.config.ppo.is_some();
        let old = self.old_scores(batch, len, ppo)?;
        let scored = self.score(batch, old, len)?;
        let saved = (
            self.model.clone(),
            self.optimizers.clone(),
            self.gradient_steps,
        );
        let totals = self.run_epochs(batch, &scored, len);
        let totals = match totals {
            Ok(totals) => totals,
            Err(error) => {
                (self.model, self.optimizers, self.gradient_steps) = saved;
                return Err(error);
            }
        };
        let steps = self.gradient_steps - saved.2;
        self.updates += 1;
        let n = totals.minibatches.max(1) as f64;
        let last = self.gradient_steps.saturating_sub(1);
        Ok(ActorCriticStats {
            policy_loss: totals.policy_loss / n,
            value_loss: totals.value_loss / n,
            entropy: totals.entropy / n,
            approx_kl: totals.approx_kl / n,
            clip_fraction: totals.clip_fraction / n,
            explained_variance: scored.explained_variance,
            grad_norm: self.config.max_grad_norm.map(|_| totals.grad_norm / n),
            gradient_steps: steps,
            stopped_early: totals.stopped_early,
            actor_learning_rate: self.optimizers[0].rate(last),
            critic_learning_rate: self.optimizers[1].rate(last),
        })
    }

    /// Checks lengths, actions and scores; returns `T * B`.
    fn check(&self, batch: &RolloutBatch<M::Input>) -> Result<usize> {
        let [steps, envs] = batch.rollout.shape();
        let len = steps * envs;
        for (what, rows) in [
            ("rollout actions", batch.actions.dims()[0]),
            ("rollout observations", batch.observations.num_rows()),
            (
                "rollout next observations",
                batch.next_observations.num_rows(),
            ),
        ] {
            if rows != len {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![steps, envs],
                    actual: vec![rows],
                });
            }
        }
        if let Some(mask) = &batch.mask {
            if mask.len() != len {
                return Err(Error::ShapeMismatch {
                    what: "rollout mask",
                    expected: vec![steps, envs],
                    actual: vec![mask.len()],
                });
            }
            if !mask.contains(&true) {
                return Err(Error::Empty {
                    what: "rollout (the mask leaves no transition)",
                });
            }
        }
        check_action_indices(&batch.actions, self.model.num_actions())?;
        if let Some(scores) = &batch.scores {
            scores.check(len)?;
        }
        Ok(len)
    }

    /// What the update reads of the model before it steps (see [`OldScores`]): the batch's
    /// scores, or inference passes of the model (values only: one, over observations and next
    /// observations together, skipped when a critic-free estimator leaves the critic
    /// untrained; with log-probabilities: one for the logits and values of the observations,
    /// one for the values of the next observations), one read-back. With
    /// [`ActorCriticConfig::importance_cap`], the scores' values stand, their log-probabilities
    /// are the sampler's, and one pass of the model gives the learner's (the importance weights
    /// and PPO's `pi_old`).
    fn old_scores(
        &self,
        batch: &RolloutBatch<M::Input>,
        len: usize,
        want_log_probs: bool,
    ) -> Result<OldScores> {
        let device = batch.rollout.device();
        let q_critic = self.config.advantage.uses_q_critic();
        let sampler = match (self.config.importance_cap, &batch.scores) {
            // The recorded values are a V head's: a Q critic reads its own.
            (None, Some(scores)) if !q_critic => {
                let mut values = Vec::with_capacity(2 * len);
                values.extend_from_slice(&scores.values);
                values.extend_from_slice(&scores.next_values);
                let log_probs =
                    want_log_probs.then(|| host_tensor(&scores.log_probs, [len], device));
                return Ok(OldScores {
                    values,
                    log_probs,
                    importance: None,
                    taken_q: None,
                });
            }
            (None, _) => None,
            (Some(cap), Some(scores)) => Some((cap, &scores.log_probs)),
            (Some(_), None) => {
                return Err(Error::config(
                    "importance_cap",
                    "a rollout with the sampler's log-probabilities (RolloutScores)",
                    "a rollout without scores",
                ));
            }
        };
        if q_critic {
            return self.old_q_scores(batch, len, want_log_probs, sampler);
        }
        let model = self.model.valid();
        if let (Some((cap, sampled)), Some(scores)) = (sampler, &batch.scores) {
            // The recorded values stand (a critic's, or Monte-Carlo values); the learner's
            // own log-probabilities come from one pass of its policy.
            let learner = log_prob(
                model.logits_and_values(batch.observations.clone())?.logits,
                batch.actions.clone(),
            );
            let mut values = Vec::with_capacity(2 * len);
            values.extend_from_slice(&scores.values);
            values.extend_from_slice(&scores.next_values);
            let importance = importance_weights(&to_vec_f32(learner.clone()), sampled, cap);
            return Ok(OldScores {
                values,
                log_probs: want_log_probs.then_some(learner),
                importance: Some(importance),
                taken_q: None,
            });
        }
        let critic_free = !self.config.advantage.uses_critic() && self.config.value_coef == 0.0;
        let (values, log_probs) = if want_log_probs {
            let now = model.logits_and_values(batch.observations.clone())?;
            let next = model.state_values(batch.next_observations.clone())?;
            let log_probs = log_prob(now.logits, batch.actions.clone());
            (Tensor::cat(vec![now.values, next], 0), Some(log_probs))
        } else if critic_free {
            (Tensor::zeros([2 * len], device), None)
        } else {
            let both = M::Input::concat_rows(vec![
                batch.observations.clone(),
                batch.next_observations.clone(),
            ]);
            (model.state_values(both)?, None)
        };
        let values = to_vec_f32(values);
        if values.len() != 2 * len {
            return Err(Error::ShapeMismatch {
                what: "critic values",
                expected: vec![2 * len],
                actual: vec![values.len()],
            });
        }
        if let Some(&bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "critic value",
                value: f64::from(bad),
            });
        }
        Ok(OldScores {
            values,
            log_probs,
            importance: None,
            taken_q: None,
        })
    }

    /// [`ActorCritic::old_scores`] for a Q critic: one inference pass over the observations and
    /// next observations together gives the logits and `Q(s, .)`; on the host,
    /// `V(s) = sum_a pi(a|s) Q(s, a)` of both, `Q(s, a)` of the actions taken, and
    /// `log pi(a|s)`.
    fn old_q_scores(
        &self,
        batch: &RolloutBatch<M::Input>,
        len: usize,
        want_log_probs: bool,
        sampler: Option<(f64, &Vec<f32>)>,
    ) -> Result<OldScores> {
        let device = batch.rollout.device();
        let both = M::Input::concat_rows(vec![
            batch.observations.clone(),
            batch.next_observations.clone(),
        ]);
        let out = self.model.valid().logits_and_q_values(both)?;
        let actions = self.model.num_actions();
        for (what, dims) in [
            ("policy logits", out.logits.dims()),
            ("critic Q values", out.q_values.dims()),
        ] {
            if dims != [2 * len, actions] {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![2 * len, actions],
                    actual: dims.to_vec(),
                });
            }
        }
        let logits = to_vec_f32(out.logits);
        let q = to_vec_f32(out.q_values);
        if let Some(&bad) = q.iter().find(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "critic Q value",
                value: f64::from(bad),
            });
        }
        let taken = to_indices(batch.actions.clone());
        let mut values = Vec::with_capacity(2 * len);
        let mut log_probs = Vec::with_capacity(len);
        for (row, (logits, q)) in logits.chunks(actions).zip(q.chunks(actions)).enumerate() {
            let pi = host_softmax(logits);
            let v: f64 = pi.iter().zip(q).map(|(p, &q)| p * f64::from(q)).sum();
            values.push(v as f32);
            if row < len {
                log_probs.push(host_log_softmax_at(logits, taken[row]));
            }
        }
        let taken_q = (0..len).map(|i| q[i * actions + taken[i]]).collect();
        Ok(OldScores {
            values,
            importance: sampler.map(|(cap, sampled)| importance_weights(&log_probs, sampled, cap)),
            log_probs: want_log_probs.then(|| host_tensor(&log_probs, [len], device)),
            taken_q: Some(taken_q),
        })
    }

    fn estimate(
        &self,
        batch: &RolloutBatch<M::Input>,
        old: &OldScores,
        len: usize,
    ) -> Result<Advantages> {
        let rollout = &batch.rollout;
        let (current, next) = old.values.split_at(len);
        match self.config.advantage {
            AdvantageEstimator::Gae { lambda } => {
                gae(rollout, current, next, self.config.gamma, lambda)
            }
            AdvantageEstimator::NStep { n } => {
                let returns = n_step_targets(rollout, next, self.config.gamma, n)?;
                let v = host_tensor(current, rollout.shape(), rollout.device());
                Ok(Advantages {
                    advantages: returns.clone() - v,
                    returns,
                })
            }
            AdvantageEstimator::Group { baseline } => {
                group_advantages(rollout, baseline, self.config.gamma)
            }
            AdvantageEstimator::NormalizedReturns => normalized_returns(rollout, self.config.gamma),
            AdvantageEstimator::QValue | AdvantageEstimator::QAdvantage => {
                let taken = old.taken_q.as_deref().ok_or(Error::Empty {
                    what: "Q values of the actions taken (a Q critic's pass)",
                })?;
                // Expected SARSA: r + gamma E_pi Q(s', .), the TD(0) return on V = E_pi Q.
                let returns = gae(rollout, current, next, self.config.gamma, 0.0)?.returns;
                let advantages: Vec<f32> = match self.config.advantage {
                    AdvantageEstimator::QValue => taken.to_vec(),
                    _ => taken.iter().zip(current).map(|(q, v)| q - v).collect(),
                };
                Ok(Advantages {
                    advantages: host_tensor(&advantages, rollout.shape(), rollout.device()),
                    returns,
                })
            }
        }
    }

    fn score(&self, batch: &RolloutBatch<M::Input>, old: OldScores, len: usize) -> Result<Scored> {
        let estimate = self.estimate(batch, &old, len)?;
        // What the critic predicted for each transition: V(s), or a Q critic's Q(s, a).
        let predicted: Vec<f32> = match &old.taken_q {
            Some(taken) => taken.clone(),
            None => old.values[..len].to_vec(),
        };
        let aggregation = self
            .config
            .loss_aggregation
            .weights(&batch.rollout, batch.mask.as_deref());
        let weights = match (aggregation, old.importance) {
            (None, None) => None,
            (Some(w), None) | (None, Some(w)) => Some(w),
            (Some(a), Some(b)) => Some(a.iter().zip(&b).map(|(a, b)| a * b).collect()),
        };
        let device = batch.rollout.device();
        let returns = estimate.returns.reshape([len]);
        let returns_host = to_vec_f32(returns.clone());
        let counted = |column: &[f32]| -> Vec<f32> {
            match &batch.mask {
                None => column.to_vec(),
                Some(mask) => column
                    .iter()
                    .zip(mask)
                    .filter_map(|(&x, &keep)| keep.then_some(x))
                    .collect(),
            }
        };
        Ok(Scored {
            old_log_probs: old.log_probs,
            old_values: host_tensor(&predicted, [len], device),
            weights: weights.map(|w| host_tensor(&w, [len], device)),
            advantages: estimate.advantages.reshape([len]),
            explained_variance: explained_variance(&counted(&predicted), &counted(&returns_host))?,
            returns,
        })
    }

    fn run_epochs(
        &mut self,
        batch: &RolloutBatch<M::Input>,
        scored: &Scored,
        len: usize,
    ) -> Result<Totals> {
        // The transitions that count: all, or the mask's.
        let mut order: Vec<usize> = match &batch.mask {
            None => (0..len).collect(),
            Some(mask) => (0..len).filter(|&i| mask[i]).collect(),
        };
        let counted = order.len();
        let (epochs, minibatch) = match &self.config.ppo {
            Some(ppo) => (ppo.epochs, ppo.minibatch_size.min(counted)),
            None => (1, counted),
        };
        let device = batch.rollout.device().clone();
        let mut rng = StdRng::seed_from_u64(
            self.config.seed ^ self.updates.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let mut totals = Totals::default();
        'epochs: for _ in 0..epochs {
            // One minibatch of everything needs no shuffle (its losses are means).
            let whole = minibatch == len;
            let shuffle = minibatch < counted;
            if shuffle {
                order.shuffle(&mut rng);
            }
            for chunk in order.chunks(minibatch) {
                let rows = (!whole).then(|| index_tensor(chunk, &device));
                let stop = self.step(batch, scored, rows, &mut totals)?;
                if stop {
                    totals.stopped_early = true;
                    break 'epochs;
                }
            }
        }
        Ok(totals)
    }

    /// One minibatch (`rows`, or the whole rollout when `None`); returns whether PPO's target
    /// KL stopped the update (then no step was taken).
    fn step(
        &mut self,
        batch: &RolloutBatch<M::Input>,
        scored: &Scored,
        rows: Option<Tensor<1, Int>>,
        totals: &mut Totals,
    ) -> Result<bool> {
        let pick = |t: &Tensor<1>| match &rows {
            Some(rows) => t.clone().select(0, rows.clone()),
            None => t.clone(),
        };
        let (observations, actions) = match &rows {
            Some(rows) => (
                batch.observations.select_rows(rows.clone()),
                batch.actions.clone().select(0, rows.clone()),
            ),
            None => (batch.observations.clone(), batch.actions.clone()),
        };
        let old_log_probs = scored.old_log_probs.as_ref().map(pick);
        let mut advantages = pick(&scored.advantages);
        if self.config.normalize_advantage {
            advantages = normalize_advantages(advantages);
        }
        if let Some(weights) = &scored.weights {
            advantages = advantages * pick(weights);
        }
        let returns = pick(&scored.returns);

        // One forward pass of the model for the policy and the critic's predictions: V(s), or
        // a Q critic's Q(s, a) of the actions taken.
        let (logits, values) = if self.config.advantage.uses_q_critic() {
            let PolicyQValues { logits, q_values } =
                self.model.logits_and_q_values(observations)?;
            let taken = q_values
                .gather(1, actions.clone().unsqueeze_dim(1))
                .squeeze_dim(1);
            (logits, taken)
        } else {
            let PolicyValue { logits, values } = self.model.logits_and_values(observations)?;
            (logits, values)
        };
        let log_probs = log_prob(logits.clone(), actions);
        let mean_entropy = entropy(logits).mean();
        let ppo = self.config.ppo.as_ref();
        let policy_loss = match (ppo, &old_log_probs) {
            (Some(ppo), Some(old)) => {
                clipped_surrogate_loss(log_probs.clone(), old.clone(), advantages, ppo.clip_range)?
            }
            _ => policy_gradient_loss(log_probs.clone(), advantages)?,
        };
        let critic_loss = match ppo.and_then(|ppo| ppo.clip_range_value) {
            None => value_loss(values, returns)?,
            Some(clip) => clipped_value_loss(values, pick(&scored.old_values), returns, clip)?,
        };
        let loss = policy_loss.clone() + critic_loss.clone().mul_scalar(self.config.value_coef)
            - mean_entropy.clone().mul_scalar(self.config.entropy_coef);

        let model = &self.model;
        let pending = PendingStep::new(
            &loss,
            model,
            self.config.max_grad_norm,
            &["actor", "critic"],
            |mut grads| {
                let critic = model.critic_gradients(&mut grads);
                std::iter::once(GradientsParams::from_grads(grads, model))
                    .chain(critic)
                    .collect()
            },
        )?;

        // One read-back for the statistics and the checks.
        let detached = log_probs.without_autodiff();
        let old_log_probs = old_log_probs.unwrap_or_else(|| detached.clone());
        let clip_range = ppo.map_or(f64::INFINITY, |ppo| ppo.clip_range);
        let (read, grad_norm) = pending.read_back(
            vec![
                policy_loss.without_autodiff(),
                critic_loss.without_autodiff(),
                mean_entropy.without_autodiff(),
                approx_kl(detached.clone(), old_log_probs.clone())?,
                clip_fraction(detached, old_log_probs, clip_range)?,
            ],
            &[(0, "policy loss"), (1, "value loss")],
        )?;
        totals.minibatches += 1;
        totals.policy_loss += read[0];
        totals.value_loss += read[1];
        totals.entropy += read[2];
        totals.approx_kl += read[3];
        totals.clip_fraction += read[4];
        totals.grad_norm += grad_norm.unwrap_or(0.0);
        if let Some(target) = ppo.and_then(|ppo| ppo.target_kl)
            && read[3] > 1.5 * target
        {
            return Ok(true);
        }

        self.model = pending.apply(
            self.model.clone(),
            &mut self.optimizers,
            self.gradient_steps,
        );
        self.gradient_steps += 1;
        Ok(false)
    }
}

fn host_tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// Two separate networks trained as one model: their accessors.
impl<P, V> ActorCritic<crate::policy::PolicyAndValue<P, V>> {
    /// The policy network being trained.
    pub fn actor(&self) -> &P {
        self.model.policy()
    }

    /// The value network being trained.
    pub fn critic(&self) -> &V {
        self.model.value()
    }
}
