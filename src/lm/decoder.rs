//! What incremental decoding needs from a model: logits for the next token, one step at a
//! time.

use burn::tensor::Tensor;

use crate::batch::TokenBatch;
use crate::error::Result;
use crate::lm::layers::dense;
use crate::lm::{Decoding, LmBody, TokenModel};
use crate::policy::{PolicyAndValue, PolicyValue};
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
        let (hidden, decoding) = self.prefill_hidden(prompts)?;
        Ok((dense(self.policy_head(), hidden), decoding))
    }

    fn advance(&self, tokens: &[TokenId], state: &mut Self::State) -> Result<Tensor<2>> {
        Ok(dense(self.policy_head(), self.step_hidden(tokens, state)?))
    }
}

/// A [`TokenDecoder`] that also says `V` of each row's state as it decodes: what
/// [`crate::lm::TokenCollector::collect`] reads so that the rollout keeps the values the
/// actor-critic update needs, instead of the update running the model again for them. A
/// [`TokenModel`] reads its value head from the same body pass as its policy;
/// [`PolicyAndValue`] decodes with its policy and its critic side by side.
pub trait ValueDecoder: TokenDecoder {
    /// [`TokenDecoder::start`] with the values of the prompts' states.
    ///
    /// # Shapes
    ///
    /// - output: logits `[B, V]`, values `[B]`
    ///
    /// # Errors
    ///
    /// As [`TokenDecoder::start`].
    fn start_scored(&self, prompts: &TokenBatch) -> Result<(PolicyValue, Self::State)>;

    /// [`TokenDecoder::advance`] with the values of the new states.
    ///
    /// # Errors
    ///
    /// As [`TokenDecoder::advance`].
    fn advance_scored(&self, tokens: &[TokenId], state: &mut Self::State) -> Result<PolicyValue>;
}

impl<B: LmBody> ValueDecoder for TokenModel<B> {
    fn start_scored(&self, prompts: &TokenBatch) -> Result<(PolicyValue, Self::State)> {
        let (hidden, decoding) = self.prefill_hidden(prompts)?;
        Ok((self.policy_value(hidden), decoding))
    }

    fn advance_scored(&self, tokens: &[TokenId], state: &mut Self::State) -> Result<PolicyValue> {
        Ok(self.policy_value(self.step_hidden(tokens, state)?))
    }
}

/// A policy and a separate critic decode side by side (each with its own cache); the logits
/// are the policy's.
impl<P: TokenDecoder, V: ValueDecoder> TokenDecoder for PolicyAndValue<P, V> {
    type State = (P::State, V::State);

    fn vocab_size(&self) -> usize {
        self.policy().vocab_size()
    }

    fn max_len(&self) -> Option<usize> {
        match (self.policy().max_len(), self.value().max_len()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn start(&self, prompts: &TokenBatch) -> Result<(Tensor<2>, Self::State)> {
        let (out, state) = self.start_scored(prompts)?;
        Ok((out.logits, state))
    }

    fn advance(&self, tokens: &[TokenId], state: &mut Self::State) -> Result<Tensor<2>> {
        Ok(self.advance_scored(tokens, state)?.logits)
    }
}

impl<P: TokenDecoder, V: ValueDecoder> ValueDecoder for PolicyAndValue<P, V> {
    fn start_scored(&self, prompts: &TokenBatch) -> Result<(PolicyValue, Self::State)> {
        if self.policy().vocab_size() != self.value().vocab_size() {
            return Err(crate::error::Error::ShapeMismatch {
                what: "critic's vocabulary (as the policy's)",
                expected: vec![self.policy().vocab_size()],
                actual: vec![self.value().vocab_size()],
            });
        }
        let (logits, policy) = self.policy().start(prompts)?;
        let (critic, value) = self.value().start_scored(prompts)?;
        Ok((
            PolicyValue {
                logits,
                values: critic.values,
            },
            (policy, value),
        ))
    }

    fn advance_scored(&self, tokens: &[TokenId], state: &mut Self::State) -> Result<PolicyValue> {
        let logits = self.policy().advance(tokens, &mut state.0)?;
        let values = self.value().advance_scored(tokens, &mut state.1)?.values;
        Ok(PolicyValue { logits, values })
    }
}

impl<B: LmBody> TokenModel<B> {
    /// The policy and value heads on hidden states `[B, H]` (the Q head left out).
    fn policy_value(&self, hidden: Tensor<2>) -> PolicyValue {
        PolicyValue {
            logits: dense(self.policy_head(), hidden.clone()),
            values: self.value_head().forward(hidden).squeeze_dim(1),
        }
    }
}
