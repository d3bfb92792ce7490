//! The Llama family (`llama`, `qwen2`; SmolLM2, TinyLlama, Llama 3.x share the layout): RMSNorm,
//! rotary positions, grouped-query attention with optional q/k/v biases, a SwiGLU feed-forward
//! layer, and a tied or untied LM head.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::silu;
use burn::tensor::{Bool, Int, Tensor, TensorData};

use crate::error::Result;
use crate::lm::LmBody;
use crate::lm::attention::{AttentionBlocks, KvCache, attend, cached_step, causal_pass, prefilled};
use crate::lm::hf::LlamaConfig;
use crate::lm::hf::weights::{Layout, Weights, tied_head};
use crate::lm::layers::{Embedding, RmsNorm, dense};

/// Tensors some versions of `transformers` store that are buffers, not weights.
pub(crate) fn ignored(name: &str) -> bool {
    name.ends_with(".rotary_emb.inv_freq")
}

/// One pre-norm block: `x + o(attention(norm(x)))`, then `x + down(silu(gate(n)) * up(n))`.
#[derive(Module, Debug)]
struct LlamaBlock {
    norm_attention: RmsNorm,
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    norm_ffn: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// A Llama-family decoder loaded from a Hugging Face folder (see [`crate::lm::hf`]). Its
/// cache holds every block's rotated keys and values, one entry per key/value head.
#[derive(Module, Debug)]
pub struct LlamaBody {
    tokens: Embedding,
    blocks: Vec<LlamaBlock>,
    norm: RmsNorm,
    #[module(skip)]
    heads: usize,
    #[module(skip)]
    kv_heads: usize,
    #[module(skip)]
    head_width: usize,
    /// RoPE's inverse frequencies (scaled as the config says), `head_width / 2` of them, in
    /// f32 as `transformers` computes them.
    #[module(skip)]
    inverse_frequencies: Vec<f32>,
    #[module(skip)]
    vocab_size: usize,
    #[module(skip)]
    hidden: usize,
    #[module(skip)]
    max_len: usize,
}

impl LlamaBody {
    /// RoPE's inverse frequencies, `head_width / 2` of them.
    pub fn inverse_frequencies(&self) -> &[f32] {
        &self.inverse_frequencies
    }

    /// The body and the LM head (`[hidden, vocab]`).
    pub(crate) fn load(config: &LlamaConfig, weights: &mut Weights) -> Result<(Self, Linear)> {
        let (h, v, f) = (
            config.hidden_size,
            config.vocab_size,
            config.intermediate_size,
        );
        let (heads, kv_heads, d) = (
            config.num_attention_heads,
            config.kv_heads(),
            config.head_width(),
        );
        let (qkv_bias, o_bias) = config.biases();
        let eps = config.rms_norm_eps;
        let root = if weights.contains("model.embed_tokens.weight") {
            "model."
        } else {
            ""
        };
        let tokens = weights.tensor(&format!("{root}embed_tokens.weight"), [v, h])?;
        let mut blocks = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("{root}layers.{i}");
            let mut linear = |name: &str, inputs, outputs, bias| {
                weights.linear(&format!("{p}.{name}"), inputs, outputs, bias, Layout::OutIn)
            };
            let query = linear("self_attn.q_proj", h, heads * d, qkv_bias)?;
            let key = linear("self_attn.k_proj", h, kv_heads * d, qkv_bias)?;
            let value = linear("self_attn.v_proj", h, kv_heads * d, qkv_bias)?;
            let output = linear("self_attn.o_proj", heads * d, h, o_bias)?;
            let gate = linear("mlp.gate_proj", h, f, config.mlp_bias)?;
            let up = linear("mlp.up_proj", h, f, config.mlp_bias)?;
            let down = linear("mlp.down_proj", f, h, config.mlp_bias)?;
            blocks.push(LlamaBlock {
                norm_attention: RmsNorm::from_params(
                    weights.param(&format!("{p}.input_layernorm.weight"), [h])?,
                    eps,
                ),
                norm_ffn: RmsNorm::from_params(
                    weights.param(&format!("{p}.post_attention_layernorm.weight"), [h])?,
                    eps,
                ),
                query,
                key,
                value,
                output,
                gate,
                up,
                down,
            });
        }
        let norm = RmsNorm::from_params(weights.param(&format!("{root}norm.weight"), [h])?, eps);
        let tied = config
            .tie_word_embeddings
            .unwrap_or(!weights.contains("lm_head.weight"));
        let head = if tied {
            tied_head(&tokens)
        } else {
            weights.linear("lm_head", h, v, false, Layout::OutIn)?
        };
        let inverse_frequencies = config.rope()?.inverse_frequencies(config.rope_base(), d);
        let body = Self {
            tokens: Embedding::from_table(burn::module::Param::from_tensor(tokens)),
            blocks,
            norm,
            heads,
            kv_heads,
            head_width: d,
            inverse_frequencies,
            vocab_size: v,
            hidden: h,
            max_len: config.max_position_embeddings,
        };
        Ok((body, head))
    }

