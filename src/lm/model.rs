//! Policy, Q and V heads on any body: the language model as an agent.

use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Gradients, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::algo::ilql::{IlqlModel, IlqlOutputs};
use crate::batch::BatchRows;
use crate::batch::TokenBatch;
use crate::error::{Error, Result};
use crate::lm::body::gather_positions;
use crate::lm::layers::dense;
use crate::lm::{LmBody, TokenPositions};
use crate::nn::WeightInit;
use crate::policy::{ActorCriticModel, LogitsPolicy, PolicyQValues, PolicyValue};
use crate::tensor_ops::index_tensor;
use crate::text::TokenId;
use crate::value::{QFunction, VFunction};

/// What the three heads say about each row's state (its last real token).
#[derive(Debug, Clone)]
pub struct HeadOutputs {
    /// Policy logits over the next token, `[B, V]`.
    pub logits: Tensor<2>,
    /// `Q(s, a)` of every next token `a`, `[B, V]`.
    pub q_values: Tensor<2>,
    /// `V(s)`, `[B]`.
    pub values: Tensor<1>,
}

/// A language model as an agent of the text MDP: a causal body ([`LmBody`]: a
/// [`crate::lm::TransformerBody`], a [`crate::lm::GruBody`], or a user's own) and linear heads
/// on its hidden states:
///
/// - policy logits `[B, T, V]`: `pi(next token | prefix)`;
/// - a Q head `[B, T, V]`: `Q(prefix, next token)`, one value per token, as a
///   [`crate::nn::QNetwork`] scores actions;
/// - a V head `[B, T]`: `V(prefix)`;
/// - a second Q head, the twin ILQL trains beside the first
///   ([`crate::algo::ilql::IlqlModel`]: both Q heads and the V head on one body pass).
///
/// As a [`LogitsPolicy`], [`QFunction`], [`VFunction`] and [`ActorCriticModel`] (the policy
/// and value heads from one body pass) it reads [`TokenPositions`]: each
/// state is a position in a token sequence (a [`TokenBatch`] converts, each row at its **last
/// real token**), and the body runs once per sequence however many of its positions are read,
/// so
/// [`crate::algo::dqn::Dqn`] trains its Q head and [`crate::algo::actor_critic::ActorCritic`]
/// its policy and V heads like any network. Every entry point checks its batch: ids outside the
/// vocabulary, empty rows, rows longer than the body's context, or a mask that disagrees with
/// the lengths are errors, not panics.
///
/// # Example
///
/// ```
/// use valuefn::lm::{GruBodyConfig, TokenModel};
/// use valuefn::env::text::TokenState;
/// use valuefn::encode::PaddedTokens;
/// use valuefn::encode::ObservationEncoder;
/// use valuefn::prelude::*;
///
/// let device = valuefn::device::default_device();
/// let model = TokenModel::new(GruBodyConfig::new(10).with_hidden(16).init(&device)?, 0, &device);
/// let states = [TokenState::new(vec![1, 5, 6].into()), TokenState::new(vec![1].into())];
/// let batch = PaddedTokens.encode(&states, &device)?;
/// assert_eq!(model.q_values(batch.clone().into())?.dims(), [2, 10]);
/// assert_eq!(model.values(batch.into())?.dims(), [2]);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Module, Debug)]
pub struct TokenModel<B> {
    body: B,
    policy: Linear,
    q: Linear,
    value: Linear,
    /// The twin of `q` (clipped double Q: ILQL's second head).
    q2: Linear,
}

/// `head`, with fresh parameters (same values) where an earlier head in `taken` already holds
/// its parameter ids; its ids are added to `taken`.
fn own_parameters(head: Linear, taken: &mut Vec<ParamId>) -> Linear {
    fn own<const D: usize>(param: Param<Tensor<D>>, taken: &mut Vec<ParamId>) -> Param<Tensor<D>> {
        let param = if taken.contains(&param.id) {
            Param::from_tensor(param.val().detach())
        } else {
            param
        };
        taken.push(param.id);
        param
    }
    Linear {
        weight: own(head.weight, taken),
        bias: head.bias.map(|bias| own(bias, taken)),
    }
}

