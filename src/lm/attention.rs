//! What every attention body shares: the masked softmax attention itself, the causal mask of a
//! right-padded batch, and the key/value cache of incremental decoding.

use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Tensor};

use crate::lm::body::gather_positions;

/// A large negative score for masked keys: `-inf` would give NaN for a row with no key.
const MASKED: f32 = -1.0e9;

/// Which keys each query may read in a causal pass over right-padded rows, `[B, T, T]`: query
/// `t` sees key `s` when `s <= t` and `s` is a real token (`mask`, `[B, T]`).
pub(crate) fn causal_allowed(mask: Tensor<2, Bool>, batch: usize, steps: usize) -> Tensor<3, Bool> {
    let device = mask.device();
    let causal = Tensor::<2, Bool>::tril_mask([steps, steps], 0, &device)
        .bool_not()
        .unsqueeze_dim::<3>(0)
        .expand([batch, steps, steps]);
    let real_keys = mask.unsqueeze_dim::<3>(1).expand([batch, steps, steps]);
    causal.bool_and(real_keys)
}

/// Scaled dot-product attention, heads concatenated: `[B, Tq, heads * d]`.
///
/// # Shapes
///
/// - `q`: `[B, heads, Tq, d]`; `k`, `v`: `[B, kv_heads, Tk, d]`, where `kv_heads` divides
///   `heads` (grouped-query attention: each key/value head serves `heads / kv_heads`
///   consecutive query heads).
/// - `allowed`: `[B, 1 or Tq, Tk]`, true where a query may read a key.
pub(crate) fn attend(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    allowed: Tensor<3, Bool>,
) -> Tensor<3> {
    let [batch, heads, steps, d] = q.dims();
    let (k, v) = (repeat_heads(k, heads), repeat_heads(v, heads));
    let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((d as f64).sqrt());
    let [_, query_rows, keys] = allowed.dims();
    let blocked = allowed
        .bool_not()
        .unsqueeze_dim::<4>(1)
        .expand([batch, heads, query_rows, keys]);
    let weights = softmax(scores.mask_fill(blocked, MASKED), 3);
    weights
        .matmul(v)
        .swap_dims(1, 2)
        .reshape([batch, steps, heads * d])
}

/// `[B, kv_heads, T, d]` to `[B, heads, T, d]`, each key/value head repeated for its group of
/// query heads (PyTorch's `repeat_interleave` on dimension 1).
fn repeat_heads(x: Tensor<4>, heads: usize) -> Tensor<4> {
    let [batch, kv_heads, steps, d] = x.dims();
    if kv_heads == heads {
        return x;
    }
    let group = heads / kv_heads;
    x.unsqueeze_dim::<5>(2)
        .expand([batch, kv_heads, group, steps, d])
        .reshape([batch, heads, steps, d])
}

/// The blocks of a causal attention body, as the shared passes ([`causal_pass`],
/// [`cached_step`]) drive them: each body says how a block projects and finishes, the passes
/// do the masking and the cache once.
pub(crate) trait AttentionBlocks {
    /// What every block of one pass reads besides its input: the rotary angles of the pass's
    /// positions (Llama), or nothing (learned positions, added to the embeddings).
    type Positions;

    /// Number of blocks.
    fn block_count(&self) -> usize;

    /// Queries `[B, heads, T, d]`, keys and values `[B, kv_heads, T, d]` of block `block` on
    /// `x` (`[B, T, H]`).
    fn project(&self, block: usize, x: Tensor<3>, positions: &Self::Positions) -> [Tensor<4>; 3];

    /// The rest of block `block` once its queries, and the keys and values they may read
    /// (`allowed`, `[B, 1 or Tq, Tk]`), are known.
    fn finish(
        &self,
        block: usize,
        x: Tensor<3>,
        qkv: [Tensor<4>; 3],
        allowed: Tensor<3, Bool>,
    ) -> Tensor<3>;
}

