//! A small decoder-only transformer body with a key/value cache.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Bool, Device, Int, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::error::{Error, Result};
use crate::lm::LmBody;
use crate::lm::attention::{AttentionBlocks, KvCache, attend, cached_step, causal_pass, prefilled};
use crate::lm::layers::{Embedding, LayerNorm, dense};
use crate::nn::{Activation, WeightInit};
use crate::tensor_ops::index_tensor;

/// Settings of a [`TransformerBody`] (GPT-2's layout at small scale).
///
/// # Example
///
/// ```
/// use valuefn::lm::{LmBody, TransformerBodyConfig};
///
/// let device = valuefn::device::default_device();
/// let body = TransformerBodyConfig::new(20).with_hidden(32).with_heads(4).init(&device)?;
/// assert_eq!((body.hidden_size(), body.max_len()), (32, Some(64)));
/// assert!(TransformerBodyConfig::new(20).with_hidden(30).with_heads(4).init(&device).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct TransformerBodyConfig {
    /// Number of token ids (at least 1).
    pub vocab_size: usize,
    /// Width of the hidden states, a multiple of `heads`.
    #[config(default = 128)]
    pub hidden: usize,
    /// Blocks (at least 1).
    #[config(default = 2)]
    pub layers: usize,
    /// Attention heads per block (at least 1).
    #[config(default = 4)]
    pub heads: usize,
    /// Width of each block's feed-forward layer, as a multiple of `hidden` (at least 1).
    #[config(default = 4)]
    pub ffn_ratio: usize,
    /// The longest sequence (prompt and generated tokens) the position table covers.
    #[config(default = 64)]
    pub max_len: usize,
    /// Seed of the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

impl TransformerBodyConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero size, a width that the heads do not divide, or more
    /// than 2^28 parameters.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("heads", self.heads),
            ("ffn_ratio", self.ffn_ratio),
            ("max_len", self.max_len),
        ] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", 0));
            }
        }
        if !self.hidden.is_multiple_of(self.heads) {
            return Err(Error::config(
                "hidden",
                "a multiple of heads",
                format!("{} with {} heads", self.hidden, self.heads),
            ));
        }
        let h = self.hidden as u128;
        let block = 4 * h * h + 2 * h * h * self.ffn_ratio as u128 + 16 * h;
        let parameters =
            (self.vocab_size as u128 + self.max_len as u128) * h + self.layers as u128 * block;
        if parameters > crate::nn::MAX_PARAMETERS as u128 {
            return Err(Error::config(
                "hidden",
                "sizes giving at most 2^28 parameters",
                format!("{parameters} parameters"),
            ));
        }
        Ok(())
    }

    /// Builds the body on `device`.
    ///
    /// # Errors
    ///
    /// As [`TransformerBodyConfig::validate`].
    pub fn init(&self, device: &Device) -> Result<TransformerBody> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let h = self.hidden;
        let init = WeightInit::Uniform;
        let tokens = Embedding::new(self.vocab_size, h, 0.02, &mut rng, device);
        let positions = Embedding::new(self.max_len, h, 0.02, &mut rng, device);
        let blocks = (0..self.layers)
            .map(|_| Block {
                norm_attention: LayerNorm::new(h, device),
                qkv: init.linear(h, 3 * h, 1.0, false, &mut rng, device),
                projection: init.linear(h, h, 1.0, false, &mut rng, device),
                norm_ffn: LayerNorm::new(h, device),
                expand: init.linear(h, h * self.ffn_ratio, 1.0, false, &mut rng, device),
                contract: init.linear(h * self.ffn_ratio, h, 1.0, false, &mut rng, device),
                heads: self.heads,
                activation: Activation::Gelu,
            })
            .collect();
        Ok(TransformerBody {
            tokens,
            positions,
            blocks,
            norm: LayerNorm::new(h, device),
            vocab_size: self.vocab_size,
            hidden: h,
            max_len: self.max_len,
        })
    }
}

/// A pre-norm block: `x + attention(norm(x))`, then `x + ffn(norm(x))` (GELU, or GPT-2's
/// tanh approximation in a loaded model).
#[derive(Module, Debug)]
pub(crate) struct Block {
    pub(crate) norm_attention: LayerNorm,
    pub(crate) qkv: Linear,
    pub(crate) projection: Linear,
    pub(crate) norm_ffn: LayerNorm,
    pub(crate) expand: Linear,
    pub(crate) contract: Linear,
    #[module(skip)]
    pub(crate) heads: usize,
    #[module(skip)]
    pub(crate) activation: Activation,
}