    /// RoPE's `cos` and `sin` at `positions` (`[B][T]`), each `[B, 1, T, d]` (the two halves
    /// of the head share each frequency).
    fn rotation(&self, positions: &[Vec<usize>], device: &burn::tensor::Device) -> [Tensor<4>; 2] {
        let (batch, steps, d) = (positions.len(), positions[0].len(), self.head_width);
        let mut cos = Vec::with_capacity(batch * steps * d);
        let mut sin = Vec::with_capacity(batch * steps * d);
        for row in positions {
            for &p in row {
                for _half in 0..2 {
                    for &frequency in &self.inverse_frequencies {
                        let angle = p as f32 * frequency;
                        cos.push(angle.cos());
                        sin.push(angle.sin());
                    }
                }
            }
        }
        [cos, sin].map(|values| {
            Tensor::<3>::from_data(TensorData::new(values, [batch, steps, d]), device)
                .unsqueeze_dim::<4>(1)
        })
    }

    /// The forward pass that also returns every block's keys and values.
    fn run(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
    ) -> (Tensor<3>, Vec<Tensor<4>>, Vec<Tensor<4>>) {
        let [batch, steps] = ids.dims();
        let positions = vec![(0..steps).collect::<Vec<_>>(); batch];
        let rotation = self.rotation(&positions, &ids.device());
        let (x, keys, values) = causal_pass(self, self.tokens.forward(ids), mask, &rotation);
        (self.norm.forward(x), keys, values)
    }
}

/// The rotary angles of the pass's positions are every block's extra input.
impl AttentionBlocks for LlamaBody {
    type Positions = [Tensor<4>; 2];

    fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Queries and keys rotated to their positions: queries `[B, heads, T, d]`, keys and
    /// values `[B, kv_heads, T, d]`.
    fn project(&self, block: usize, x: Tensor<3>, [cos, sin]: &[Tensor<4>; 2]) -> [Tensor<4>; 3] {
        let block = &self.blocks[block];
        let [batch, steps, _] = x.dims();
        let d = self.head_width;
        let normed = block.norm_attention.forward(x);
        let split = |linear: &Linear, heads: usize| {
            dense(linear, normed.clone())
                .reshape([batch, steps, heads, d])
                .swap_dims(1, 2)
        };
        let q = rotate(split(&block.query, self.heads), cos, sin);
        let k = rotate(split(&block.key, self.kv_heads), cos, sin);
        let v = split(&block.value, self.kv_heads);
        [q, k, v]
    }

    fn finish(
        &self,
        block: usize,
        x: Tensor<3>,
        [q, k, v]: [Tensor<4>; 3],
        allowed: Tensor<3, Bool>,
    ) -> Tensor<3> {
        let block = &self.blocks[block];
        let x = x + dense(&block.output, attend(q, k, v, allowed));
        let normed = block.norm_ffn.forward(x.clone());
        let hidden = silu(dense(&block.gate, normed.clone())) * dense(&block.up, normed);
        x + dense(&block.down, hidden)
    }
}

/// `x * cos + rotate_half(x) * sin`, where `rotate_half` maps halves `(a, b)` to `(-b, a)`
/// (the convention of `transformers`' Llama).
fn rotate(x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
    let [batch, heads, steps, d] = x.dims();
    let first = x.clone().slice([0..batch, 0..heads, 0..steps, 0..d / 2]);
    let second = x.clone().slice([0..batch, 0..heads, 0..steps, d / 2..d]);
    let rotated = Tensor::cat(vec![second.neg(), first], 3);
    x * cos.clone() + rotated * sin.clone()
}

impl LmBody for LlamaBody {
    type Cache = KvCache;

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn hidden_size(&self) -> usize {
        self.hidden
    }

    fn max_len(&self) -> Option<usize> {
        Some(self.max_len)
    }

    fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>) -> Tensor<3> {
        self.run(ids, mask).0
    }

    fn prefill(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
        lengths: &[usize],
    ) -> (Tensor<2>, KvCache) {
        let (hidden, keys, values) = self.run(ids, mask.clone());
        prefilled(hidden, keys, values, mask, lengths)
    }

    fn step(&self, tokens: Tensor<1, Int>, cache: &mut KvCache) -> Tensor<2> {
        let positions: Vec<Vec<usize>> = cache.next_positions().iter().map(|&p| vec![p]).collect();
        let rotation = self.rotation(&positions, &tokens.device());
        let x = self.tokens.forward_1d(tokens).unsqueeze_dim::<3>(1);
        let x = cached_step(self, x, &rotation, cache);
        self.norm.forward(x).squeeze_dim(1)
    }
}
