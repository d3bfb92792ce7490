//! The action-value function trait and what follows from it.

use burn::tensor::{Int, Tensor};

use crate::error::Result;
use crate::tensor_ops::{check_has_actions, check_shape};

/// An action-value function: a batch of states in, `Q(s, a)` for every action out.
///
/// `Input` is whatever batch of states the implementor reads: a `[batch]` tensor of state
/// indices for a table, `[batch, features]` for a network, token ids for a language model.
pub trait QFunction {
    /// A batch of states.
    type Input;

    /// Number of actions (the width of [`QFunction::q_values`]).
    fn num_actions(&self) -> usize;

    /// `Q(s, a)` for each state of the batch and every action.
    ///
    /// # Shapes
    ///
    /// - output: `[batch, num_actions]`
    ///
    /// # Errors
    ///
    /// When the input does not fit (a state out of range, a wrong shape).
    fn q_values(&self, states: Self::Input) -> Result<Tensor<2>>;
}

/// What follows from a [`QFunction`]; implemented for all of them.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::tensor_ops::{index_tensor, to_indices, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// let q = QTable::from_q_values(&QValues::new(2, 3, vec![1., 5., 2., 0., -1., 4.]).unwrap(), &device);
/// let states = index_tensor(&[1, 0], &device);
/// assert_eq!(to_indices(q.greedy_actions(states.clone()).unwrap()), vec![2, 1]);
/// assert_eq!(to_vec_f32(q.max_q(states.clone()).unwrap()), vec![4.0, 5.0]);
/// let uniform = burn::Tensor::<2>::full([2, 3], 1.0 / 3.0, &device);
/// assert_eq!(to_vec_f32(q.expected_q(states, uniform).unwrap()), vec![1.0, 8.0 / 3.0]);
/// ```
pub trait QFunctionExt: QFunction {
    /// `argmax_a Q(s, a)`: the greedy action of each state. Exact ties go to the lowest action
    /// (burn's `argmax` on the CPU backends; tested for each).
    ///
    /// # Shapes
    ///
    /// - output: `[batch]`
    ///
    /// # Errors
    ///
    /// As [`QFunction::q_values`], and [`crate::Error::ShapeMismatch`] when there are no
    /// actions.
    fn greedy_actions(&self, states: Self::Input) -> Result<Tensor<1, Int>> {
        let q = self.q_values(states)?;
        check_has_actions("Q values (at least one action)", q.dims())?;
        Ok(q.argmax(1).squeeze_dim(1))
    }

    /// `max_a Q(s, a)`: the value of the greedy policy, the Q-learning bootstrap.
    ///
    /// # Shapes
    ///
    /// - output: `[batch]`
    ///
    /// # Errors
    ///
    /// As [`QFunctionExt::greedy_actions`].
    fn max_q(&self, states: Self::Input) -> Result<Tensor<1>> {
        let q = self.q_values(states)?;
        check_has_actions("Q values (at least one action)", q.dims())?;
        Ok(q.max_dim(1).squeeze_dim(1))
    }

    /// `V^pi(s) = sum_a pi(a|s) Q(s, a)`: the value of a policy from its action values (the
    /// expected-SARSA bootstrap).
    ///
    /// # Shapes
    ///
    /// - `probabilities`: `[batch, num_actions]`
    /// - output: `[batch]`
    ///
    /// # Errors
    ///
    /// As [`QFunctionExt::greedy_actions`], and [`crate::Error::ShapeMismatch`] when
    /// `probabilities` does not have the shape of the Q values.
    fn expected_q(&self, states: Self::Input, probabilities: Tensor<2>) -> Result<Tensor<1>> {
        let q = self.q_values(states)?;
        check_has_actions("Q values (at least one action)", q.dims())?;
        check_shape("action probabilities", probabilities.dims(), q.dims())?;
        Ok((q * probabilities).sum_dim(1).squeeze_dim(1))
    }
}

impl<Q: QFunction + ?Sized> QFunctionExt for Q {}
