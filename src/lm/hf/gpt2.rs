//! GPT-2 from a Hugging Face folder, as the crate's own [`TransformerBody`]: the layouts are
//! the same (learned positions, pre-norm blocks, fused QKV, a final layer norm), with GPT-2's
//! biases, its activation (`gelu_new`) and its epsilon.
//!
//! GPT-2 stores its projections as `Conv1D`, `[in, out]`: burn's own layout, so they load
//! untransposed (the stock PyTorch-to-burn transposition would be wrong for them). The LM head
//! is the token embedding (tied), unless the folder stores `lm_head.weight`.

use burn::module::Param;
use burn::nn::Linear;

use crate::error::Result;
use crate::lm::hf::Gpt2Config;
use crate::lm::hf::weights::{Layout, Weights, tied_head};
use crate::lm::layers::{Embedding, LayerNorm};
use crate::lm::transformer::{Block, TransformerBody};

/// Tensors some versions of `transformers` store that are buffers, not weights.
pub(crate) fn ignored(name: &str) -> bool {
    name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias")
}

fn layer_norm(
    weights: &mut Weights,
    prefix: &str,
    width: usize,
    epsilon: f64,
) -> Result<LayerNorm> {
    Ok(LayerNorm::from_params(
        weights.param(&format!("{prefix}.weight"), [width])?,
        weights.param(&format!("{prefix}.bias"), [width])?,
        epsilon,
    ))
}

/// The body and the LM head (`[hidden, vocab]`, no bias).
pub(crate) fn load(
    config: &Gpt2Config,
    weights: &mut Weights,
) -> Result<(TransformerBody, Linear)> {
    let root = if weights.contains("transformer.wte.weight") {
        "transformer."
    } else {
        ""
    };
    let (h, v, eps) = (config.n_embd, config.vocab_size, config.layer_norm_epsilon);
    let activation = config.activation()?;
    let tokens = weights.tensor(&format!("{root}wte.weight"), [v, h])?;
    let positions = weights.param(&format!("{root}wpe.weight"), [config.n_positions, h])?;
    let mut blocks = Vec::with_capacity(config.n_layer);
    for i in 0..config.n_layer {
        let p = format!("{root}h.{i}");
        blocks.push(Block {
            norm_attention: layer_norm(weights, &format!("{p}.ln_1"), h, eps)?,
            qkv: weights.linear(&format!("{p}.attn.c_attn"), h, 3 * h, true, Layout::InOut)?,
            projection: weights.linear(&format!("{p}.attn.c_proj"), h, h, true, Layout::InOut)?,
            norm_ffn: layer_norm(weights, &format!("{p}.ln_2"), h, eps)?,
            expand: weights.linear(
                &format!("{p}.mlp.c_fc"),
                h,
                config.inner(),
                true,
                Layout::InOut,
            )?,
            contract: weights.linear(
                &format!("{p}.mlp.c_proj"),
                config.inner(),
                h,
                true,
                Layout::InOut,
            )?,
            heads: config.n_head,
            activation,
        });
    }
    let norm = layer_norm(weights, &format!("{root}ln_f"), h, eps)?;
    let head = if weights.contains("lm_head.weight") {
        weights.linear("lm_head", h, v, false, Layout::OutIn)?
    } else {
        tied_head(&tokens)
    };
    let body = TransformerBody {
        tokens: Embedding::from_table(Param::from_tensor(tokens)),
        positions: Embedding::from_table(positions),
        blocks,
        norm,
        vocab_size: v,
        hidden: h,
        max_len: config.n_positions,
    };
    Ok((body, head))
}
