//! A BERT encoder from a Hugging Face folder, as the idea this crate comes from uses it: a text
//! state in, one pooled hidden state out, for a [`crate::nn::QNetwork`] (or any network on
//! features) to read.

use std::path::Path;

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Bool, Device, Int, Tensor};

use crate::batch::TokenBatch;
use crate::encode::{ObservationEncoder, PaddedTokens};
use crate::env::text::TokenState;
use crate::error::{Error, Result};
use crate::lm::attention::attend;
use crate::lm::hf::weights::{Layout, Weights};
use crate::lm::hf::{BertConfig, HfConfig};
use crate::lm::layers::{Embedding, LayerNorm};
use crate::nn::Activation;
use crate::tensor_ops::index_tensor;

/// How [`BertEncoder`] turns a sequence's hidden states into one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pooling {
    /// The hidden state of the first token (`[CLS]`).
    Cls,
    /// The mean of the real tokens' hidden states (padding left out).
    Mean,
}

/// One post-norm block: `x = norm(x + attention(x))`, then `x = norm(x + ffn(x))`.
#[derive(Module, Debug)]
struct BertLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A BERT encoder (`bert` folders): token, position and token-type embeddings (type 0), then
/// post-norm blocks of bidirectional attention over the real tokens. [`BertEncoder::pooled`]
/// gives one `[hidden]` vector per sequence; as an [`ObservationEncoder`] of [`TokenState`]s it
/// feeds a [`crate::nn::QNetwork`] whose `observation_dim` is the hidden width.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use valuefn::encode::ObservationEncoder;
/// use valuefn::env::text::TokenState;
/// use valuefn::lm::hf::{BertEncoder, Pooling};
///
/// let device = valuefn::device::default_device();
/// let bert = BertEncoder::load("tests/data/hf/bert", Pooling::Cls, &device)?;
/// let states = [TokenState::new(Arc::from(vec![2, 551, 845, 3]))];
/// assert_eq!(bert.encode(&states, &device)?.dims(), [1, 64]);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Module, Debug)]
pub struct BertEncoder {
    words: Embedding,
    positions: Embedding,
    token_type: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<BertLayer>,
    #[module(skip)]
    heads: usize,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    pooling: Pooling,
    #[module(skip)]
    vocab_size: usize,
    #[module(skip)]
    max_len: usize,
}

/// BERT's pooler (a dense layer and tanh on `[CLS]`) is not part of the encoder; older files
/// also store the position-id buffer.
fn ignored(name: &str) -> bool {
    name.contains("pooler.") || name.ends_with("embeddings.position_ids")
}

impl BertEncoder {
    /// Loads the encoder in `dir` onto `device`, pooling as `pooling` says.
    ///
    /// # Errors
    ///
    /// As [`crate::lm::hf::PretrainedLm::load`]; a decoder folder is
    /// [`Error::InvalidConfig`].
    pub fn load(dir: impl AsRef<Path>, pooling: Pooling, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let HfConfig::Bert(config) = HfConfig::load(dir)? else {
            return Err(Error::config(
                "model_type",
                "bert (load decoders with PretrainedLm::load)",
                "a decoder",
            ));
        };
        let mut weights = Weights::open(dir, device)?;
        let encoder = Self::read(&config, pooling, &mut weights)?;
        weights.finish(ignored)?;
        Ok(encoder)
    }

