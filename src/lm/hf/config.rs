//! A Hugging Face folder's `config.json`: which family, and the sizes its weights must have.
//!
//! Only what the crate implements is accepted: an architecture option it does not implement
//! (another activation, rope scaling, sliding-window attention, cross-attention) is refused
//! with [`Error::InvalidConfig`] naming the field, rather than loaded into a model that would
//! compute something else.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::lm::hf::RopeScaling;
use crate::nn::Activation;
use crate::text::vocab::read_text;

/// The largest size of any one dimension (vocabulary, width, positions) a config may ask for.
pub const MAX_DIMENSION: usize = 1 << 24;
/// The most blocks a config may ask for.
pub const MAX_LAYERS: usize = 1 << 10;
/// The most parameters a loaded model may have (2^34, 64 GiB of f32).
pub const MAX_PARAMETERS: u128 = 1 << 34;

/// What a folder's `config.json` describes, by `model_type`.
///
/// # Example
///
/// ```
/// use valuefn::lm::hf::HfConfig;
///
/// let json = r#"{"model_type": "gpt2", "vocab_size": 100, "n_positions": 32, "n_embd": 16,
///                "n_layer": 1, "n_head": 2}"#;
/// let HfConfig::Gpt2(config) = HfConfig::from_json(json)? else { unreachable!() };
/// assert_eq!((config.n_embd, config.inner()), (16, 64));
/// assert!(HfConfig::from_json(r#"{"model_type": "t5"}"#).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum HfConfig {
    /// `gpt2`.
    Gpt2(Gpt2Config),
    /// `llama`, `qwen2` (and what shares their layout: SmolLM2, TinyLlama, Llama 3.x).
    Llama(LlamaConfig),
    /// `bert`.
    Bert(BertConfig),
}

/// The fields of a GPT-2 `config.json` the crate reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Gpt2Config {
    /// Number of token ids.
    pub vocab_size: usize,
    /// Length of the position table.
    pub n_positions: usize,
    /// Width of the hidden states.
    pub n_embd: usize,
    /// Blocks.
    pub n_layer: usize,
    /// Attention heads.
    pub n_head: usize,
    /// Width of the feed-forward layer (`None`: 4 x `n_embd`).
    #[serde(default)]
    pub n_inner: Option<usize>,
    /// Layer-norm epsilon.
    #[serde(default = "gpt2_epsilon")]
    pub layer_norm_epsilon: f64,
    /// The feed-forward activation: `gelu_new` (GPT-2's), `gelu_pytorch_tanh`, `gelu` or `relu`.
    #[serde(default = "gelu_new")]
    pub activation_function: String,
    /// Must be true (scores divided by the square root of the head width).
    #[serde(default = "yes")]
    pub scale_attn_weights: bool,
    /// Must be false (not implemented).
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    /// Must be false (an encoder-decoder layout).
    #[serde(default)]
    pub add_cross_attention: bool,
}

/// The fields of a Llama-family `config.json` (`llama`, `qwen2`) the crate reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlamaConfig {
    /// `llama` or `qwen2`.
    pub model_type: String,
    /// Number of token ids.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Width of the SwiGLU feed-forward layer.
    pub intermediate_size: usize,
    /// Blocks.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention; `None`: one per query head).
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Width of each head (`None`: `hidden_size / num_attention_heads`).
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// The longest sequence the model was trained on (the crate's context limit).
    pub max_position_embeddings: usize,
    /// RMSNorm epsilon.
    #[serde(default = "llama_epsilon")]
    pub rms_norm_eps: f64,
    /// RoPE base (older configs keep it at the top level).
    #[serde(default)]
    pub rope_theta: Option<f64>,
    /// RoPE settings (newer configs): `rope_theta`, and `rope_type` `default` or `llama3`
    /// with its parameters.
    #[serde(default)]
    pub rope_parameters: Option<serde_json::Value>,
    /// RoPE scaling (older configs): absent, `default` or `llama3` ([`RopeScaling`]).
    #[serde(default)]
    pub rope_scaling: Option<serde_json::Value>,
    /// Must be `silu`.
    #[serde(default = "silu")]
    pub hidden_act: String,
    /// Biases on the q/k/v/o projections (Llama's option; Qwen2 always has q/k/v biases).
    #[serde(default)]
    pub attention_bias: bool,
    /// Biases on the feed-forward projections.
    #[serde(default)]
    pub mlp_bias: bool,
    /// Whether the LM head is the token embedding (`None`: false, unless the folder stores no
    /// `lm_head.weight`).
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
    /// Must be false (sliding-window attention is not implemented).
    #[serde(default)]
    pub use_sliding_window: bool,
}

/// The fields of a BERT `config.json` the crate reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    /// Number of token ids.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Blocks.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Length of the position table.
    pub max_position_embeddings: usize,
    /// Rows of the token-type table (segment ids; the encoder uses type 0).
    #[serde(default = "two")]
    pub type_vocab_size: usize,
    /// `gelu` (exact), `gelu_new` or `relu`.
    #[serde(default = "gelu")]
    pub hidden_act: String,
    /// Layer-norm epsilon.
    #[serde(default = "bert_epsilon")]
    pub layer_norm_eps: f64,
    /// Must be `absolute`.
    #[serde(default = "absolute")]
    pub position_embedding_type: String,
}

