//! Token states as right-padded tensors: what a language model reads.

use burn::tensor::{Bool, Int, Tensor};

use crate::error::{Error, Result};
use crate::tensor_ops::to_indices;
use crate::text::Vocabulary;

/// A batch of token states as right-padded tensors.
///
/// Row `i` holds the prompt and generated ids of state `i`, followed by
/// [`Vocabulary::PAD`] up to the longest row.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    /// `[batch, max_len]` token ids.
    pub ids: Tensor<2, Int>,
    /// `[batch, max_len]`: true on real tokens, false on padding.
    pub mask: Tensor<2, Bool>,
    /// `[batch]`: the number of real tokens of each row (the last one is at `lengths - 1`,
    /// where a causal model reads the state's summary).
    pub lengths: Tensor<1, Int>,
}

impl TokenBatch {
    /// Checks the batch for a model over `vocab_size` token ids that reads at most `max_len`
    /// tokens, and returns each row's length.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for ids, mask and lengths that disagree in shape, or a mask
    /// that is not true exactly on each row's first `lengths` positions; [`Error::Empty`] for
    /// no rows or an empty row; [`Error::TooLarge`] for a row longer than `max_len`;
    /// [`Error::InvalidAction`] for a token id outside the vocabulary, padding included (the
    /// embedding looks up every position, masked or not: a pad id out of range would index
    /// past the table).
    pub fn check(&self, vocab_size: usize, max_len: Option<usize>) -> Result<Vec<usize>> {
        let batch = self;
        let [rows, width] = batch.ids.dims();
        for (what, dims, expected) in [
            ("token mask", batch.mask.dims().to_vec(), vec![rows, width]),
            ("token lengths", batch.lengths.dims().to_vec(), vec![rows]),
        ] {
            if dims != expected {
                return Err(Error::ShapeMismatch {
                    what,
                    expected,
                    actual: dims,
                });
            }
        }
        if rows == 0 || width == 0 {
            return Err(Error::Empty {
                what: "token batch",
            });
        }
        let lengths = to_indices(batch.lengths.clone());
        if lengths.contains(&0) {
            return Err(Error::Empty {
                what: "token sequence (a row with no tokens)",
            });
        }
        if let Some(&long) = lengths.iter().find(|&&n| n > width) {
            return Err(Error::ShapeMismatch {
                what: "token lengths (at most the batch width)",
                expected: vec![width],
                actual: vec![long],
            });
        }
        if let Some(limit) = max_len
            && let Some(&long) = lengths.iter().find(|&&n| n > limit)
        {
            return Err(Error::TooLarge {
                what: "token sequence (the body's context length)",
                size: long as u128,
                limit: limit as u128,
            });
        }
        // One flag read back for the ids and the mask.
        let vocab = vocab_size as i64;
        let bad_ids = batch
            .ids
            .clone()
            .lower_elem(0)
            .bool_or(batch.ids.clone().greater_equal_elem(vocab));
        let expected_mask = prefix_mask(&batch.lengths, width);
        let bad_mask = expected_mask.not_equal(batch.mask.clone());
        if bad_ids
            .clone()
            .bool_or(bad_mask.clone())
            .any()
            .into_scalar::<bool>()
        {
            if bad_mask.any().into_scalar::<bool>() {
                return Err(Error::ShapeMismatch {
                    what: "token mask (true exactly on each row's first `lengths` positions)",
                    expected: vec![rows, width],
                    actual: vec![rows, width],
                });
            }
            let ids = batch
                .ids
                .clone()
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap_or_default();
            let bad = ids
                .into_iter()
                .find(|&id| id < 0 || id >= vocab)
                .unwrap_or(-1);
            return Err(Error::InvalidAction {
                action: bad.to_string(),
                space: format!("token ids 0..{vocab}"),
            });
        }
        Ok(lengths)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.dims()[0]
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch padded on the right to `width` columns (`<pad>`, mask false); unchanged when
    /// it is already that wide or wider.
    pub fn padded_to(&self, width: usize) -> Self {
        let [rows, current] = self.ids.dims();
        if current >= width {
            return self.clone();
        }
        let device = self.ids.device();
        let extra = [rows, width - current];
        Self {
            ids: Tensor::cat(
                vec![
                    self.ids.clone(),
                    Tensor::full(extra, Vocabulary::PAD as i64, &device),
                ],
                1,
            ),
            mask: Tensor::cat(
                vec![self.mask.clone(), Tensor::full(extra, false, &device)],
                1,
            ),
            lengths: self.lengths.clone(),
        }
    }
}

/// Rows of token batches: minibatches of a token rollout select rows, and batches of
/// different widths concatenate after padding to the widest.
impl crate::batch::BatchRows for TokenBatch {
    fn num_rows(&self) -> usize {
        self.len()
    }

    fn select_rows(&self, indices: Tensor<1, Int>) -> Self {
        let ids = self.ids.clone().select(0, indices.clone());
        let lengths = self.lengths.clone().select(0, indices);
        // The mask is rebuilt from the lengths rather than selected: burn-flex 0.22.1's
        // `select` on a bool tensor returns a u8 tensor that later bool ops refuse.
        Self {
            mask: prefix_mask(&lengths, ids.dims()[1]),
            ids,
            lengths,
        }
    }

    fn concat_rows(parts: Vec<Self>) -> Self {
        let width = parts.iter().map(|p| p.ids.dims()[1]).max().unwrap_or(0);
        let parts: Vec<Self> = parts.iter().map(|p| p.padded_to(width)).collect();
        Self {
            ids: Tensor::cat(parts.iter().map(|p| p.ids.clone()).collect(), 0),
            mask: Tensor::cat(parts.iter().map(|p| p.mask.clone()).collect(), 0),
            lengths: Tensor::cat(parts.iter().map(|p| p.lengths.clone()).collect(), 0),
        }
    }
}

/// `[B, width]`: true on each row's first `lengths[b]` positions.
pub(crate) fn prefix_mask(lengths: &Tensor<1, Int>, width: usize) -> Tensor<2, Bool> {
    let rows = lengths.dims()[0];
    Tensor::<1, Int>::arange(0..width as i64, &lengths.device())
        .unsqueeze_dim::<2>(0)
        .expand([rows, width])
        .lower(lengths.clone().unsqueeze_dim::<2>(1).expand([rows, width]))
}
