//! What incremental decoding needs from a model: logits for the next token, one step at a
//! time.

use burn::tensor::Tensor;

use crate::env::text::TokenBatch;
use crate::error::Result;
use crate::lm::{Decoding, LmBody, TokenModel};
use crate::text::TokenId;

/// A next-token distribution read incrementally: [`crate::lm::generate`] and
/// [`crate::lm::evaluate_decoder`] decode with any of them. A [`TokenModel`] decodes with its
/// policy head; [`crate::lm::ValueGuided`] with a reference model's policy tilted by Q and V
/// heads.
pub trait TokenDecoder {
    /// What decoding carries from one token to the next (caches, lengths).
    type State;

    /// Number of token ids (the width of the logits).
    fn vocab_size(&self) -> usize;

    /// The longest sequence it can read (`None`: unbounded).
    fn max_len(&self) -> Option<usize>;

    /// Reads the prompts and returns the next-token logits `[B, V]` at each row's last token.
    ///
    /// # Errors
    ///
    /// As [`TokenModel::check`].
    fn start(&self, prompts: &TokenBatch) -> Result<(Tensor<2>, Self::State)>;

    /// Appends one token per row and returns the logits after it.
    ///
    /// # Errors
    ///
    /// As [`TokenModel::step`].
    fn advance(&self, tokens: &[TokenId], state: &mut Self::State) -> Result<Tensor<2>>;
}

impl<B: LmBody> TokenDecoder for TokenModel<B> {
    type State = Decoding<B::Cache>;

    fn vocab_size(&self) -> usize {
        TokenModel::vocab_size(self)
    }

    fn max_len(&self) -> Option<usize> {
        self.body().max_len()
    }

    fn start(&self, prompts: &TokenBatch) -> Result<(Tensor<2>, Self::State)> {
        let (heads, decoding) = self.prefill(prompts)?;
        Ok((heads.logits, decoding))
    }

    fn advance(&self, tokens: &[TokenId], state: &mut Self::State) -> Result<Tensor<2>> {
        Ok(self.step(tokens, state)?.logits)
    }
}
