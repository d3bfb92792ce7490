//! Turning a batch of observations into a tensor on a device.
//!
//! Environments step on plain values; learners want tensors. An [`ObservationEncoder`] is the
//! one place that conversion happens, once per batch.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::batch::TokenBatch;
use crate::env::text::TokenState;
use crate::error::{Error, Result, check_size};
use crate::tensor_ops::index_tensor;
use crate::text::Vocabulary;

/// Encodes a batch of observations of type `O` as a tensor.
pub trait ObservationEncoder<O> {
    /// The batched tensor type.
    type Output;

    /// Encodes `observations` (one per batch row) on `device`.
    ///
    /// # Errors
    ///
    /// When an observation cannot be encoded (out of range, wrong length).
    fn encode(&self, observations: &[O], device: &Device) -> Result<Self::Output>;
}

/// An encoder whose output is a `[batch, dim]` float tensor built row by row on the host: what
/// replay memories store (one row of `f32` features per observation) and what a network on
/// features reads.
///
/// # Example
///
/// ```
/// use valuefn::encode::{FeatureEncoder, OneHot};
///
/// let mut row = [9.0; 3];
/// OneHot::new(3).write_features(&1, &mut row)?;
/// assert_eq!(row, [0.0, 1.0, 0.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub trait FeatureEncoder<O>: ObservationEncoder<O, Output = Tensor<2>> {
    /// Width of a row.
    fn dim(&self) -> usize;

    /// Writes the features of `observation` into `row` (of length [`FeatureEncoder::dim`]).
    ///
    /// # Errors
    ///
    /// As [`ObservationEncoder::encode`], and [`Error::ShapeMismatch`] when `row` is not
    /// `dim` long.
    fn write_features(&self, observation: &O, row: &mut [f32]) -> Result<()>;
}

fn check_row(row: &[f32], dim: usize) -> Result<()> {
    if row.len() == dim {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            what: "feature row",
            expected: vec![dim],
            actual: vec![row.len()],
        })
    }
}

/// Discrete states as a `[batch]` integer tensor of indices: the input of tabular value
/// functions.
///
/// # Example
///
/// ```
/// use valuefn::encode::{ObservationEncoder, StateIndex};
///
/// let device = valuefn::device::default_device();
/// let states = StateIndex::new(5).encode(&[0, 4, 2], &device).unwrap();
/// assert_eq!(states.dims(), [3]);
/// assert!(StateIndex::new(5).encode(&[5], &device).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateIndex {
    num_states: usize,
}

impl StateIndex {
    /// An encoder for states `0..num_states`.
    pub fn new(num_states: usize) -> Self {
        Self { num_states }
    }
}

impl ObservationEncoder<usize> for StateIndex {
    type Output = Tensor<1, Int>;

    fn encode(&self, observations: &[usize], device: &Device) -> Result<Tensor<1, Int>> {
        check_states(observations, self.num_states)?;
        Ok(index_tensor(observations, device))
    }
}

/// Discrete states as one-hot rows, `[batch, num_states]`: the input of a neural value
/// function on a tabular problem.
///
/// # Example
///
/// ```
/// use valuefn::encode::{ObservationEncoder, OneHot};
///
/// let device = valuefn::device::default_device();
/// let x = OneHot::new(3).encode(&[2, 0], &device).unwrap();
/// assert_eq!(valuefn::tensor_ops::to_vec_f32(x), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneHot {
    num_states: usize,
}

impl OneHot {
    /// The most elements (`batch x num_states`) [`ObservationEncoder::encode`] allocates:
    /// 2^28, 1 GiB of `f32`. A bigger batch is an [`Error::TooLarge`]; encode it in parts, or
    /// use [`StateIndex`] and an embedding.
    pub const MAX_ELEMENTS: usize = 1 << 28;

    /// An encoder for states `0..num_states`.
    pub fn new(num_states: usize) -> Self {
        Self { num_states }
    }
}

impl ObservationEncoder<usize> for OneHot {
    type Output = Tensor<2>;

    fn encode(&self, observations: &[usize], device: &Device) -> Result<Tensor<2>> {
        check_states(observations, self.num_states)?;
        let len = check_size(
            "one-hot elements (batch x num_states)",
            observations.len(),
            self.num_states,
            Self::MAX_ELEMENTS,
        )?;
        let mut data = vec![0.0f32; len];
        for (row, &s) in observations.iter().enumerate() {
            data[row * self.num_states + s] = 1.0;
        }
        Ok(Tensor::from_data(
            TensorData::new(data, [observations.len(), self.num_states]),
            device,
        ))
    }
}

impl FeatureEncoder<usize> for OneHot {
    fn dim(&self) -> usize {
        self.num_states
    }