impl<B: LmBody> TokenModel<B> {
    /// Heads on `body`, their weights drawn from `seed` (PyTorch's `nn.Linear` default) on
    /// `device` (the body's device).
    pub fn new(body: B, seed: u64, device: &Device) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let (h, v) = (body.hidden_size(), body.vocab_size());
        let init = WeightInit::Uniform;
        // Drawn in this order so that adding a head never changes the others' weights.
        let policy = init.linear(h, v, 1.0, true, &mut rng, device);
        let q = init.linear(h, v, 1.0, true, &mut rng, device);
        let value = init.linear(h, 1, 1.0, true, &mut rng, device);
        let q2 = init.linear(h, v, 1.0, true, &mut rng, device);
        Self {
            policy,
            q,
            value,
            q2,
            body,
        }
    }

    /// A model over `body` with the given heads (a pretrained model's LM head as `policy`,
    /// for instance: see [`crate::lm::hf::PretrainedLm::token_model`]). Each head reads the
    /// body's hidden state: `policy`, `q` and `q2` are `[hidden, vocab]`, `value`
    /// `[hidden, 1]`; biases are optional.
    ///
    /// A head given more than once (the LM head as the policy and as the Q heads' starting
    /// point) becomes a copy with parameters of its own: optimisers, the critic's gradient
    /// group and checkpoints find parameters by id, and two heads sharing one would train as
    /// one.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] naming the first head whose weight (or bias) does not fit the
    /// body.
    pub fn from_heads(
        body: B,
        policy: Linear,
        q: Linear,
        value: Linear,
        q2: Linear,
    ) -> Result<Self> {
        let (h, v) = (body.hidden_size(), body.vocab_size());
        for (what, head, outputs) in [
            ("policy head", &policy, v),
            ("q head", &q, v),
            ("value head", &value, 1),
            ("q2 head", &q2, v),
        ] {
            let weight = head.weight.dims();
            let bias = head.bias.as_ref().map(|b| b.dims()[0]).unwrap_or(outputs);
            if weight != [h, outputs] || bias != outputs {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![h, outputs],
                    actual: vec![weight[0], weight[1], bias],
                });
            }
        }
        let mut taken = Vec::new();
        let [policy, q, value, q2] =
            [policy, q, value, q2].map(|head| own_parameters(head, &mut taken));
        Ok(Self {
            body,
            policy,
            q,
            value,
            q2,
        })
    }

    /// The same model with its body's parameters frozen (no gradients): updates train the
    /// heads only, and the backward pass stops at the hidden states.
    pub fn with_frozen_body(mut self) -> Self {
        self.body = self.body.no_grad();
        self
    }

    /// The same model with every body parameter trainable again (after
    /// [`TokenModel::with_frozen_body`]).
    pub fn with_trainable_body(mut self) -> Self {
        self.body = self.body.set_require_grad(true);
        self
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.policy.weight.val().device()
    }

    /// The body.
    pub fn body(&self) -> &B {
        &self.body
    }

    /// The policy head: hidden state to next-token logits.
    pub fn policy_head(&self) -> &Linear {
        &self.policy
    }

    /// The Q head: hidden state to one `Q(s, a)` per next token.
    pub fn q_head(&self) -> &Linear {
        &self.q
    }

    /// The value head: hidden state to `V(s)`.
    pub fn value_head(&self) -> &Linear {
        &self.value
    }

    /// The second Q head, the twin of [`TokenModel::q_head`] (ILQL's clipped double Q).
    pub fn q2_head(&self) -> &Linear {
        &self.q2
    }

    /// The same model with `head` as its Q head (e.g. a target head of ILQL, for decoding with
    /// [`crate::lm::ValueGuided`]); the body and the other heads are shared.
    pub fn with_q_head(&self, head: Linear) -> Self {
        Self {
            body: self.body.clone(),
            policy: self.policy.clone(),
            q: head,
            value: self.value.clone(),
            q2: self.q2.clone(),
        }
    }

    /// Number of token ids (the width of the policy and Q heads).
    pub fn vocab_size(&self) -> usize {
        self.body.vocab_size()
    }

    /// Checks a batch and returns each row's length.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for ids, mask and lengths that disagree in shape, or a mask
    /// that is not true exactly on each row's first `lengths` positions; [`Error::Empty`] for
    /// no rows or an empty row; [`Error::TooLarge`] for a row longer than the body's context;
    /// [`Error::InvalidAction`] for a token id outside the vocabulary.
    pub fn check(&self, batch: &TokenBatch) -> Result<Vec<usize>> {
        batch.check(self.vocab_size(), self.body.max_len())
    }

    /// Hidden states `[B, T, H]` of a checked batch, and its lengths.
    fn hidden(&self, batch: &TokenBatch) -> Result<(Tensor<3>, Vec<usize>)> {
        let lengths = self.check(batch)?;
        Ok((
            self.body.forward(batch.ids.clone(), batch.mask.clone()),
            lengths,
        ))
    }

    /// Policy logits at every position, `[B, T, V]` (what teacher-forced training reads).
    ///
    /// # Errors
    ///
    /// As [`TokenModel::check`].
    pub fn logits_all(&self, batch: &TokenBatch) -> Result<Tensor<3>> {
        Ok(self.policy.forward(self.hidden(batch)?.0))
    }

    /// Q values of every next token at every position, `[B, T, V]`.
    ///
    /// # Errors
    ///
    /// As [`TokenModel::check`].
    pub fn q_values_all(&self, batch: &TokenBatch) -> Result<Tensor<3>> {
        Ok(self.q.forward(self.hidden(batch)?.0))
    }

    /// `V` at every position, `[B, T]`.
    ///
    /// # Errors
    ///
    /// As [`TokenModel::check`].
    pub fn values_all(&self, batch: &TokenBatch) -> Result<Tensor<2>> {
        Ok(self.value.forward(self.hidden(batch)?.0).squeeze_dim(2))
    }

    /// The three heads at each row's last real position.
    ///
    /// # Errors
    ///
    /// As [`TokenModel::check`].
    pub fn heads(&self, batch: &TokenBatch) -> Result<HeadOutputs> {
        Ok(self.apply_heads(self.last_hidden(batch)?))
    }

    /// Hidden states at each row's last real position, `[B, H]`.
    fn last_hidden(&self, batch: &TokenBatch) -> Result<Tensor<2>> {
        let (hidden, lengths) = self.hidden(batch)?;
        let last: Vec<usize> = lengths.iter().map(|&n| n - 1).collect();
        Ok(gather_positions(hidden, &last))
    }

    /// Hidden states of each state of `states`, `[N, H]`: the state every trait impl reads.
    /// One body pass over the sequences the rows reference (all of them, or the selected
    /// ones when rows reference fewer), then a gather.
    fn hidden_at(&self, states: &TokenPositions) -> Result<Tensor<2>> {
        if states.is_empty() {
            return Err(Error::Empty {
                what: "token positions (no rows)",
            });
        }
        let sequences = states.sequences();
        self.check(sequences)?;
        let count = states.lengths().len();
        // Renumber the referenced sequences; run the body on those only.
        let mut slot = vec![usize::MAX; count];
        let mut used = Vec::new();
        for &(sequence, _) in states.rows() {
            if slot[sequence] == usize::MAX {
                slot[sequence] = used.len();
                used.push(sequence);
            }
        }
        let width = used.iter().map(|&s| states.lengths()[s]).max().unwrap_or(1);
        let sub = if used.len() == count {
            slot = (0..count).collect();
            sequences.clone()
        } else {
            sequences.select_rows(index_tensor(&used, &sequences.ids.device()))
        };
        let (mut ids, mut mask) = (sub.ids, sub.mask);
        let rows = ids.dims()[0];
        if width < ids.dims()[1] {
            ids = ids.slice([0..rows, 0..width]);
            mask = mask.slice([0..rows, 0..width]);
        }
        let hidden = self.body.forward(ids, mask);
        let [n, steps, h] = hidden.dims();
        let device = hidden.device();
        let flat: Vec<usize> = states
            .rows()
            .iter()
            .map(|&(sequence, position)| slot[sequence] * steps + position)
            .collect();
        Ok(hidden
            .reshape([n * steps, h])
            .select(0, index_tensor(&flat, &device)))
    }

    fn apply_heads(&self, hidden: Tensor<2>) -> HeadOutputs {
        HeadOutputs {
            logits: dense(&self.policy, hidden.clone()),
            q_values: dense(&self.q, hidden.clone()),
            values: dense(&self.value, hidden).squeeze_dim(1),
        }
    }

    /// Starts incremental decoding: reads the prompts once and returns the heads at each row's
    /// last token and the state to continue from.
    ///
    /// # Errors
    ///
    /// As [`TokenModel::check`].
    pub fn prefill(&self, batch: &TokenBatch) -> Result<(HeadOutputs, Decoding<B::Cache>)> {
        let (hidden, decoding) = self.prefill_hidden(batch)?;
        Ok((self.apply_heads(hidden), decoding))
    }

    /// [`TokenModel::prefill`] up to the hidden states `[B, H]`, for callers that read only
    /// some heads (generation reads the policy's: the Q head over a 50k vocabulary would cost
    /// as much again).
    pub(crate) fn prefill_hidden(
        &self,
        batch: &TokenBatch,
    ) -> Result<(Tensor<2>, Decoding<B::Cache>)> {
        let lengths = self.check(batch)?;
        let (hidden, cache) = self
            .body
            .prefill(batch.ids.clone(), batch.mask.clone(), &lengths);
        let model = self.decoding_identity();
        Ok((
            hidden,
            Decoding {
                cache,
                lengths,
                model,
            },
        ))
    }

    /// What ties a [`Decoding`] to the model that started it: the id of the policy head's
    /// weight, which inference copies ([`Module::valid`]) and training steps keep, and which
    /// a model built or loaded apart does not share.
    fn decoding_identity(&self) -> ParamId {
        self.policy.weight.id
    }

    /// Appends one token to every row of `decoding` and returns the heads at the new
    /// positions: equal, to rounding, to [`TokenModel::heads`] on the whole sequences.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] (field `decoding`) for a state another model started;
    /// [`Error::ShapeMismatch`] for a token count other than the batch size;
    /// [`Error::InvalidAction`] for an id outside the vocabulary; [`Error::TooLarge`] when a
    /// row would exceed the body's context. Nothing changes on error.
    pub fn step(
        &self,
        tokens: &[TokenId],
        decoding: &mut Decoding<B::Cache>,
    ) -> Result<HeadOutputs> {
        Ok(self.apply_heads(self.step_hidden(tokens, decoding)?))
    }

    /// [`TokenModel::step`] up to the hidden states `[B, H]`.
    pub(crate) fn step_hidden(
        &self,
        tokens: &[TokenId],
        decoding: &mut Decoding<B::Cache>,
    ) -> Result<Tensor<2>> {
        if decoding.model != self.decoding_identity() {
            // Another model's cache may not even have this body's shapes: burn would panic.
            return Err(Error::config(
                "decoding",
                "a state started by this model's prefill (or an inference copy's)",
                "a state from another model",
            ));
        }
        if tokens.len() != decoding.lengths.len() {
            return Err(Error::ShapeMismatch {
                what: "decoding tokens (one per row)",
                expected: vec![decoding.lengths.len()],
                actual: vec![tokens.len()],
            });
        }
        let vocab = self.vocab_size();
        if let Some(&bad) = tokens.iter().find(|&&t| t >= vocab) {
            return Err(Error::InvalidAction {
                action: bad.to_string(),
                space: format!("token ids 0..{vocab}"),
            });
        }
        if let Some(limit) = self.body.max_len()
            && let Some(&long) = decoding.lengths.iter().find(|&&n| n >= limit)
        {
            return Err(Error::TooLarge {
                what: "token sequence (the body's context length)",
                size: long as u128 + 1,
                limit: limit as u128,
            });
        }
        let device = self.device();
        let hidden = self
            .body
            .step(index_tensor(tokens, &device), &mut decoding.cache);
        decoding.lengths.iter_mut().for_each(|n| *n += 1);
        Ok(hidden)
    }
}

