//! Tensor-backed tables: the tabular Q- and V-functions, on any device.

use burn::tensor::{Device, Int, Tensor};

use crate::error::Result;
use crate::tabular::QValues;
use crate::tensor_ops::{check_state_indices, float_tensor, to_vec_f32};
use crate::value::{QFunction, VFunction};

/// A tabular action-value function: a `[num_states, num_actions]` tensor.
///
/// Its input is a `[batch]` tensor of state indices; indices are range-checked (one read-back
/// per call), so a bad index is an [`crate::Error::InvalidState`], not a panic inside the backend.
#[derive(Debug, Clone)]
pub struct QTable {
    table: Tensor<2>,
}

impl QTable {
    /// A table of zeros.
    ///
    /// A table of zero actions can be built (as a tensor of that shape can), but it has no
    /// greedy action: [`crate::value::QFunctionExt`]'s methods, the targets and the updaters
    /// return an error for it.
    pub fn zeros(num_states: usize, num_actions: usize, device: &Device) -> Self {
        Self {
            table: Tensor::zeros([num_states, num_actions], device),
        }
    }

    /// Wraps a `[num_states, num_actions]` tensor.
    pub fn from_tensor(table: Tensor<2>) -> Self {
        Self { table }
    }

    /// Copies exact `f64` action values (from the solvers) onto `device`, rounded to the
    /// backend's `f32`: values beyond `f32::MAX` in size become infinite.
    pub fn from_q_values(q: &QValues, device: &Device) -> Self {
        Self {
            table: float_tensor(q.as_slice(), [q.num_states(), q.num_actions()], device),
        }
    }

    /// Reads the table back as [`QValues`], to compare with the exact solvers.
    pub fn to_q_values(&self) -> QValues {
        let [n, m] = self.table.dims();
        let values = to_vec_f32(self.table.clone())
            .into_iter()
            .map(f64::from)
            .collect();
        QValues::new(n, m, values).expect("tensor has n * m entries")
    }

    /// The underlying tensor.
    pub fn tensor(&self) -> &Tensor<2> {
        &self.table
    }

    /// Number of states.
    pub fn num_states(&self) -> usize {
        self.table.dims()[0]
    }

    /// The table flattened to `[num_states * num_actions]`, entry `s * num_actions + a`.
    pub(crate) fn flat(&self) -> Tensor<1> {
        self.table.clone().flatten(0, 1)
    }

    /// Replaces the table with a flat tensor of the same size.
    pub(crate) fn set_flat(&mut self, flat: Tensor<1>) {
        let dims = self.table.dims();
        self.table = flat.reshape(dims);
    }
}

impl QFunction for QTable {
    type Input = Tensor<1, Int>;

    fn num_actions(&self) -> usize {
        self.table.dims()[1]
    }

    fn q_values(&self, states: Tensor<1, Int>) -> Result<Tensor<2>> {
        check_state_indices(&states, self.num_states())?;
        Ok(self.table.clone().select(0, states))
    }
}

/// A tabular state-value function: a `[num_states]` tensor.
#[derive(Debug, Clone)]
pub struct VTable {
    table: Tensor<1>,
}

impl VTable {
    /// A table of zeros.
    pub fn zeros(num_states: usize, device: &Device) -> Self {
        Self {
            table: Tensor::zeros([num_states], device),
        }
    }

    /// Wraps a `[num_states]` tensor.
    pub fn from_tensor(table: Tensor<1>) -> Self {
        Self { table }
    }

    /// Copies exact `f64` values onto `device`, rounded to the backend's `f32` (values beyond
    /// `f32::MAX` in size become infinite).
    pub fn from_values(values: &[f64], device: &Device) -> Self {
        Self {
            table: float_tensor(values, [values.len()], device),
        }
    }

    /// Reads the table back.
    pub fn to_vec(&self) -> Vec<f64> {
        to_vec_f32(self.table.clone())
            .into_iter()
            .map(f64::from)
            .collect()
    }

    /// The underlying tensor.
    pub fn tensor(&self) -> &Tensor<1> {
        &self.table
    }

    /// Number of states.
    pub fn num_states(&self) -> usize {
        self.table.dims()[0]
    }

    /// Replaces the table with a tensor of the same size.
    pub(crate) fn set(&mut self, table: Tensor<1>) {
        self.table = table;
    }
}

impl VFunction for VTable {
    type Input = Tensor<1, Int>;

    fn values(&self, states: Tensor<1, Int>) -> Result<Tensor<1>> {
        check_state_indices(&states, self.num_states())?;
        Ok(self.table.clone().select(0, states))
    }
}
