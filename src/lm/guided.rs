//! Value-guided decoding: a reference model's policy tilted by learned Q and V heads.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;

use crate::batch::TokenBatch;
use crate::error::{Error, Result};
use crate::lm::{Decoding, LmBody, TokenDecoder, TokenModel, TokenPositions};
use crate::policy::{LogitsPolicy, check_weight, guided_logits};
use crate::text::TokenId;
use crate::value::{QFunction, VFunction};

/// Decoding with `logits' = log pi_ref(a|s) + beta (Q(s, a) - V(s))`, ILQL's rule: the reference
/// model's policy head, the element-wise minimum of one or more models' Q heads (ILQL's twin
/// target heads: pessimism against overestimated tokens), and a model's V head. `beta = 0` is
/// the reference's own decoding; larger `beta` trusts the values more.
///
/// It is a [`TokenDecoder`] (so [`crate::lm::generate`] and [`crate::lm::evaluate_decoder`]
/// decode with it: greedy, temperature, top-k, top-p, batched, with each model's cache) and a
/// [`LogitsPolicy`] on [`TokenPositions`] (the same logits for whole sequences, e.g. to measure
/// its KL divergence from the reference with [`crate::policy::kl_divergence`]). It keeps
/// inference copies of the models (no gradients).
///
/// # Example
///
/// ```
/// use valuefn::encode::ObservationEncoder;
/// use valuefn::env::text::TokenState;
/// use valuefn::encode::PaddedTokens;
/// use valuefn::lm::{GenerationConfig, GruBodyConfig, TokenModel, ValueGuided, generate};
///
/// let device = valuefn::device::default_device();
/// let model = |seed| -> valuefn::Result<_> {
///     Ok(TokenModel::new(GruBodyConfig::new(8).with_seed(seed).init(&device)?, seed, &device))
/// };
/// let (reference, q, v) = (model(0)?, model(1)?, model(2)?);
/// let guided = ValueGuided::new(&reference, &[q], &v, 2.0)?;
/// let prompts = PaddedTokens.encode(&[TokenState::new(vec![1, 4].into())], &device)?;
/// let out = generate(&guided, &prompts, &GenerationConfig::new(3))?;
/// assert!(out.tokens[0].len() <= 3);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ValueGuided<B: LmBody> {
    reference: TokenModel<B>,
    q: Vec<TokenModel<B>>,
    value: TokenModel<B>,
    beta: f64,
}

/// The decoding state of [`ValueGuided`]: one per model.
#[derive(Debug, Clone)]
pub struct GuidedDecoding<C> {
    reference: Decoding<C>,
    q: Vec<Decoding<C>>,
    value: Decoding<C>,
}

impl<B: LmBody> ValueGuided<B> {
    /// Guidance of `reference`'s policy by the minimum of `q`'s Q heads and `value`'s V head at
    /// strength `beta`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a `beta` that is negative or above `f32::MAX`,
    /// [`Error::NonFinite`] for one that is not finite; [`Error::Empty`]
    /// for no Q model; [`Error::ShapeMismatch`] for models of different vocabularies.
    pub fn new(
        reference: &TokenModel<B>,
        q: &[TokenModel<B>],
        value: &TokenModel<B>,
        beta: f64,
    ) -> Result<Self> {
        check_weight("beta", beta)?;
        if q.is_empty() {
            return Err(Error::Empty {
                what: "Q models of value-guided decoding",
            });
        }
        let vocab = reference.vocab_size();
        if let Some(other) = q
            .iter()
            .chain([value])
            .map(TokenModel::vocab_size)
            .find(|&v| v != vocab)
        {
            return Err(Error::ShapeMismatch {
                what: "value-guidance model vocabulary (as the reference's)",
                expected: vec![vocab],
                actual: vec![other],
            });
        }
        Ok(Self {
            reference: reference.valid(),
            q: q.iter().map(Module::valid).collect(),
            value: value.valid(),
            beta,
        })
    }

