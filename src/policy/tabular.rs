//! A policy stored as a table of probabilities, on a device.

use burn::tensor::{Device, Int, Tensor};

use crate::error::Result;
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
    pub fn uniform(num_states: usize, num_actions: usize, device: &Device) -> Self {
        Self {
            probabilities: Tensor::full(
                [num_states, num_actions],
                1.0 / num_actions as f64,
                device,
            ),
        }
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
