//! Selecting and concatenating the rows of a batch of model inputs.

use burn::tensor::kind::Basic;
use burn::tensor::{Int, Tensor};

/// A batch of model inputs whose rows can be selected and concatenated: what minibatches of a
/// rollout are cut from. Implemented for every float and integer tensor (rows along the first
/// dimension); a token batch implements it too.
pub trait BatchRows: Clone + Sized {
    /// Number of rows.
    fn num_rows(&self) -> usize;

    /// The rows at `indices`, in that order.
    ///
    /// # Panics
    ///
    /// When an index is not below [`BatchRows::num_rows`] (burn's `select` panics the same
    /// way). The crate's minibatches draw indices from `0..num_rows` only.
    fn select_rows(&self, indices: Tensor<1, Int>) -> Self;

    /// The parts one after another.
    ///
    /// # Panics
    ///
    /// When `parts` is empty (callers always have at least one).
    fn concat_rows(parts: Vec<Self>) -> Self;
}

impl<const D: usize, K> BatchRows for Tensor<D, K>
where
    K: Basic,
{
    fn num_rows(&self) -> usize {
        self.dims()[0]
    }

    fn select_rows(&self, indices: Tensor<1, Int>) -> Self {
        self.clone().select(0, indices)
    }

    fn concat_rows(parts: Vec<Self>) -> Self {
        Tensor::cat(parts, 0)
    }
}