/// The state of incremental decoding: the body's cache and each row's length so far.
#[derive(Debug, Clone)]
pub struct Decoding<C> {
    cache: C,
    lengths: Vec<usize>,
    /// The model that started it (see `TokenModel::decoding_identity`).
    model: ParamId,
}

impl<C> Decoding<C> {
    /// Each row's length so far (prompt and generated tokens).
    pub fn lengths(&self) -> &[usize] {
        &self.lengths
    }
}

impl<B: LmBody> LogitsPolicy for TokenModel<B> {
    type Input = TokenPositions;

    fn num_actions(&self) -> usize {
        self.vocab_size()
    }

    fn logits(&self, states: TokenPositions) -> Result<Tensor<2>> {
        Ok(self.policy.forward(self.hidden_at(&states)?))
    }
}

impl<B: LmBody> QFunction for TokenModel<B> {
    type Input = TokenPositions;

    fn num_actions(&self) -> usize {
        self.vocab_size()
    }

    fn q_values(&self, states: TokenPositions) -> Result<Tensor<2>> {
        Ok(self.q.forward(self.hidden_at(&states)?))
    }
}

impl<B: LmBody> VFunction for TokenModel<B> {
    type Input = TokenPositions;

    fn values(&self, states: TokenPositions) -> Result<Tensor<1>> {
        Ok(self.value.forward(self.hidden_at(&states)?).squeeze_dim(1))
    }
}

