//! Where a table's numbers live: a tensor on its device, a host copy, or both.

use std::sync::OnceLock;

use burn::tensor::{Device, Tensor, TensorData};

use crate::tensor_ops::to_vec_f32;

/// A table of `f32` entries kept as a tensor, as a host `Vec<f32>`, or both (then equal).
///
/// The tabular learners' host path writes the host copy (one read-back the first time); the
/// tensor is rebuilt from it, once, when someone next asks for it. The tensor path replaces
/// the tensor and drops the host copy. So a table updated on the host costs nothing per update
/// beyond the arithmetic, and a table read as a tensor in between costs one transfer.
#[derive(Debug, Clone)]
pub(crate) struct TableStore<const D: usize> {
    dims: [usize; D],
    device: Device,
    /// Whether the device is a CPU backend (asked once).
    on_cpu: bool,
    /// The tensor, when it is up to date.
    tensor: OnceLock<Tensor<D>>,
    /// The host copy, when it is up to date (then authoritative if the tensor is not).
    host: Option<Vec<f32>>,
}

impl<const D: usize> TableStore<D> {
    pub(crate) fn from_tensor(tensor: Tensor<D>) -> Self {
        Self {
            dims: tensor.dims(),
            on_cpu: crate::device::is_cpu(&tensor.device()),
            device: tensor.device(),
            tensor: OnceLock::from(tensor),
            host: None,
        }
    }

    pub(crate) fn dims(&self) -> [usize; D] {
        self.dims
    }

    pub(crate) fn device(&self) -> &Device {
        &self.device
    }

    pub(crate) fn on_cpu(&self) -> bool {
        self.on_cpu
    }

    /// The table as a tensor, built from the host copy if that is the newer one.
    pub(crate) fn tensor(&self) -> &Tensor<D> {
        self.tensor.get_or_init(|| {
            let host = self
                .host
                .clone()
                .expect("a table holds a tensor or a host copy");
            Tensor::from_data(TensorData::new(host, self.dims), &self.device)
        })
    }

    /// Replaces the table with a tensor of the same shape; the host copy is dropped.
    pub(crate) fn set_tensor(&mut self, tensor: Tensor<D>) {
        debug_assert_eq!(tensor.dims(), self.dims);
        self.tensor = OnceLock::from(tensor);
        self.host = None;
    }

    /// The host copy to write to (read back the first time); the tensor is rebuilt on demand.
    pub(crate) fn host_mut(&mut self) -> &mut [f32] {
        if self.host.is_none() {
            self.host = Some(to_vec_f32(self.tensor().clone()));
        }
        self.tensor = OnceLock::new();
        self.host.as_deref_mut().expect("set above")
    }

    /// The entries, row-major, without a read-back when the host copy is current.
    pub(crate) fn to_vec(&self) -> Vec<f32> {
        match &self.host {
            Some(host) => host.clone(),
            None => to_vec_f32(self.tensor().clone()),
        }
    }
}
