//! Policies given by logits, and the categorical log-probabilities and entropies that
//! policy-gradient losses read.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor};

use crate::error::Result;
use crate::policy::Policy;
use crate::tensor_ops::check_has_actions;

/// A policy whose action distribution is `softmax(logits)`: what the actor-critic updaters
/// train. Every implementor is a [`Policy`] (probabilities are the softmax of the logits).
///
/// Implemented by [`crate::nn::CategoricalPolicy`] (an MLP on observation features) and
/// [`crate::nn::SoftmaxTable`] (a logit per state and action); a language model's policy head
/// implements it on tokens.
pub trait LogitsPolicy {
    /// A batch of states.
    type Input;

    /// Number of actions (the width of the logits).
    fn num_actions(&self) -> usize;

    /// Unnormalised log-probabilities `[batch, num_actions]`.
    ///
    /// # Errors
    ///
    /// When the input does not fit (a state out of range, a wrong shape).
    fn logits(&self, states: Self::Input) -> Result<Tensor<2>>;

    /// `argmax_a logits`: the most probable action of each state (ties to the lowest).
    ///
    /// # Errors
    ///
    /// As [`LogitsPolicy::logits`].
    fn greedy_actions(&self, states: Self::Input) -> Result<Tensor<1, Int>> {
        let logits = self.logits(states)?;
        check_has_actions("policy logits (at least one action)", logits.dims())?;
        Ok(logits.argmax(1).squeeze_dim(1))
    }
}

impl<P: LogitsPolicy> Policy for P {
    type Input = P::Input;

    fn action_probabilities(&self, states: Self::Input) -> Result<Tensor<2>> {
        Ok(softmax(self.logits(states)?, 1))
    }
}

/// `log pi(a_i | s_i)` of the taken actions, from logits (by `log_softmax`, stable for large
/// logits).
///
/// # Shapes
///
/// - `logits`: `[B, A]`, `actions`: `[B]`; output `[B]`.
///
/// # Example
///
/// ```
/// use burn::tensor::{Int, Tensor};
/// use valuefn::policy::log_prob;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let logits = Tensor::<2>::from_floats([[0.0, 0.0], [2f32.ln(), 0.0]], &device);
/// let out = to_vec_f32(log_prob(logits, Tensor::<1, Int>::from_ints([1, 0], &device)));
/// assert!((out[0] - 0.5f32.ln()).abs() < 1e-6 && (out[1] - (2.0f32 / 3.0).ln()).abs() < 1e-6);
/// ```
pub fn log_prob(logits: Tensor<2>, actions: Tensor<1, Int>) -> Tensor<1> {
    log_softmax(logits, 1)
        .gather(1, actions.unsqueeze_dim(1))
        .squeeze_dim(1)
}

/// Entropy `-sum_a pi(a|s) log pi(a|s)` of each row's categorical distribution.
///
/// # Shapes
///
/// - `logits`: `[B, A]`; output `[B]`.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::policy::entropy;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let out = to_vec_f32(entropy(Tensor::<2>::from_floats([[1.0, 1.0, 1.0, 1.0]], &device)));
/// assert!((out[0] - 4f32.ln()).abs() < 1e-6);
/// ```
pub fn entropy(logits: Tensor<2>) -> Tensor<1> {
    let log_p = log_softmax(logits, 1);
    let p = log_p.clone().exp();
    (p * log_p).sum_dim(1).squeeze_dim(1).neg()
}
