//! The trait every language-model body implements: token ids in, hidden states out, with an
//! incremental mode for generation.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Bool, Int, Tensor};

/// A causal language-model body: a batch of right-padded token ids `[B, T]` to hidden states
/// `[B, T, H]`, where position `t` depends only on tokens `0..=t` of its row. Heads
/// ([`crate::lm::TokenModel`]) read the hidden states; any body gets policy, Q and V heads.
///
/// The methods are the fast path and trust their input (ids below
/// [`LmBody::vocab_size`], lengths within [`LmBody::max_len`], at least one real token per
/// row); [`crate::lm::TokenModel`] checks a [`crate::batch::TokenBatch`] before calling
/// them and returns an error for bad input.
///
/// **Incremental decoding.** [`LmBody::prefill`] reads the prompts once and returns a cache;
/// each [`LmBody::step`] appends one token per row and returns the new position's hidden state,
/// equal (to rounding) to what [`LmBody::forward`] gives on the whole sequence.
pub trait LmBody: Module + ModuleDisplay {
    /// What incremental decoding carries from step to step (a key/value cache, a recurrent
    /// state).
    type Cache: Clone;

    /// Number of token ids the body embeds.
    fn vocab_size(&self) -> usize;

    /// Width `H` of the hidden states.
    fn hidden_size(&self) -> usize;

    /// The longest sequence the body reads (its position table), `None` when unbounded.
    fn max_len(&self) -> Option<usize>;

    /// Hidden states of every position, `[B, T, H]`; positions past a row's length (padding)
    /// hold unspecified values.
    ///
    /// # Shapes
    ///
    /// - `ids`, `mask`: `[B, T]` (mask true on real tokens, a prefix of each row).
    fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>) -> Tensor<3>;

    /// Reads right-padded prompts (`lengths[b]` real tokens in row `b`) and returns the hidden
    /// state at each row's last real token, `[B, H]`, and the cache to continue from there.
    fn prefill(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
        lengths: &[usize],
    ) -> (Tensor<2>, Self::Cache);

    /// Appends `tokens` (`[B]`, one per row) and returns their hidden states, `[B, H]`.
    fn step(&self, tokens: Tensor<1, Int>, cache: &mut Self::Cache) -> Tensor<2>;
}

/// The rows of `hidden` (`[B, T, H]`) at each row's position `positions[b]`: `[B, H]`.
pub(crate) fn gather_positions(hidden: Tensor<3>, positions: &[usize]) -> Tensor<2> {
    let [batch, steps, width] = hidden.dims();
    let device = hidden.device();
    let flat: Vec<usize> = positions
        .iter()
        .enumerate()
        .map(|(b, &t)| b * steps + t)
        .collect();
    hidden
        .reshape([batch * steps, width])
        .select(0, crate::tensor_ops::index_tensor(&flat, &device))
}
