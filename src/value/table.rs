//! Tensor-backed tables: the tabular Q- and V-functions, on any device.

use burn::tensor::{Device, Int, Tensor};

use crate::error::Result;
use crate::tabular::QValues;
use crate::tensor_ops::{check_state_indices, float_tensor};
use crate::value::store::TableStore;
use crate::value::{QFunction, VFunction};

/// A tabular action-value function: a `[num_states, num_actions]` tensor.
///
/// Its input is a `[batch]` tensor of state indices; indices are range-checked (one read-back
/// per call), so a bad index is an [`crate::Error::InvalidState`], not a panic inside the backend.
#[derive(Debug, Clone)]
pub struct QTable {
    store: TableStore<2>,
}

impl QTable {
    /// A table of zeros.
    ///
    /// A table of zero actions can be built (as a tensor of that shape can), but it has no
    /// greedy action: [`crate::value::QFunctionExt`]'s methods, the targets and the updaters
    /// return an error for it.
    pub fn zeros(num_states: usize, num_actions: usize, device: &Device) -> Self {
        Self::from_tensor(Tensor::zeros([num_states, num_actions], device))
    }

    /// Wraps a `[num_states, num_actions]` tensor.
    pub fn from_tensor(table: Tensor<2>) -> Self {
        Self {
            store: TableStore::from_tensor(table),
        }
    }

    /// Copies exact `f64` action values (from the solvers) onto `device`, rounded to the
    /// backend's `f32`: values beyond `f32::MAX` in size become infinite.
    pub fn from_q_values(q: &QValues, device: &Device) -> Self {
        Self::from_tensor(float_tensor(
            q.as_slice(),
            [q.num_states(), q.num_actions()],
            device,
        ))
    }

    /// Reads the table back as [`QValues`], to compare with the exact solvers.
    pub fn to_q_values(&self) -> QValues {
        let [n, m] = self.store.dims();
        let values = self.store.to_vec().into_iter().map(f64::from).collect();
        QValues::new(n, m, values).expect("tensor has n * m entries")
    }

    /// The underlying tensor (rebuilt once from the host copy after host-path updates).
    pub fn tensor(&self) -> &Tensor<2> {
        self.store.tensor()
    }

    /// Number of states.
    pub fn num_states(&self) -> usize {
        self.store.dims()[0]
    }

    /// The device the table lives on.
    pub fn device(&self) -> &Device {
        self.store.device()
    }

    /// The table flattened to `[num_states * num_actions]`, entry `s * num_actions + a`.
    pub(crate) fn flat(&self) -> Tensor<1> {
        self.tensor().clone().flatten(0, 1)
    }

    /// Replaces the table with a flat tensor of the same size.
    pub(crate) fn set_flat(&mut self, flat: Tensor<1>) {
        let dims = self.store.dims();
        self.store.set_tensor(flat.reshape(dims));
    }

    /// The flat table in host memory, for the host path (see [`TableStore`]).
    pub(crate) fn host_mut(&mut self) -> &mut [f32] {
        self.store.host_mut()
    }

    /// Whether the table lives on a CPU backend.
    pub(crate) fn on_cpu(&self) -> bool {
        self.store.on_cpu()
    }
}

impl QFunction for QTable {
    type Input = Tensor<1, Int>;

    fn num_actions(&self) -> usize {
        self.store.dims()[1]
    }

    fn q_values(&self, states: Tensor<1, Int>) -> Result<Tensor<2>> {
        check_state_indices(&states, self.num_states())?;
        Ok(self.tensor().clone().select(0, states))
    }
}

/// A tabular state-value function: a `[num_states]` tensor.
#[derive(Debug, Clone)]
pub struct VTable {
    store: TableStore<1>,
}

impl VTable {
    /// A table of zeros.
    pub fn zeros(num_states: usize, device: &Device) -> Self {
        Self::from_tensor(Tensor::zeros([num_states], device))
    }

    /// Wraps a `[num_states]` tensor.
    pub fn from_tensor(table: Tensor<1>) -> Self {
        Self {
            store: TableStore::from_tensor(table),
        }
    }

    /// Copies exact `f64` values onto `device`, rounded to the backend's `f32` (values beyond
    /// `f32::MAX` in size become infinite).
    pub fn from_values(values: &[f64], device: &Device) -> Self {
        Self::from_tensor(float_tensor(values, [values.len()], device))
    }

    /// Reads the table back.
    pub fn to_vec(&self) -> Vec<f64> {
        self.store.to_vec().into_iter().map(f64::from).collect()
    }

    /// The underlying tensor (rebuilt once from the host copy after host-path updates).
    pub fn tensor(&self) -> &Tensor<1> {
        self.store.tensor()
    }

    /// Number of states.
    pub fn num_states(&self) -> usize {
        self.store.dims()[0]
    }

    /// The device the table lives on.
    pub fn device(&self) -> &Device {
        self.store.device()
    }

    /// Replaces the table with a tensor of the same size.
    pub(crate) fn set(&mut self, table: Tensor<1>) {
        self.store.set_tensor(table);
    }

    /// The table in host memory, for the host path (see [`TableStore`]).
    pub(crate) fn host_mut(&mut self) -> &mut [f32] {
        self.store.host_mut()
    }

    /// Whether the table lives on a CPU backend.
    pub(crate) fn on_cpu(&self) -> bool {
        self.store.on_cpu()
    }
}

impl VFunction for VTable {
    type Input = Tensor<1, Int>;

    fn values(&self, states: Tensor<1, Int>) -> Result<Tensor<1>> {
        check_state_indices(&states, self.num_states())?;
        Ok(self.tensor().clone().select(0, states))
    }
}