    fn write_features(&self, observation: &usize, row: &mut [f32]) -> Result<()> {
        check_row(row, self.num_states)?;
        check_states(std::slice::from_ref(observation), self.num_states)?;
        row.fill(0.0);
        row[*observation] = 1.0;
        Ok(())
    }
}

/// Feature vectors (anything that is a `&[f32]`) as rows of a `[batch, dim]` tensor.
///
/// # Example
///
/// ```
/// use valuefn::encode::{Features, ObservationEncoder};
///
/// let device = valuefn::device::default_device();
/// let x = Features::new(2).encode(&[[0.5, 1.0], [2.0, 3.0]], &device).unwrap();
/// assert_eq!(x.dims(), [2, 2]);
/// assert!(Features::new(3).encode(&[[0.5, 1.0]], &device).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    dim: usize,
}

impl Features {
    /// An encoder for vectors of length `dim`.
    pub fn new(dim: usize) -> Self {
        Self { dim }
    }
}

impl<O: AsRef<[f32]>> ObservationEncoder<O> for Features {
    type Output = Tensor<2>;

    fn encode(&self, observations: &[O], device: &Device) -> Result<Tensor<2>> {
        // Check every row before allocating: then the size is what the caller already holds.
        if let Some(row) = observations.iter().find(|o| o.as_ref().len() != self.dim) {
            return Err(Error::ShapeMismatch {
                what: "observation features",
                expected: vec![self.dim],
                actual: vec![row.as_ref().len()],
            });
        }
        let mut data = Vec::with_capacity(observations.len() * self.dim);
        for o in observations {
            data.extend_from_slice(o.as_ref());
        }
        Ok(Tensor::from_data(
            TensorData::new(data, [observations.len(), self.dim]),
            device,
        ))
    }
}

impl<O: AsRef<[f32]>> FeatureEncoder<O> for Features {
    fn dim(&self) -> usize {
        self.dim
    }

    fn write_features(&self, observation: &O, row: &mut [f32]) -> Result<()> {
        check_row(row, self.dim)?;
        let features = observation.as_ref();
        if features.len() != self.dim {
            return Err(Error::ShapeMismatch {
                what: "observation features",
                expected: vec![self.dim],
                actual: vec![features.len()],
            });
        }
        row.copy_from_slice(features);
        Ok(())
    }
}

fn check_states(observations: &[usize], num_states: usize) -> Result<()> {
    match observations.iter().find(|&&s| s >= num_states) {
        Some(&state) => Err(Error::InvalidState { state, num_states }),
        None => Ok(()),
    }
}

/// The [`ObservationEncoder`] that turns token states into a [`TokenBatch`].
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use valuefn::encode::ObservationEncoder;
/// use valuefn::encode::PaddedTokens;
/// use valuefn::env::text::TokenState;
/// use valuefn::tensor_ops::to_indices;
///
/// let device = valuefn::device::default_device();
/// let a = TokenState { prompt: Arc::from(vec![1, 4]), generated: vec![5] };
/// let b = TokenState::new(Arc::from(vec![1]));
/// let batch = PaddedTokens.encode(&[a, b], &device).unwrap();
/// assert_eq!(batch.ids.dims(), [2, 3]);
/// assert_eq!(batch.ids.clone().into_data().convert::<i64>().try_to_vec::<i64>().unwrap(), vec![1, 4, 5, 1, 0, 0]);
/// assert_eq!(to_indices(batch.lengths), vec![3, 1]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaddedTokens;

impl ObservationEncoder<TokenState> for PaddedTokens {
    type Output = TokenBatch;

    /// # Errors
    ///
    /// [`Error::Empty`] for an empty batch.
    fn encode(&self, states: &[TokenState], device: &Device) -> Result<TokenBatch> {
        padded(&states.iter().collect::<Vec<_>>(), device)
    }
}

/// Right-pads `states` into a [`TokenBatch`]; [`Error::Empty`] for no states.
fn padded(states: &[&TokenState], device: &Device) -> Result<TokenBatch> {
    if states.is_empty() {
        return Err(Error::Empty {
            what: "batch of token states",
        });
    }
    let lengths: Vec<usize> = states.iter().map(|s| s.len()).collect();
    let width = lengths.iter().copied().max().unwrap_or(0).max(1);
    let mut ids = vec![Vocabulary::PAD as i64; states.len() * width];
    let mut mask = vec![false; states.len() * width];
    for (row, state) in states.iter().enumerate() {
        for (col, id) in state.tokens().enumerate() {
            ids[row * width + col] = id as i64;
            mask[row * width + col] = true;
        }
    }
    let shape = [states.len(), width];
    Ok(TokenBatch {
        ids: Tensor::from_data(TensorData::new(ids, shape), device),
        mask: Tensor::from_data(TensorData::new(mask, shape), device),
        lengths: index_tensor(&lengths, device),
    })
}
