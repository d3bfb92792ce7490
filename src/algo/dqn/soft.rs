//! Soft (KL-regularised) Q-learning against a frozen reference policy.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;

use crate::algo::dqn::{Dqn, DqnConfig, DqnStats};
use crate::batch::BatchRows;
use crate::error::check_f32_scale;
use crate::error::{Error, Result};
use crate::policy::LogitsPolicy;
use crate::replay::TransitionBatch;
use crate::returns::{soft_policy_log_probs, soft_q_targets_discounted, soft_values};
use crate::value::QFunction;

/// Soft Q-learning regularised toward a reference policy: the Q-function of the
/// KL-regularised objective `E[sum_t gamma^t r_t] - beta KL(pi || pi_ref)`, whose backup is
///
/// ```text
/// V(s)    = beta log sum_a pi_ref(a|s) exp(Q(s, a) / beta)            (soft value)
/// y       = r + gamma^k (1 - terminated) V_target(s')                 (soft target)
/// pi(a|s) = pi_ref(a|s) exp((Q(s, a) - V(s)) / beta)                  (induced policy)
/// ```
///
/// For a language model, `pi_ref` is the pretrained model and the Q head learns how much each
/// next token is worth beyond what `pi_ref` already prefers; as `beta -> 0` the backup becomes
/// Q-learning's max, as `beta -> infinity` the induced policy stays `pi_ref`.
/// [`crate::tabular::soft_value_iteration`] computes the same fixed point exactly on a finite
/// MDP: the test suite holds a token model's Q head to it.
///
/// The gradient step is [`Dqn`]'s ([`Dqn::update_toward`] with the soft targets from
/// [`soft_q_targets_discounted`]): its loss, clipping, learning rate and target network apply;
/// its `bootstrap` setting does not (the soft value replaces the max). `R` is any
/// [`LogitsPolicy`] on the same input; it is kept as an inference copy (no gradients, no
/// optimiser state).
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Int, Tensor, TensorData};
/// use valuefn::algo::dqn::DqnConfig;
/// use valuefn::algo::dqn::SoftQ;
/// use valuefn::nn::{CategoricalPolicyConfig, QNetworkConfig};
/// use valuefn::replay::TransitionBatch;
///
/// let device = valuefn::device::default_device();
/// let q = QNetworkConfig::new(2, 3).with_hidden(vec![16]).init(&device.clone().autodiff())?;
/// let reference = CategoricalPolicyConfig::new(2, 3).init(&device)?;
/// let mut soft = SoftQ::new(DqnConfig::new(), 0.5, q, reference)?;
/// let batch = TransitionBatch {
///     observations: Tensor::<2>::from_floats([[0.0, 1.0]], &device),
///     actions: Tensor::<1, Int>::from_ints([2], &device),
///     rewards: Tensor::from_floats([1.0], &device),
///     next_observations: Tensor::<2>::from_floats([[1.0, 0.0]], &device),
///     terminated: Tensor::<1, Bool>::from_bool(TensorData::from([false]), &device),
///     discounts: Tensor::from_floats([0.99], &device),
///     weights: Tensor::ones([1], &device),
/// };
/// soft.update(&batch)?;
/// let pi = soft.policy_log_probs(batch.observations.clone())?.exp();
/// assert!((pi.sum().into_scalar::<f32>() - 1.0).abs() < 1e-5);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub struct SoftQ<Q, R> {
    dqn: Dqn<Q>,
    reference: R,
    beta: f64,
}

impl<Q: std::fmt::Debug, R> std::fmt::Debug for SoftQ<Q, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftQ")
            .field("dqn", &self.dqn)
            .field("beta", &self.beta)
            .finish_non_exhaustive()
    }
}

impl<Q, R> SoftQ<Q, R>
where
    Q: Module + QFunction,
    Q::Input: BatchRows,
    R: Module + LogitsPolicy<Input = Q::Input>,
{
    /// Soft Q-learning of `online` at temperature `beta` against `reference` (frozen).
    ///
    /// # Errors
    ///
    /// As [`DqnConfig::validate`]; [`Error::InvalidConfig`] unless `beta` lies in
    /// `[f32::MIN_POSITIVE, f32::MAX]`; [`Error::ShapeMismatch`] when the reference's action
    /// count differs from the Q-function's.
    pub fn new(config: DqnConfig, beta: f64, online: Q, reference: R) -> Result<Self> {
        check_f32_scale("beta", beta)?;
        if reference.num_actions() != online.num_actions() {
            return Err(Error::ShapeMismatch {
                what: "reference policy actions (as many as the Q-function's)",
                expected: vec![online.num_actions()],
                actual: vec![reference.num_actions()],
            });
        }
        Ok(Self {
            dqn: Dqn::new(config, online)?,
            reference: reference.valid(),
            beta,
        })
    }

    /// The temperature `beta`.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The Q-learning machinery (online and target networks, optimiser, step count).
    pub fn dqn(&self) -> &Dqn<Q> {
        &self.dqn
    }

    /// The Q-function being trained.
    pub fn online(&self) -> &Q {
        self.dqn.online()
    }

    /// The frozen reference policy.
    pub fn reference(&self) -> &R {
        &self.reference
    }

    /// `log pi_ref(.|s)` of each state, `[B, A]`, without gradients.
    pub fn reference_log_probs(&self, states: Q::Input) -> Result<Tensor<2>> {
        Ok(log_softmax(self.reference.logits(states)?, 1))
    }

    /// The soft targets `y` of a batch (target network at `s'`, reference at `s'`), without
    /// gradients.
    ///
    /// # Errors
    ///
    /// As [`SoftQ::update`].
    pub fn targets(&self, batch: &TransitionBatch<Q::Input>) -> Result<Tensor<1>> {
        let next_q = self
            .dqn
            .target()
            .q_values(batch.next_observations.clone())?;
        let log_reference = self.reference_log_probs(batch.next_observations.clone())?;
        soft_q_targets_discounted(
            batch.rewards.clone(),
            next_q,
            batch.terminated.clone(),
            batch.discounts.clone(),
            self.beta,
            Some(log_reference),
        )
    }

    /// One gradient step toward the soft targets (see the type's docs), then the target network
    /// update.
    ///
    /// # Errors
    ///
    /// As [`Dqn::update`]; errors of the reference policy on the next observations. On error,
    /// nothing has changed.
    pub fn update(&mut self, batch: &TransitionBatch<Q::Input>) -> Result<DqnStats> {
        // The batch first, so bad columns are reported before the networks read it.
        batch.check(self.online().num_actions())?;
        let targets = self.targets(batch)?;
        self.dqn.update_toward(batch, targets)
    }

    /// The soft values `V(s) = beta log sum_a pi_ref(a|s) exp(Q(s, a) / beta)` of the online
    /// network, `[B]`, without gradients.
    ///
    /// # Errors
    ///
    /// Errors of the networks on `states`.
    pub fn soft_values(&self, states: Q::Input) -> Result<Tensor<1>> {
        let q = self.online().valid().q_values(states.clone())?;
        soft_values(q, self.beta, Some(self.reference_log_probs(states)?))
    }

    /// `log pi(a|s)` of the induced policy `pi_ref exp((Q - V) / beta)`, `[B, A]`, without
    /// gradients.
    ///
    /// # Errors
    ///
    /// Errors of the networks on `states`.
    pub fn policy_log_probs(&self, states: Q::Input) -> Result<Tensor<2>> {
        let q = self.online().valid().q_values(states.clone())?;
        soft_policy_log_probs(q, self.beta, Some(self.reference_log_probs(states)?))
    }
}
