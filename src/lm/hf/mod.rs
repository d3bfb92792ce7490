//! Pretrained Hugging Face models from a local folder: GPT-2 and the Llama family as
//! [`LmBody`]s under the crate's policy, Q and V heads, and BERT as an observation encoder.
//!
//! A folder is what `save_pretrained` writes: `config.json`, then `model.safetensors` or the
//! shards of `model.safetensors.index.json` (f32, f16 or bf16; read through burn-store's
//! safetensors reader and widened to f32), and `tokenizer.json` for
//! [`crate::text::HfTokenizer`]. Nothing is downloaded: a path in, a model out.
//!
//! - [`PretrainedLm::load`] reads a decoder (`gpt2`, `llama`, `qwen2`) as an [`HfBody`] and its
//!   LM head; [`PretrainedLm::token_model`] puts the crate's heads on it: the policy is the
//!   model's own LM head, the V head starts small, and the Q head starts random or at the LM's
//!   logits ([`QHeadInit`]).
//! - [`BertEncoder::load`] reads a `bert` encoder: token ids to a pooled hidden state that a
//!   [`crate::nn::QNetwork`] can read.
//!
//! Every tensor is checked against the shape `config.json` implies before it is read, and
//! tensors the architecture does not have are refused: a mismatched folder is an
//! [`crate::Error::Weights`] naming the tensor, never a silently different model.
//!
//! # Example
//!
//! ```
//! use valuefn::lm::hf::{PretrainedLm, QHeadInit};
//! use valuefn::lm::LmBody;
//!
//! let device = valuefn::device::default_device();
//! let lm = PretrainedLm::load("tests/data/hf/gpt2", &device)?;
//! assert_eq!((lm.body().vocab_size(), lm.body().hidden_size()), (1000, 64));
//! let model = lm.token_model(QHeadInit::LmLogits, 0);
//! assert_eq!(model.policy_head().weight.dims(), [64, 1000]);
//! # Ok::<(), valuefn::Error>(())
//! ```

mod bert;
mod config;
mod gpt2;
mod llama;
mod rope;
mod weights;

pub use bert::{BertEncoder, Pooling};
pub use config::{
    BertConfig, Gpt2Config, HfConfig, LlamaConfig, MAX_DIMENSION, MAX_LAYERS, MAX_PARAMETERS,
};
pub use llama::LlamaBody;
pub use rope::RopeScaling;

use std::path::Path;

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Bool, Device, Int, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::error::{Error, Result};
use crate::lm::{KvCache, LmBody, TokenModel, TransformerBody};
use crate::nn::WeightInit;
use weights::Weights;

/// A pretrained decoder body: GPT-2 (the crate's [`TransformerBody`] layout) or the Llama
/// family. Both cache keys and values ([`KvCache`]).
#[derive(Module, Debug)]
pub enum HfBody {
    /// `gpt2`.
    Gpt2(TransformerBody),
    /// `llama`, `qwen2`.
    Llama(LlamaBody),
}

/// A decoder loaded from a folder: its body, its LM head and the config it was read with.
#[derive(Debug)]
pub struct PretrainedLm {
    body: HfBody,
    lm_head: Linear,
    config: HfConfig,
}

/// How [`PretrainedLm::token_model`] starts the Q heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QHeadInit {
    /// A copy of the LM head: `Q(s, .)` starts at the model's logits (the soft-Q view, where
    /// the logits of a policy are the soft Q-values of its own entropy-regularised MDP).
    LmLogits,
    /// PyTorch's `nn.Linear` default, drawn from the seed.
    Random,
}