fn gpt2_epsilon() -> f64 {
    1e-5
}
fn llama_epsilon() -> f64 {
    1e-6
}
fn bert_epsilon() -> f64 {
    1e-12
}
fn gelu_new() -> String {
    "gelu_new".into()
}
fn gelu() -> String {
    "gelu".into()
}
fn silu() -> String {
    "silu".into()
}
fn absolute() -> String {
    "absolute".into()
}
fn yes() -> bool {
    true
}
fn two() -> usize {
    2
}

fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::Decode {
        what: "config.json",
        message: e.to_string(),
    })
}

/// Each size at least 1 and at most [`MAX_DIMENSION`].
fn check_sizes(sizes: &[(&'static str, usize)]) -> Result<()> {
    sizes
        .iter()
        .try_for_each(|&(field, value)| check_size(field, value, MAX_DIMENSION))
}

/// A block count: at least 1 and at most [`MAX_LAYERS`].
fn check_layers(field: &'static str, value: usize) -> Result<()> {
    check_size(field, value, MAX_LAYERS)
}

fn check_size(field: &'static str, value: usize, limit: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::config(field, "at least 1", 0));
    }
    if value > limit {
        return Err(Error::TooLarge {
            what: field,
            size: value as u128,
            limit: limit as u128,
        });
    }
    Ok(())
}

fn check_parameters(parameters: u128) -> Result<()> {
    if parameters > MAX_PARAMETERS {
        return Err(Error::TooLarge {
            what: "parameters the config implies",
            size: parameters,
            limit: MAX_PARAMETERS,
        });
    }
    Ok(())
}

fn check_epsilon(field: &'static str, epsilon: f64) -> Result<()> {
    // Added to a variance in f32: it must survive the cast and stay positive.
    if !(epsilon.is_finite() && epsilon > 0.0 && (epsilon as f32) > 0.0) {
        return Err(Error::config(field, "positive and finite in f32", epsilon));
    }
    Ok(())
}

fn activation(field: &'static str, name: &str, accepted: &[&str]) -> Result<Activation> {
    let found = match name {
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Some(Activation::GeluTanh),
        "gelu" => Some(Activation::Gelu),
        "relu" => Some(Activation::Relu),
        "silu" | "swish" => Some(Activation::Silu),
        _ => None,
    };
    match found {
        Some(a) if accepted.contains(&name) => Ok(a),
        _ => Err(Error::config(
            field,
            "an activation this build implements for the family",
            name,
        )),
    }
}

impl HfConfig {
    /// Reads `dir/config.json`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be read; otherwise as [`HfConfig::from_json`].
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::from_json(&read_text(&dir.as_ref().join("config.json"))?)
    }

    /// Parses and checks a `config.json`.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] for malformed JSON or a missing size; [`Error::InvalidConfig`] for an
    /// unsupported `model_type`, activation, rope scaling or attention variant, a zero size, a
    /// width the heads do not divide or a bad epsilon; [`Error::TooLarge`] for a size beyond
    /// [`MAX_DIMENSION`] / [`MAX_LAYERS`] or more than [`MAX_PARAMETERS`] parameters.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Decode {
            what: "config.json",
            message: e.to_string(),
        })?;
        let model_type = value
            .get("model_type")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_string();
        let config = match model_type.as_str() {
            "gpt2" => Self::Gpt2(decode(value)?),
            "llama" | "qwen2" => Self::Llama(decode(value)?),
            "bert" => Self::Bert(decode(value)?),
            other => {
                return Err(Error::config(
                    "model_type",
                    "gpt2, llama, qwen2 or bert",
                    format!("{other:?}"),
                ));
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the sizes and options (see [`HfConfig::from_json`]).
    ///
    /// # Errors
    ///
    /// As [`HfConfig::from_json`].
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Gpt2(c) => c.validate(),
            Self::Llama(c) => c.validate(),
            Self::Bert(c) => c.validate(),
        }
    }
}

impl Gpt2Config {
    /// Width of the feed-forward layer.
    pub fn inner(&self) -> usize {
        self.n_inner.unwrap_or(4 * self.n_embd)
    }

    /// The feed-forward activation.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for one the crate does not implement.
    pub fn activation(&self) -> Result<Activation> {
        activation(
            "activation_function",
            &self.activation_function,
            &["gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu", "relu"],
        )
    }

