//! The state-value function trait.

use burn::tensor::Tensor;

use crate::error::Result;

/// A state-value function: a batch of states in, `V(s)` out.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::tensor_ops::{index_tensor, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// let v = VTable::from_values(&[0.5, -1.0, 2.0], &device);
/// let out = v.values(index_tensor(&[2, 2, 0], &device)).unwrap();
/// assert_eq!(to_vec_f32(out), vec![2.0, 2.0, 0.5]);
/// ```
pub trait VFunction {
    /// A batch of states.
    type Input;

    /// `V(s)` for each state of the batch.
    ///
    /// # Shapes
    ///
    /// - output: `[batch]`
    ///
    /// # Errors
    ///
    /// When the input does not fit (a state out of range, a wrong shape).
    fn values(&self, states: Self::Input) -> Result<Tensor<1>>;
}