/// The policy and value heads on one trunk: one body pass gives both, so
/// [`crate::algo::actor_critic::ActorCritic`] runs the body once per minibatch. The critic is
/// the value head, or the (first) Q head under a Q-critic estimator
/// ([`ActorCriticModel::logits_and_q_values`]): both heads' parameters are the critic's
/// (stepped with the critic's optimiser and rate; the one the loss does not reach gets no
/// step); the body and the policy head are the actor's.
impl<B: LmBody> ActorCriticModel for TokenModel<B> {
    type Input = TokenPositions;

    fn num_actions(&self) -> usize {
        self.vocab_size()
    }

    fn logits_and_values(&self, states: TokenPositions) -> Result<PolicyValue> {
        let hidden = self.hidden_at(&states)?;
        Ok(PolicyValue {
            logits: self.policy.forward(hidden.clone()),
            values: self.value.forward(hidden).squeeze_dim(1),
        })
    }

    fn state_values(&self, states: TokenPositions) -> Result<Tensor<1>> {
        VFunction::values(self, states)
    }

    fn critic_gradients(&self, grads: &mut Gradients) -> Option<GradientsParams> {
        let heads: Vec<ParamId> = [&self.value, &self.q]
            .iter()
            .flat_map(|head| {
                std::iter::once(head.weight.id).chain(head.bias.as_ref().map(|b| b.id))
            })
            .collect();
        Some(GradientsParams::from_params(grads, self, &heads))
    }

