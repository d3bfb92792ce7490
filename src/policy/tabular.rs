//! A policy stored as a table of probabilities, on a device.

use burn::tensor::{Device, Int, Tensor};

use crate::error::{Error, Result, check_size};
use crate::policy::Policy;
use crate::tabular::PolicyTable;
use crate::tensor_ops::{check_state_indices, float_tensor};

/// A tabular policy: a `[num_states, num_actions]` tensor of probabilities, read by state index.
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use valuefn::prelude::*;
/// use valuefn::tensor_ops::index_tensor;
///
/// let device = valuefn::device::default_device();
/// let pi = TabularPolicy::from_table(&PolicyTable::deterministic(&[2, 0], 3).unwrap(), &device);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// assert_eq!(pi.sample_actions(index_tensor(&[0, 1, 0], &device), &mut rng).unwrap(), vec![2, 0, 2]);
/// assert!(pi.action_probabilities(index_tensor(&[2], &device)).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct TabularPolicy {
    probabilities: Tensor<2>,
}

impl TabularPolicy {
    /// The equiprobable random policy.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for no states or no actions (a policy over no actions has no
    /// probabilities to sum to one); [`Error::TooLarge`] when the table would hold more than
    /// `2^32` entries.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::policy::{Policy, TabularPolicy};
    /// use valuefn::tensor_ops::{index_tensor, to_vec_f32};
    ///
    /// let device = valuefn::device::default_device();
    /// let pi = TabularPolicy::uniform(2, 4, &device)?;
    /// assert_eq!(to_vec_f32(pi.action_probabilities(index_tensor(&[1], &device))?), vec![0.25; 4]);
    /// assert!(TabularPolicy::uniform(2, 0, &device).is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn uniform(num_states: usize, num_actions: usize, device: &Device) -> Result<Self> {
        for (field, value) in [("num_states", num_states), ("num_actions", num_actions)] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", 0));
            }
        }
        check_size(
            "policy table entries (states x actions)",
            num_states,
            num_actions,
            1 << 32,
        )?;
        Ok(Self {
            probabilities: Tensor::full(
                [num_states, num_actions],
                1.0 / num_actions as f64,
                device,
            ),
        })
    }

    /// Copies an exact [`PolicyTable`] onto `device`.
    pub fn from_table(table: &PolicyTable, device: &Device) -> Self {
        Self {
            probabilities: float_tensor(
                table.as_slice(),
                [table.num_states(), table.num_actions()],
                device,
            ),
        }
    }

    /// The probability tensor.
    pub fn tensor(&self) -> &Tensor<2> {
        &self.probabilities
    }
}

impl Policy for TabularPolicy {
    type Input = Tensor<1, Int>;

    fn action_probabilities(&self, states: Tensor<1, Int>) -> Result<Tensor<2>> {
        check_state_indices(&states, self.probabilities.dims()[0])?;
        Ok(self.probabilities.clone().select(0, states))
    }
}