    /// The guidance strength.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The same guidance at another strength (the models are shared).
    ///
    /// # Errors
    ///
    /// As [`ValueGuided::new`].
    pub fn with_beta(&self, beta: f64) -> Result<Self> {
        Self::new(&self.reference, &self.q, &self.value, beta)
    }

    /// The reference model.
    pub fn reference(&self) -> &TokenModel<B> {
        &self.reference
    }

    /// `log pi_ref + beta (min_i Q_i - V)` from each model's outputs.
    fn combine(
        &self,
        reference_logits: Tensor<2>,
        q: Vec<Tensor<2>>,
        values: Tensor<1>,
    ) -> Result<Tensor<2>> {
        let q = q
            .into_iter()
            .reduce(Tensor::min_pair)
            .expect("at least one Q model (checked in new)");
        guided_logits(log_softmax(reference_logits, 1), q, values, self.beta)
    }
}

impl<B: LmBody> TokenDecoder for ValueGuided<B> {
    type State = GuidedDecoding<B::Cache>;

    fn vocab_size(&self) -> usize {
        self.reference.vocab_size()
    }

    fn max_len(&self) -> Option<usize> {
        std::iter::once(&self.reference)
            .chain(&self.q)
            .chain([&self.value])
            .filter_map(|m| m.body().max_len())
            .min()
    }

    fn start(&self, prompts: &TokenBatch) -> Result<(Tensor<2>, Self::State)> {
        let (reference_heads, reference) = self.reference.prefill(prompts)?;
        let mut q_values = Vec::with_capacity(self.q.len());
        let mut q = Vec::with_capacity(self.q.len());
        for model in &self.q {
            let (heads, decoding) = model.prefill(prompts)?;
            q_values.push(heads.q_values);
            q.push(decoding);
        }
        let (value_heads, value) = self.value.prefill(prompts)?;
        let logits = self.combine(reference_heads.logits, q_values, value_heads.values)?;
        Ok((
            logits,
            GuidedDecoding {
                reference,
                q,
                value,
            },
        ))
    }

    fn advance(&self, tokens: &[TokenId], state: &mut Self::State) -> Result<Tensor<2>> {
        // Step copies, so an error leaves the state as it was.
        let mut next = state.clone();
        let reference = self.reference.step(tokens, &mut next.reference)?.logits;
        let q_values = self
            .q
            .iter()
            .zip(&mut next.q)
            .map(|(model, decoding)| Ok(model.step(tokens, decoding)?.q_values))
            .collect::<Result<Vec<_>>>()?;
        let values = self.value.step(tokens, &mut next.value)?.values;
        let logits = self.combine(reference, q_values, values)?;
        *state = next;
        Ok(logits)
    }
}

impl<B: LmBody> LogitsPolicy for ValueGuided<B> {
    type Input = TokenPositions;

    fn num_actions(&self) -> usize {
        self.reference.vocab_size()
    }

    fn logits(&self, states: TokenPositions) -> Result<Tensor<2>> {
        let reference = self.reference.logits(states.clone())?;
        let q = self
            .q
            .iter()
            .map(|model| model.q_values(states.clone()))
            .collect::<Result<Vec<_>>>()?;
        let values = self.value.values(states)?;
        self.combine(reference, q, values)
    }
}

/// ILQL on one trunk, read by [`ValueGuided`].
impl<B: LmBody> crate::algo::ilql::Ilql<TokenModel<B>> {
    /// Inference copies of the trained model with each target Q head in place of its Q head:
    /// the Q models [`ValueGuided::new`] takes (the trained model's inference copy is its V
    /// model). Each shares the trunk, so guided decoding steps it once per model.
    pub fn target_models(&self) -> [TokenModel<B>; 2] {
        let model = self.model().valid();
        let targets = self.targets();
        [
            model.with_q_head(targets.q1.clone()),
            model.with_q_head(targets.q2.clone()),
        ]
    }
}