    fn read(config: &BertConfig, pooling: Pooling, weights: &mut Weights) -> Result<Self> {
        let root = if weights.contains("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        let (h, f, eps) = (
            config.hidden_size,
            config.intermediate_size,
            config.layer_norm_eps,
        );
        let e = format!("{root}embeddings");
        let norm = |weights: &mut Weights, prefix: &str| -> Result<LayerNorm> {
            Ok(LayerNorm::from_params(
                weights.param(&format!("{prefix}.weight"), [h])?,
                weights.param(&format!("{prefix}.bias"), [h])?,
                eps,
            ))
        };
        let words = weights.param(
            &format!("{e}.word_embeddings.weight"),
            [config.vocab_size, h],
        )?;
        let positions = weights.param(
            &format!("{e}.position_embeddings.weight"),
            [config.max_position_embeddings, h],
        )?;
        let types = weights.param(
            &format!("{e}.token_type_embeddings.weight"),
            [config.type_vocab_size, h],
        )?;
        let embedding_norm = norm(weights, &format!("{e}.LayerNorm"))?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("{root}encoder.layer.{i}");
            let linear = |weights: &mut Weights, name: &str, inputs, outputs| {
                weights.linear(&format!("{p}.{name}"), inputs, outputs, true, Layout::OutIn)
            };
            layers.push(BertLayer {
                query: linear(weights, "attention.self.query", h, h)?,
                key: linear(weights, "attention.self.key", h, h)?,
                value: linear(weights, "attention.self.value", h, h)?,
                attention_output: linear(weights, "attention.output.dense", h, h)?,
                attention_norm: norm(weights, &format!("{p}.attention.output.LayerNorm"))?,
                intermediate: linear(weights, "intermediate.dense", h, f)?,
                output: linear(weights, "output.dense", f, h)?,
                output_norm: norm(weights, &format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Self {
            words: Embedding::from_table(words),
            positions: Embedding::from_table(positions),
            token_type: Embedding::from_table(types),
            embedding_norm,
            layers,
            heads: config.num_attention_heads,
            activation: config.activation()?,
            pooling,
            vocab_size: config.vocab_size,
            max_len: config.max_position_embeddings,
        })
    }

    /// Width of the hidden states (of the pooled vector).
    pub fn hidden_size(&self) -> usize {
        self.words.table.val().dims()[1]
    }

    /// Number of token ids.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The longest sequence the position table covers.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// How sequences are pooled.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Hidden states of every position, `[B, T, H]` (padding positions hold unspecified
    /// values).
    ///
    /// # Errors
    ///
    /// As [`TokenBatch::check`] against the encoder's vocabulary and position table.
    pub fn hidden_states(&self, batch: &TokenBatch) -> Result<Tensor<3>> {
        batch.check(self.vocab_size, Some(self.max_len))?;
        Ok(self.run(batch.ids.clone(), batch.mask.clone()))
    }

    /// One vector per sequence, `[B, H]`, pooled as [`BertEncoder::pooling`] says.
    ///
    /// # Errors
    ///
    /// As [`BertEncoder::hidden_states`].
    pub fn pooled(&self, batch: &TokenBatch) -> Result<Tensor<2>> {
        let hidden = self.hidden_states(batch)?;
        let [batch_size, _, width] = hidden.dims();
        Ok(match self.pooling {
            Pooling::Cls => hidden.slice([0..batch_size, 0..1, 0..width]).squeeze_dim(1),
            Pooling::Mean => {
                let mask = batch.mask.clone().float().unsqueeze_dim::<3>(2);
                let sums = (hidden * mask.clone()).sum_dim(1).squeeze_dim(1);
                sums / mask.sum_dim(1).squeeze_dim::<2>(1)
            }
        })
    }

    fn run(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>) -> Tensor<3> {
        let [batch, steps] = ids.dims();
        let device = ids.device();
        let position_ids: Vec<usize> = (0..steps).collect();
        let positions = self
            .positions
            .forward_1d(index_tensor(&position_ids, &device))
            .unsqueeze_dim::<3>(0);
        let types = self
            .token_type
            .forward_1d(index_tensor(&[0], &device))
            .unsqueeze_dim::<3>(0);
        let mut x = self
            .embedding_norm
            .forward(self.words.forward(ids) + positions + types);
        // Every query reads every real token of its row.
        let allowed = mask.unsqueeze_dim::<3>(1).expand([batch, steps, steps]);
        for layer in &self.layers {
            let d = x.dims()[2] / self.heads;
            let split = |linear: &Linear| {
                linear
                    .forward(x.clone())
                    .reshape([batch, steps, self.heads, d])
                    .swap_dims(1, 2)
            };
            let attended = attend(
                split(&layer.query),
                split(&layer.key),
                split(&layer.value),
                allowed.clone(),
            );
            x = layer
                .attention_norm
                .forward(x.clone() + layer.attention_output.forward(attended));
            let ffn = layer
                .output
                .forward(self.activation.apply(layer.intermediate.forward(x.clone())));
            x = layer.output_norm.forward(x + ffn);
        }
        x
    }
}

impl ObservationEncoder<TokenState> for BertEncoder {
    type Output = Tensor<2>;

    /// The pooled hidden states of `states`, `[B, H]`.
    ///
    /// # Errors
    ///
    /// As [`BertEncoder::pooled`].
    fn encode(&self, states: &[TokenState], device: &Device) -> Result<Tensor<2>> {
        self.pooled(&PaddedTokens.encode(states, device)?)
    }
}
