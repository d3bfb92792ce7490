//! Small conversions between Rust slices and burn tensors, used across the crate.
//!
//! Each is one host-device transfer; callers use them at batch boundaries, never per element.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};

/// A 1-D integer tensor of indices.
pub fn index_tensor(indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(data, [indices.len()]), device)
}

/// A float tensor of the given shape from `f64` values (stored as the backend's float type).
pub fn float_tensor<const D: usize>(
    values: &[f64],
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    let data: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// Reads a float tensor back as `f32`, in row-major order.
pub fn to_vec_f32<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    // `convert` is free when the backend already stores f32; `into_vec` then moves the buffer
    // instead of converting element by element.
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("data converted to f32")
}

/// Reads an integer tensor back as indices; negative entries become `usize::MAX` so that
/// range checks reject them.
pub fn to_indices(tensor: Tensor<1, Int>) -> Vec<usize> {
    tensor
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .expect("data converted to i64")
        .into_iter()
        .map(|i| usize::try_from(i).unwrap_or(usize::MAX))
        .collect()
}

/// Checks that every index in `indices` is below `bound`, reading the tensor back once.
pub(crate) fn check_state_indices(indices: &Tensor<1, Int>, bound: usize) -> Result<()> {
    match to_indices(indices.clone())
        .into_iter()
        .find(|&i| i >= bound)
    {
        Some(state) => Err(Error::InvalidState {
            state,
            num_states: bound,
        }),
        None => Ok(()),
    }
}

/// Checks that every action in `actions` is below `num_actions`, reading the tensor back once.
pub(crate) fn check_action_indices(actions: &Tensor<1, Int>, num_actions: usize) -> Result<()> {
    match to_indices(actions.clone())
        .into_iter()
        .find(|&a| a >= num_actions)
    {
        Some(action) => Err(Error::InvalidAction {
            action: action.to_string(),
            space: format!("0..{num_actions}"),
        }),
        None => Ok(()),
    }
}

/// Checks a tensor's shape against `expected`.
pub(crate) fn check_shape<const D: usize>(
    what: &'static str,
    actual: [usize; D],
    expected: [usize; D],
) -> Result<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        })
    }
}

/// Checks that a `[batch, actions]` tensor has at least one action: a maximum or an argmax
/// over no actions is undefined (and panics inside the backend).
pub(crate) fn check_has_actions(what: &'static str, dims: [usize; 2]) -> Result<()> {
    if dims[1] > 0 {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            what,
            expected: vec![dims[0], 1],
            actual: dims.to_vec(),
        })
    }
}