/// Every block over embedded right-padded rows `x` (`[B, T, H]`, real tokens where `mask`),
/// each position reading the real tokens up to itself; also returns every block's keys and
/// values, for a cache.
pub(crate) fn causal_pass<A: AttentionBlocks>(
    body: &A,
    mut x: Tensor<3>,
    mask: Tensor<2, Bool>,
    positions: &A::Positions,
) -> (Tensor<3>, Vec<Tensor<4>>, Vec<Tensor<4>>) {
    let [batch, steps, _] = x.dims();
    let allowed = causal_allowed(mask, batch, steps);
    let (mut keys, mut values) = (Vec::new(), Vec::new());
    for block in 0..body.block_count() {
        let [q, k, v] = body.project(block, x.clone(), positions);
        keys.push(k.clone());
        values.push(v.clone());
        x = body.finish(block, x, [q, k, v], allowed.clone());
    }
    (x, keys, values)
}

/// The hidden state at each row's last real token (`lengths[b] - 1`) of a [`causal_pass`]'s
/// output `hidden` (after the final norm), and the cache to continue from there.
pub(crate) fn prefilled(
    hidden: Tensor<3>,
    keys: Vec<Tensor<4>>,
    values: Vec<Tensor<4>>,
    mask: Tensor<2, Bool>,
    lengths: &[usize],
) -> (Tensor<2>, KvCache) {
    let last: Vec<usize> = lengths.iter().map(|&n| n - 1).collect();
    (
        gather_positions(hidden, &last),
        KvCache::new(keys, values, mask, lengths),
    )
}

/// One new token per row (`x`, embedded: `[B, 1, H]`) through every block, reading every
/// cached position and appending its own keys and values to `cache`.
pub(crate) fn cached_step<A: AttentionBlocks>(
    body: &A,
    mut x: Tensor<3>,
    positions: &A::Positions,
    cache: &mut KvCache,
) -> Tensor<3> {
    let allowed = cache.open_step();
    for block in 0..body.block_count() {
        let [q, k, v] = body.project(block, x.clone(), positions);
        let (keys, values) = cache.append(block, k, v);
        x = body.finish(block, x, [q, keys, values], allowed.clone());
    }
    cache.close_step();
    x
}

/// The incremental state of an attention body: keys and values of every position read so far,
/// per block (`[B, kv_heads, T_cache, d]`), which of them are real tokens, and each row's next
/// position.
#[derive(Debug, Clone)]
pub struct KvCache {
    keys: Vec<Tensor<4>>,
    values: Vec<Tensor<4>>,
    /// `[B, T_cache]`: true on real tokens (a row's prompt padding stays false).
    valid: Tensor<2, Bool>,
    /// Position of each row's next token.
    next_positions: Vec<usize>,
}

impl KvCache {
    /// The cache after a prefill that read `lengths[b]` real tokens of row `b`.
    fn new(
        keys: Vec<Tensor<4>>,
        values: Vec<Tensor<4>>,
        valid: Tensor<2, Bool>,
        lengths: &[usize],
    ) -> Self {
        Self {
            keys,
            values,
            valid,
            next_positions: lengths.to_vec(),
        }
    }

    /// Each row's next position: its length so far.
    pub fn next_positions(&self) -> &[usize] {
        &self.next_positions
    }

    /// Marks one new real token per row and returns which keys the new queries may read,
    /// `[B, 1, T_cache + 1]`.
    fn open_step(&mut self) -> Tensor<3, Bool> {
        let [batch, _] = self.valid.dims();
        let device = self.valid.device();
        self.valid = Tensor::cat(
            vec![
                self.valid.clone(),
                Tensor::<2, Bool>::full([batch, 1], true, &device),
            ],
            1,
        );
        self.valid.clone().unsqueeze_dim::<3>(1)
    }

    /// Appends block `block`'s new keys and values (`[B, kv_heads, 1, d]`) and returns all of
    /// that block's keys and values.
    fn append(&mut self, block: usize, k: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let keys = Tensor::cat(vec![self.keys[block].clone(), k], 2);
        let values = Tensor::cat(vec![self.values[block].clone(), v], 2);
        self.keys[block] = keys.clone();
        self.values[block] = values.clone();
        (keys, values)
    }

    /// Advances every row's position after a step.
    fn close_step(&mut self) {
        self.next_positions.iter_mut().for_each(|p| *p += 1);
    }
}