    fn logits_and_q_values(&self, states: TokenPositions) -> Result<PolicyQValues> {
        let hidden = self.hidden_at(&states)?;
        Ok(PolicyQValues {
            logits: self.policy.forward(hidden.clone()),
            q_values: self.q.forward(hidden),
        })
    }
}

/// The target Q heads of ILQL on a [`TokenModel`]: copies of its two Q heads only (the trunk is
/// shared with the online heads).
#[derive(Module, Debug)]
pub struct TokenQHeads {
    /// The target of the first Q head.
    pub q1: Linear,
    /// The target of the second Q head.
    pub q2: Linear,
}

/// ILQL on one trunk: one body pass over the states and the next states (they share their
/// sequences, so the body reads each sequence once) gives both Q heads and V of the states,
/// `V` of the next states, and the target heads' values on the same hidden states (without
/// gradient). One optimiser steps the body and every head.
impl<B: LmBody> IlqlModel for TokenModel<B> {
    type Input = TokenPositions;
    type Targets = TokenQHeads;

    fn num_actions(&self) -> usize {
        self.vocab_size()
    }

    fn online_targets(&self) -> TokenQHeads {
        TokenQHeads {
            q1: self.q.clone(),
            q2: self.q2.clone(),
        }
        .valid()
    }

    fn ilql_outputs(
        &self,
        states: TokenPositions,
        next_states: TokenPositions,
        targets: &TokenQHeads,
    ) -> Result<IlqlOutputs> {
        let n = states.len();
        let both = TokenPositions::concat_rows(vec![states, next_states]);
        let total = both.len();
        let hidden = self.hidden_at(&both)?;
        let width = hidden.dims()[1];
        let now = hidden.clone().slice([0..n, 0..width]);
        let frozen = hidden.detach().without_autodiff();
        let next = frozen.clone().slice([n..total, 0..width]);
        let frozen_now = frozen.slice([0..n, 0..width]);
        Ok(IlqlOutputs {
            q: [self.q.forward(now.clone()), self.q2.forward(now.clone())],
            values: self.value.forward(now).squeeze_dim(1),
            next_values: self.value.valid().forward(next).squeeze_dim(1),
            target_q: targets
                .q1
                .forward(frozen_now.clone())
                .min_pair(targets.q2.forward(frozen_now)),
        })
    }

    fn target_q_values(&self, states: TokenPositions, targets: &TokenQHeads) -> Result<Tensor<2>> {
        let hidden = self.hidden_at(&states)?.detach().without_autodiff();
        Ok(targets
            .q1
            .forward(hidden.clone())
            .min_pair(targets.q2.forward(hidden)))
    }
}