    fn validate(&self) -> Result<()> {
        check_sizes(&[
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_embd", self.n_embd),
            ("n_head", self.n_head),
            ("n_inner", self.inner()),
        ])?;
        check_layers("n_layer", self.n_layer)?;
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(Error::config("n_embd", "a multiple of n_head", self.n_embd));
        }
        check_epsilon("layer_norm_epsilon", self.layer_norm_epsilon)?;
        self.activation()?;
        if !self.scale_attn_weights {
            return Err(Error::config("scale_attn_weights", "true", false));
        }
        if self.scale_attn_by_inverse_layer_idx {
            return Err(Error::config(
                "scale_attn_by_inverse_layer_idx",
                "false",
                true,
            ));
        }
        if self.add_cross_attention {
            return Err(Error::config("add_cross_attention", "false", true));
        }
        let (h, f) = (self.n_embd as u128, self.inner() as u128);
        let block = 4 * h * h + 2 * h * f + 13 * h + f;
        check_parameters(
            (self.vocab_size as u128 + self.n_positions as u128) * h + self.n_layer as u128 * block,
        )
    }
}

impl LlamaConfig {
    /// Key/value heads.
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Width of each attention head.
    pub fn head_width(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Whether q/k/v (and o) projections carry biases: `(qkv, o)`.
    pub fn biases(&self) -> (bool, bool) {
        if self.model_type == "qwen2" {
            (true, false)
        } else {
            (self.attention_bias, self.attention_bias)
        }
    }

    /// The RoPE base: `rope_theta`, from the top level or `rope_parameters` (10,000 when
    /// neither says).
    pub fn rope_base(&self) -> f64 {
        self.rope_theta
            .or_else(|| {
                self.rope_parameters
                    .as_ref()
                    .and_then(|p| p.get("rope_theta"))
                    .and_then(|t| t.as_f64())
            })
            .unwrap_or(10_000.0)
    }

    /// The RoPE scaling: `rope_scaling` when it says one, else `rope_parameters`.
    ///
    /// # Errors
    ///
    /// As [`RopeScaling::from_json`].
    pub fn rope(&self) -> Result<RopeScaling> {
        match RopeScaling::from_json("rope_scaling", self.rope_scaling.as_ref())? {
            RopeScaling::Default => {
                RopeScaling::from_json("rope_parameters", self.rope_parameters.as_ref())
            }
            scaled => Ok(scaled),
        }
    }

    fn validate(&self) -> Result<()> {
        check_sizes(&[
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.kv_heads()),
            ("head_dim", self.head_width()),
            ("max_position_embeddings", self.max_position_embeddings),
        ])?;
        check_layers("num_hidden_layers", self.num_hidden_layers)?;
        if !self.num_attention_heads.is_multiple_of(self.kv_heads()) {
            return Err(Error::config(
                "num_key_value_heads",
                "a divisor of num_attention_heads",
                self.kv_heads(),
            ));
        }
        if self.head_dim.is_none() && !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::config(
                "hidden_size",
                "a multiple of num_attention_heads",
                self.hidden_size,
            ));
        }
        if !self.head_width().is_multiple_of(2) {
            return Err(Error::config(
                "head_dim",
                "even (rotary pairs)",
                self.head_width(),
            ));
        }
        check_epsilon("rms_norm_eps", self.rms_norm_eps)?;
        let base = self.rope_base();
        if !(base.is_finite() && base > 1.0) {
            return Err(Error::config("rope_theta", "finite and above 1", base));
        }
        RopeScaling::from_json("rope_parameters", self.rope_parameters.as_ref())?;
        self.rope()?;
        activation("hidden_act", &self.hidden_act, &["silu", "swish"])?;
        if self.use_sliding_window {
            return Err(Error::config("use_sliding_window", "false", true));
        }
        let (h, f, v) = (
            self.hidden_size as u128,
            self.intermediate_size as u128,
            self.vocab_size as u128,
        );
        let heads = (self.num_attention_heads + self.kv_heads()) as u128;
        let attention = 2 * h * heads * self.head_width() as u128;
        let block = attention + 3 * h * f + 2 * h;
        check_parameters(2 * v * h + self.num_hidden_layers as u128 * block + h)
    }
}

impl BertConfig {
    /// The feed-forward activation.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for one the crate does not implement.
    pub fn activation(&self) -> Result<Activation> {
        activation(
            "hidden_act",
            &self.hidden_act,
            &["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"],
        )
    }

    fn validate(&self) -> Result<()> {
        check_sizes(&[
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ])?;
        check_layers("num_hidden_layers", self.num_hidden_layers)?;
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::config(
                "hidden_size",
                "a multiple of num_attention_heads",
                self.hidden_size,
            ));
        }
        check_epsilon("layer_norm_eps", self.layer_norm_eps)?;
        self.activation()?;
        if self.position_embedding_type != "absolute" {
            return Err(Error::config(
                "position_embedding_type",
                "absolute",
                &self.position_embedding_type,
            ));
        }
        let (h, f) = (self.hidden_size as u128, self.intermediate_size as u128);
        let block = 4 * h * h + 2 * h * f + 9 * h + f;
        let tables = self.vocab_size + self.max_position_embeddings + self.type_vocab_size;
        check_parameters(tables as u128 * h + self.num_hidden_layers as u128 * block)
    }
}