impl Block {
    /// Queries, keys and values of `x` (`[B, T, H]`), each `[B, heads, T, H / heads]`.
    fn project(&self, x: Tensor<3>) -> [Tensor<4>; 3] {
        let [batch, steps, width] = x.dims();
        let d = width / self.heads;
        let qkv = dense(&self.qkv, self.norm_attention.forward(x));
        [0, 1, 2].map(|k| {
            qkv.clone()
                .slice([0..batch, 0..steps, k * width..(k + 1) * width])
                .reshape([batch, steps, self.heads, d])
                .swap_dims(1, 2)
        })
    }

    /// Attention of queries over keys with `allowed` (`[B, 1 or Tq, Tk]`, true where a query
    /// may see a key), then the projection and the feed-forward layer, added to `x`.
    fn finish(
        &self,
        x: Tensor<3>,
        [q, k, v]: [Tensor<4>; 3],
        allowed: Tensor<3, Bool>,
    ) -> Tensor<3> {
        let x = x + dense(&self.projection, attend(q, k, v, allowed));
        let expanded = dense(&self.expand, self.norm_ffn.forward(x.clone()));
        let ffn = dense(&self.contract, self.activation.apply(expanded));
        x + ffn
    }
}

/// Token and position embeddings, pre-norm blocks of causal multi-head self-attention and a
/// GELU feed-forward layer, a final layer norm (GPT-2's layout). Padding is masked out of the
/// keys; the causal mask keeps position `t` from reading later tokens. Its cache holds every
/// block's keys and values, so a generated token costs one position's work. Build it with
/// [`TransformerBodyConfig::init`].
#[derive(Module, Debug)]
pub struct TransformerBody {
    pub(crate) tokens: Embedding,
    pub(crate) positions: Embedding,
    pub(crate) blocks: Vec<Block>,
    pub(crate) norm: LayerNorm,
    #[module(skip)]
    pub(crate) vocab_size: usize,
    #[module(skip)]
    pub(crate) hidden: usize,
    #[module(skip)]
    pub(crate) max_len: usize,
}

/// The incremental state of a [`TransformerBody`] (and of the pretrained bodies): keys and
/// values of every position read so far, per block, which of them are real tokens, and each
/// row's next position.
pub type TransformerCache = KvCache;

impl TransformerBody {
    /// The forward pass that also returns every block's keys and values.
    fn run(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
    ) -> (Tensor<3>, Vec<Tensor<4>>, Vec<Tensor<4>>) {
        let [_, steps] = ids.dims();
        let device = ids.device();
        let position_ids: Vec<usize> = (0..steps).collect();
        let positions = self
            .positions
            .forward_1d(index_tensor(&position_ids, &device))
            .unsqueeze_dim::<3>(0);
        let x = self.tokens.forward(ids) + positions;
        let (x, keys, values) = causal_pass(self, x, mask, &());
        (self.norm.forward(x), keys, values)
    }
}

/// Learned positions are added to the embeddings: the blocks read nothing else.
impl AttentionBlocks for TransformerBody {
    type Positions = ();

    fn block_count(&self) -> usize {
        self.blocks.len()
    }

    fn project(&self, block: usize, x: Tensor<3>, _: &()) -> [Tensor<4>; 3] {
        self.blocks[block].project(x)
    }

    fn finish(
        &self,
        block: usize,
        x: Tensor<3>,
        qkv: [Tensor<4>; 3],
        allowed: Tensor<3, Bool>,
    ) -> Tensor<3> {
        self.blocks[block].finish(x, qkv, allowed)
    }
}

impl LmBody for TransformerBody {
    type Cache = TransformerCache;

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
    ) -> (Tensor<2>, TransformerCache) {
        let (hidden, keys, values) = self.run(ids, mask.clone());
        prefilled(hidden, keys, values, mask, lengths)
    }

    fn step(&self, tokens: Tensor<1, Int>, cache: &mut TransformerCache) -> Tensor<2> {
        let device = tokens.device();
        let positions = self
            .positions
            .forward_1d(index_tensor(cache.next_positions(), &device));
        let x = (self.tokens.forward_1d(tokens) + positions).unsqueeze_dim::<3>(1);
        let x = cached_step(self, x, &(), cache);
        self.norm.forward(x).squeeze_dim(1)
    }
}
