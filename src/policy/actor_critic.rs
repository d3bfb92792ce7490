//! Actor-critic models: a policy's logits and the state values of a batch from **one** forward
//! pass, and the adapter that presents two separate networks as one such model.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Gradients, Tensor};

use crate::error::{Error, Result};
use crate::policy::LogitsPolicy;
use crate::value::VFunction;

/// What an [`ActorCriticModel`] says about a batch of states.
#[derive(Debug, Clone)]
pub struct PolicyValue {
    /// The policy's logits, `[B, A]`.
    pub logits: Tensor<2>,
    /// The critic's `V(s)`, `[B]`.
    pub values: Tensor<1>,
}

/// What a model with a Q critic says about a batch of states
/// ([`ActorCriticModel::logits_and_q_values`]).
#[derive(Debug, Clone)]
pub struct PolicyQValues {
    /// The policy's logits, `[B, A]`.
    pub logits: Tensor<2>,
    /// The critic's `Q(s, a)` of every action, `[B, A]`.
    pub q_values: Tensor<2>,
}

/// A model that is both the actor and the critic: the policy's logits and `V(s)` of a batch
/// from one forward pass. A language model with a policy head and a value head on one trunk
/// ([`crate::lm::TokenModel`]) runs its trunk once for both, as CleanRL's
/// `get_action_and_value` and TRL's value-head models do; two separate networks become one
/// model through [`PolicyAndValue`].
///
/// [`crate::algo::actor_critic::ActorCritic`] trains any burn [`Module`] that implements this.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::nn::{CategoricalPolicyConfig, VNetworkConfig};
/// use valuefn::policy::{ActorCriticModel, PolicyAndValue};
///
/// let device = valuefn::device::default_device();
/// let model = PolicyAndValue::new(
///     CategoricalPolicyConfig::new(2, 3).init(&device)?,
///     VNetworkConfig::new(2).init(&device)?,
/// );
/// let states = Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0]], &device);
/// let out = model.logits_and_values(states)?;
/// assert_eq!((out.logits.dims(), out.values.dims()), ([2, 3], [2]));
/// # Ok::<(), valuefn::Error>(())
/// ```
pub trait ActorCriticModel {
    /// A batch of states.
    type Input;

    /// Number of actions (the width of the logits).
    fn num_actions(&self) -> usize;

    /// The policy's logits and the values of `states`, from one forward pass.
    ///
    /// # Shapes
    ///
    /// - output: logits `[B, num_actions]`, values `[B]`
    ///
    /// # Errors
    ///
    /// When the input does not fit the model.
    fn logits_and_values(&self, states: Self::Input) -> Result<PolicyValue>;

    /// The values alone (what bootstrapping reads); the provided method runs
    /// [`ActorCriticModel::logits_and_values`], a model whose critic stands apart overrides it
    /// to leave the actor out.
    ///
    /// # Errors
    ///
    /// As [`ActorCriticModel::logits_and_values`].
    fn state_values(&self, states: Self::Input) -> Result<Tensor<1>> {
        Ok(self.logits_and_values(states)?.values)
    }

    /// Takes the gradients of the critic's own parameters out of a backward pass: they are
    /// stepped with the critic's optimiser and learning rate, everything left (the actor and
    /// any shared trunk) with the actor's. The provided method takes none, so one optimiser
    /// steps the whole model.
    fn critic_gradients(&self, grads: &mut Gradients) -> Option<GradientsParams> {
        let _ = grads;
        None
    }

    /// The policy's logits and a Q critic's `Q(s, .)` of `states` from one forward pass: what
    /// the Q-critic estimators ([`crate::algo::actor_critic::AdvantageEstimator::QValue`] and
    /// `QAdvantage`) read. A model with a Q head beside its policy
    /// ([`crate::lm::TokenModel`]) overrides it; the provided method refuses, so such an
    /// estimator on a model without a Q critic is an error, not a silent V critic.
    ///
    /// # Shapes
    ///
    /// - output: logits and Q values `[B, num_actions]`
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] from the provided method; otherwise as
    /// [`ActorCriticModel::logits_and_values`].
    fn logits_and_q_values(&self, states: Self::Input) -> Result<PolicyQValues> {
        let _ = states;
        Err(Error::config(
            "advantage",
            "a model with a Q critic (ActorCriticModel::logits_and_q_values) for a Q-critic \
             estimator",
            "a model without one",
        ))
    }
}

/// Two networks as one [`ActorCriticModel`]: a policy `P` (any [`LogitsPolicy`]) and a critic
/// `V` (any [`VFunction`] on the same input), each with its own parameters, optimiser and
/// learning rate (TRL's `PolicyAndValueWrapper`). A forward pass runs both.
///
/// # Example
///
/// ```
/// use valuefn::nn::{SoftmaxTable, TrainableVTable};
/// use valuefn::policy::PolicyAndValue;
///
/// let device = valuefn::device::default_device().autodiff();
/// let model = PolicyAndValue::new(SoftmaxTable::zeros(5, 2, &device)?, TrainableVTable::zeros(5, &device)?);
/// assert_eq!(model.value().num_states(), 5);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Module, Debug)]
pub struct PolicyAndValue<P, V> {
    policy: P,
    value: V,
}

impl<P, V> PolicyAndValue<P, V> {
    /// The pair.
    pub fn new(policy: P, value: V) -> Self {
        Self { policy, value }
    }

    /// The policy network.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The value network.
    pub fn value(&self) -> &V {
        &self.value
    }

    /// The two networks.
    pub fn into_parts(self) -> (P, V) {
        (self.policy, self.value)
    }
}

impl<P, V> ActorCriticModel for PolicyAndValue<P, V>
where
    P: LogitsPolicy,
    P::Input: Clone,
    V: Module + VFunction<Input = P::Input>,
{
    type Input = P::Input;

    fn num_actions(&self) -> usize {
        self.policy.num_actions()
    }

    fn logits_and_values(&self, states: P::Input) -> Result<PolicyValue> {
        let logits = self.policy.logits(states.clone())?;
        let values = self.value.values(states)?;
        if values.dims()[0] != logits.dims()[0] {
            return Err(Error::ShapeMismatch {
                what: "critic values (one per state the policy scored)",
                expected: vec![logits.dims()[0]],
                actual: values.dims().to_vec(),
            });
        }
        Ok(PolicyValue { logits, values })
    }

    fn state_values(&self, states: P::Input) -> Result<Tensor<1>> {
        self.value.values(states)
    }

    fn critic_gradients(&self, grads: &mut Gradients) -> Option<GradientsParams> {
        Some(GradientsParams::from_module(grads, &self.value))
    }
}

/// The pair acts as its policy (what evaluation and rollouts read).
impl<P: LogitsPolicy, V> LogitsPolicy for PolicyAndValue<P, V> {
    type Input = P::Input;

    fn num_actions(&self) -> usize {
        self.policy.num_actions()
    }

    fn logits(&self, states: P::Input) -> Result<Tensor<2>> {
        self.policy.logits(states)
    }
}