impl PretrainedLm {
    /// Loads the decoder in `dir` onto `device`.
    ///
    /// # Errors
    ///
    /// As [`HfConfig::load`] (a `bert` folder is [`Error::InvalidConfig`]: load it with
    /// [`BertEncoder::load`]); [`Error::Io`] / [`Error::Decode`] for missing, unreadable or
    /// corrupt weight files; [`Error::Weights`] for a missing, unexpected, misshapen or
    /// non-finite tensor.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let config = HfConfig::load(dir)?;
        let mut weights = Weights::open(dir, device)?;
        let (body, lm_head) = match &config {
            HfConfig::Gpt2(c) => {
                let (body, head) = gpt2::load(c, &mut weights)?;
                weights.finish(gpt2::ignored)?;
                (HfBody::Gpt2(body), head)
            }
            HfConfig::Llama(c) => {
                let (body, head) = LlamaBody::load(c, &mut weights)?;
                weights.finish(llama::ignored)?;
                (HfBody::Llama(body), head)
            }
            HfConfig::Bert(_) => {
                return Err(Error::config(
                    "model_type",
                    "a decoder (gpt2, llama, qwen2); load bert with BertEncoder::load",
                    "\"bert\"",
                ));
            }
        };
        Ok(Self {
            body,
            lm_head,
            config,
        })
    }

    /// The body.
    pub fn body(&self) -> &HfBody {
        &self.body
    }

    /// The LM head: hidden state to next-token logits, `[hidden, vocab]` (GPT-2's and tied
    /// models' is the token embedding, transposed: a parameter of its own).
    pub fn lm_head(&self) -> &Linear {
        &self.lm_head
    }

    /// The config it was loaded with.
    pub fn config(&self) -> &HfConfig {
        &self.config
    }

    /// The body and the LM head.
    pub fn into_parts(self) -> (HfBody, Linear) {
        (self.body, self.lm_head)
    }

    /// The crate's heads on the pretrained trunk: the policy head is the LM head, so the
    /// policy starts as the loaded model; the V head starts small (weights drawn at 1/100 of
    /// `nn.Linear`'s scale, so values start near 0 whatever the trunk's scale, as value-head
    /// fine-tuning does); both Q heads start as `q_init` says. Random draws come from `seed`.
    ///
    /// Train the heads alone on a frozen trunk with [`TokenModel::with_frozen_body`], or the
    /// whole model.
    pub fn token_model(self, q_init: QHeadInit, seed: u64) -> TokenModel<HfBody> {
        let device = self.lm_head.weight.val().device();
        let (h, v) = (self.body.hidden_size(), self.body.vocab_size());
        let mut rng = StdRng::seed_from_u64(seed);
        let init = WeightInit::Uniform;
        let value = init.linear(h, 1, 0.01, true, &mut rng, &device);
        let [q, q2] = [(), ()].map(|_| match q_init {
            QHeadInit::LmLogits => self.lm_head.clone(),
            QHeadInit::Random => init.linear(h, v, 1.0, true, &mut rng, &device),
        });
        TokenModel::from_heads(self.body, self.lm_head, q, value, q2)
            .expect("the heads are built for the body's width and vocabulary")
    }
}

impl LmBody for HfBody {
    type Cache = KvCache;

    fn vocab_size(&self) -> usize {
        match self {
            Self::Gpt2(b) => b.vocab_size(),
            Self::Llama(b) => b.vocab_size(),
        }
    }

    fn hidden_size(&self) -> usize {
        match self {
            Self::Gpt2(b) => b.hidden_size(),
            Self::Llama(b) => b.hidden_size(),
        }
    }

    fn max_len(&self) -> Option<usize> {
        match self {
            Self::Gpt2(b) => b.max_len(),
            Self::Llama(b) => b.max_len(),
        }
    }

    fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>) -> Tensor<3> {
        match self {
            Self::Gpt2(b) => b.forward(ids, mask),
            Self::Llama(b) => b.forward(ids, mask),
        }
    }

    fn prefill(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
        lengths: &[usize],
    ) -> (Tensor<2>, KvCache) {
        match self {
            Self::Gpt2(b) => b.prefill(ids, mask, lengths),
            Self::Llama(b) => b.prefill(ids, mask, lengths),
        }
    }

    fn step(&self, tokens: Tensor<1, Int>, cache: &mut KvCache) -> Tensor<2> {
        match self {
            Self::Gpt2(b) => b.step(tokens, cache),
            Self::Llama(b) => b.step(tokens, cache),
        }
    }
}
