//! Small conversions between Rust slices and burn tensors, used across the crate.
//!
//! Each is one host-device transfer; callers use them at batch boundaries, never per element.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};

/// A 1-D integer tensor of indices.
///
/// An index above `i64::MAX` (never a valid index: no tensor is that long) is stored as
/// `i64::MAX`, so it stays out of range for every check downstream instead of wrapping to a
/// negative number (`usize::MAX as i64` is -1, which some backends read from the end).
///
/// # Example
///
/// ```
/// use valuefn::tensor_ops::{index_tensor, to_indices};
///
/// let device = valuefn::device::default_device();
/// assert_eq!(to_indices(index_tensor(&[0, 7], &device)), vec![0, 7]);
/// let far = index_tensor(&[usize::MAX], &device).into_data().into_vec::<i64>().unwrap();
/// assert_eq!(far, vec![i64::MAX]);
/// ```
pub fn index_tensor(indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i64> = indices
        .iter()
        .map(|&i| i64::try_from(i).unwrap_or(i64::MAX))
        .collect();
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

/// `softmax(logits)` of one row on the host, in `f64` (the maximum subtracted first).
pub(crate) fn host_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// `log softmax(logits)[index]` of one row on the host, computed stably in `f64`.
pub(crate) fn host_log_softmax_at(logits: &[f32], index: usize) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    (f64::from(logits[index] - max) - sum.ln()) as f32
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

/// Checks that `log_probs` holds log-probabilities: no NaN and no `+inf` (`-inf`, an action of
/// probability 0, is allowed). One reduction and one scalar read back; the tensor itself is
/// read only to name the bad value.
pub(crate) fn check_log_probs<const D: usize>(
    what: &'static str,
    log_probs: &Tensor<D>,
) -> Result<()> {
    let bad = log_probs
        .clone()
        .is_nan()
        .bool_or(log_probs.clone().equal_elem(f32::INFINITY));
    if !bad.any().into_scalar::<bool>() {
        return Ok(());
    }
    let value = to_vec_f32(log_probs.clone())
        .into_iter()
        .find(|x| x.is_nan() || *x == f32::INFINITY)
        .unwrap_or(f32::NAN);
    Err(Error::NonFinite {
        what,
        value: f64::from(value),
    })
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
