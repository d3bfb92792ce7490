//! A GRU body: token embedding, then one gated recurrent layer.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Bool, Device, Int, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::error::{Error, Result};
use crate::lm::LmBody;
use crate::lm::body::gather_positions;
use crate::lm::layers::Embedding;
use crate::nn::WeightInit;

/// Settings of a [`GruBody`].
///
/// # Example
///
/// ```
/// use valuefn::lm::{GruBodyConfig, LmBody};
///
/// let body = GruBodyConfig::new(20).with_hidden(32).init(&valuefn::device::default_device())?;
/// assert_eq!((body.vocab_size(), body.hidden_size(), body.max_len()), (20, 32, None));
/// assert!(GruBodyConfig::new(0).init(&valuefn::device::default_device()).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct GruBodyConfig {
    /// Number of token ids (at least 1).
    pub vocab_size: usize,
    /// Width of the embedding and of the recurrent state (at least 1).
    #[config(default = 128)]
    pub hidden: usize,
    /// Seed of the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

impl GruBodyConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero size, or more than 2^28 parameters.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [("vocab_size", self.vocab_size), ("hidden", self.hidden)] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", 0));
            }
        }
        let parameters = self.vocab_size.checked_mul(self.hidden).and_then(|e| {
            let gates = self
                .hidden
                .checked_mul(3)?
                .checked_mul(2 * self.hidden + 2)?;
            e.checked_add(gates)
        });
        if parameters.is_none_or(|n| n > crate::nn::MAX_PARAMETERS) {
            return Err(Error::config(
                "hidden",
                "sizes giving at most 2^28 parameters",
                format!("vocabulary {} x hidden {}", self.vocab_size, self.hidden),
            ));
        }
        Ok(())
    }

    /// Builds the body on `device`.
    ///
    /// # Errors
    ///
    /// As [`GruBodyConfig::validate`].
    pub fn init(&self, device: &Device) -> Result<GruBody> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let h = self.hidden;
        let embedding = Embedding::new(self.vocab_size, h, 1.0, &mut rng, device);
        // PyTorch's nn.GRU: every weight and bias uniform in +-1/sqrt(hidden).
        let init = WeightInit::Uniform;
        let input = init.linear(h, 3 * h, 1.0, true, &mut rng, device);
        let recurrent = init.linear(h, 3 * h, 1.0, true, &mut rng, device);
        Ok(GruBody {
            embedding,
            input,
            recurrent,
            vocab_size: self.vocab_size,
            hidden: h,
        })
    }
}

/// Embedding, then a GRU layer (PyTorch's formulation, gates in the order reset, update, new):
///
/// ```text
/// r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
/// z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
/// n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
/// h' = (1 - z) * n + z * h
/// ```
///
/// Each step multiplies the state by the recurrent weights; the token's input projection is a
/// matrix product too, or a row looked up in the vocabulary projected once when the vocabulary
/// has fewer ids than the tokens to read (a training batch, or decoding a batch over a small
/// vocabulary). Its cache is a [`GruCache`]. Build it with [`GruBodyConfig::init`].
#[derive(Module, Debug)]
pub struct GruBody {
    embedding: Embedding,
    input: Linear,
    recurrent: Linear,
    #[module(skip)]
    vocab_size: usize,
    #[module(skip)]
    hidden: usize,
}

impl GruBody {
    /// One step of the cell from input projections `gi` (`[B, 3H]`) and state `h` (`[B, H]`).
    fn cell(&self, gi: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        let [batch, _] = h.dims();
        let width = self.hidden;
        let gh = self.recurrent.forward(h.clone());
        let gates = sigmoid(
            gi.clone().slice([0..batch, 0..2 * width]) + gh.clone().slice([0..batch, 0..2 * width]),
        );
        let reset = gates.clone().slice([0..batch, 0..width]);
        let update = gates.slice([0..batch, width..2 * width]);
        let candidate = tanh(
            gi.slice([0..batch, 2 * width..3 * width])
                + reset * gh.slice([0..batch, 2 * width..3 * width]),
        );
        candidate.clone() + update * (h - candidate)
    }
}

/// `tanh(x)` as `2 sigmoid(2x) - 1`. Why not `Tensor::tanh`: burn's CPU backends compute it
/// with libm's scalar `tanhf` (through `expm1f`), about four times the cost of the `expf` in
/// `sigmoid`, and autodiff computes it again in the backward pass; in a GRU update on flex
/// the two were 15% of the time. The identity is exact in real arithmetic; in f32 it is off
/// by at most a few units of 1e-7 near 0 (checked against `f64::tanh` in the tests below).
fn tanh(x: Tensor<2>) -> Tensor<2> {
    sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0)
}

/// The steps a decoding is assumed to run when [`LmBody::prefill`] decides whether to project
/// the whole vocabulary once (see [`GruBody::projected_vocabulary`]).
const DECODING_STEPS: usize = 16;

impl GruBody {
    /// Every token's input projection `W_i x + b_i`, `[V, 3H]`, when `lookups` token
    /// projections are to be made and the vocabulary has fewer ids: a token's projection
    /// depends on the token alone, so projecting the table once and looking rows up costs
    /// `V` rows of multiply-adds (and gradients) instead of `lookups`. A training batch of 32
    /// sequences of 17 tokens over 104 ids does a fifth of the work; decoding 32 rows over
    /// 104 ids breaks even after 4 tokens. `None`: project each token as it comes (few
    /// lookups, or a large vocabulary).
    fn projected_vocabulary(&self, lookups: usize) -> Option<Tensor<2>> {
        (self.vocab_size < lookups).then(|| self.input.forward(self.embedding.table.val()))
    }

    /// The input projections of `ids` (`[B]`), `[B, 3H]`: looked up in `projected` when given.
    fn project(&self, ids: Tensor<1, Int>, projected: Option<&Tensor<2>>) -> Tensor<2> {
        match projected {
            Some(table) => table.clone().select(0, ids),
            None => self.input.forward(self.embedding.forward_1d(ids)),
        }
    }

    /// Hidden states `[B, T, H]` of `ids`, the input projections looked up in `projected`
    /// when given.
    fn run(&self, ids: Tensor<2, Int>, projected: Option<&Tensor<2>>) -> Tensor<3> {
        // Right padding and a causal recurrence: padding only follows the real tokens, so it
        // never reaches them and needs no mask. (Projecting `[B, T]` tokens at once and
        // slicing a step's `[B, 3H]` out instead would cost a zero-filled `[B, T, 3H]`
        // gradient per step in the backward pass.)
        let [batch, steps] = ids.dims();
        let mut h = Tensor::zeros([batch, self.hidden], &ids.device());
        let mut outputs = Vec::with_capacity(steps);
        for t in 0..steps {
            let ids_t = ids.clone().slice([0..batch, t..t + 1]).reshape([batch]);
            h = self.cell(self.project(ids_t, projected), h);
            outputs.push(h.clone());
        }
        Tensor::stack(outputs, 1)
    }
}

/// The incremental state of a [`GruBody`]: each row's recurrent state after its last token,
/// and every token's input projection when the vocabulary has fewer ids than the prompt's
/// positions plus the next 16 steps of tokens (computed once by [`LmBody::prefill`] and looked
/// up at each step). Like any cache it belongs to the weights that ran the prefill: continue
/// it only while they are unchanged.
#[derive(Debug, Clone)]
pub struct GruCache {
    state: Tensor<2>,
    projected: Option<Tensor<2>>,
}

impl GruCache {
    /// Each row's recurrent state, `[B, H]`.
    pub fn state(&self) -> &Tensor<2> {
        &self.state
    }
}

impl LmBody for GruBody {
    type Cache = GruCache;

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn hidden_size(&self) -> usize {
        self.hidden
    }

    fn max_len(&self) -> Option<usize> {
        None
    }

    fn forward(&self, ids: Tensor<2, Int>, _mask: Tensor<2, Bool>) -> Tensor<3> {
        let [batch, steps] = ids.dims();
        let projected = self.projected_vocabulary(batch * steps);
        self.run(ids, projected.as_ref())
    }

    fn prefill(
        &self,
        ids: Tensor<2, Int>,
        _mask: Tensor<2, Bool>,
        lengths: &[usize],
    ) -> (Tensor<2>, GruCache) {
        let [batch, steps] = ids.dims();
        let projected = self.projected_vocabulary(batch * (steps + DECODING_STEPS));
        let hidden = self.run(ids, projected.as_ref());
        let positions: Vec<usize> = lengths.iter().map(|&n| n - 1).collect();
        let last = gather_positions(hidden, &positions);
        let cache = GruCache {
            state: last.clone(),
            projected,
        };
        (last, cache)
    }

    fn step(&self, tokens: Tensor<1, Int>, cache: &mut GruCache) -> Tensor<2> {
        let gi = self.project(tokens, cache.projected.as_ref());
        let h = self.cell(gi, cache.state.clone());
        cache.state = h.clone();
        h
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;
    use crate::tensor_ops::to_vec_f32;

    #[test]
    fn tanh_matches_f64_tanh_across_its_range() {
        let device = crate::device::default_device();
        let xs = [
            -100.0f32, -20.0, -3.0, -0.5, -1e-6, 0.0, 1e-6, 0.5, 3.0, 20.0, 100.0,
        ];
        let got = to_vec_f32(tanh(Tensor::from_data(
            TensorData::new(xs.to_vec(), [1, xs.len()]),
            &device,
        )));
        for (x, y) in xs.iter().zip(got) {
            let want = f64::from(*x).tanh();
            assert!(
                (f64::from(y) - want).abs() < 3e-7,
                "tanh({x}) = {y}, want {want}"
            );
        }
    }

    /// The body's hidden states equal PyTorch's GRU equations computed in f64 from its weights,
    /// on both input paths: one row of 3 tokens (fewer positions than the 6 ids: each step
    /// projects its embeddings) and 3 rows of 3 (more: the projected vocabulary is looked up).
    #[test]
    fn hidden_states_equal_the_gru_equations() {
        let device = crate::device::default_device();
        let h = 4;
        let body = GruBodyConfig::new(6)
            .with_hidden(h)
            .with_seed(3)
            .init(&device)
            .unwrap();
        // One row of 3 reads 3 tokens (fewer than the 6 ids), three rows 9 (more).
        assert!(body.projected_vocabulary(3).is_none());
        assert!(body.projected_vocabulary(9).is_some());
        let read =
            |t: Tensor<2>| -> Vec<f64> { to_vec_f32(t).into_iter().map(f64::from).collect() };
        let read1 =
            |t: Tensor<1>| -> Vec<f64> { to_vec_f32(t).into_iter().map(f64::from).collect() };
        let table = read(body.embedding.table.val());
        let (w_i, w_h) = (
            read(body.input.weight.val()),
            read(body.recurrent.weight.val()),
        );
        let b_i = read1(body.input.bias.as_ref().unwrap().val());
        let b_h = read1(body.recurrent.bias.as_ref().unwrap().val());
        // burn's Linear weight is [in, out]: y_j = sum_k x_k w[k, j] + b_j.
        let affine = |w: &[f64], b: &[f64], x: &[f64]| -> Vec<f64> {
            (0..3 * h)
                .map(|j| b[j] + (0..h).map(|k| x[k] * w[k * 3 * h + j]).sum::<f64>())
                .collect()
        };
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        for rows in [vec![[5usize, 0, 2]], vec![[5, 0, 2], [1, 1, 4], [3, 2, 0]]] {
            let ids: Vec<i64> = rows.iter().flatten().map(|&i| i as i64).collect();
            let got = to_vec_f32(body.forward(
                Tensor::from_data(TensorData::new(ids, [rows.len(), 3]), &device),
                Tensor::from_data(
                    TensorData::new(vec![true; 3 * rows.len()], [rows.len(), 3]),
                    &device,
                ),
            ));
            for (row, tokens) in rows.iter().enumerate() {
                let mut state = vec![0.0; h];
                for (t, &id) in tokens.iter().enumerate() {
                    let gi = affine(&w_i, &b_i, &table[id * h..(id + 1) * h]);
                    let gh = affine(&w_h, &b_h, &state);
                    state = (0..h)
                        .map(|j| {
                            let r = sigmoid(gi[j] + gh[j]);
                            let z = sigmoid(gi[h + j] + gh[h + j]);
                            let n = (gi[2 * h + j] + r * gh[2 * h + j]).tanh();
                            (1.0 - z) * n + z * state[j]
                        })
                        .collect();
                    for j in 0..h {
                        let ours = f64::from(got[(row * 3 + t) * h + j]);
                        assert!(
                            (ours - state[j]).abs() < 1e-6,
                            "{} rows, row {row}, step {t}, unit {j}: {ours} vs {}",
                            rows.len(),
                            state[j]
                        );
                    }
                }
            }
        }
    }

    /// Both input paths give the same gradients: one row (each step projected) and the same
    /// row three times with the loss divided by 3 (the projected vocabulary looked up).
    #[test]
    fn both_input_paths_give_the_same_gradients() {
        let train = crate::device::default_device().autodiff();
        let body = GruBodyConfig::new(6)
            .with_hidden(4)
            .with_seed(5)
            .init(&train)
            .unwrap();
        let gradients = |copies: usize| {
            let ids: Vec<i64> = (0..copies).flat_map(|_| [5i64, 0, 2]).collect();
            let hidden = body.forward(
                Tensor::from_data(TensorData::new(ids, [copies, 3]), &train),
                Tensor::from_data(TensorData::new(vec![true; 3 * copies], [copies, 3]), &train),
            );
            // A loss that weighs every hidden unit differently.
            let weights = Tensor::<1>::from_floats([0.3, -1.0, 0.7, 2.0], &train);
            let loss = (hidden * weights.unsqueeze::<3>())
                .sum()
                .div_scalar(copies as f64);
            let grads = loss.backward();
            [
                body.embedding.table.val().grad(&grads),
                body.input
                    .weight
                    .val()
                    .grad(&grads)
                    .map(|g| g.reshape([4 * 12, 1])),
                body.recurrent
                    .weight
                    .val()
                    .grad(&grads)
                    .map(|g| g.reshape([4 * 12, 1])),
            ]
            .map(|g| to_vec_f32(g.expect("a gradient")))
        };
        let (per_step, looked_up) = (gradients(1), gradients(3));
        for (name, (a, b)) in ["embedding", "input", "recurrent"]
            .iter()
            .zip(per_step.iter().zip(&looked_up))
        {
            assert!(a.iter().any(|&g| g != 0.0), "{name}: no gradient");
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-5, "{name}: {x} vs {y}");
            }
        }
    }

    /// Prefill and cached steps give the full pass's hidden states, on both input paths: one
    /// row over 40 ids (each token projected as it comes) and three rows (the vocabulary
    /// projected once at prefill and looked up at each step).
    #[test]
    fn cached_steps_equal_the_full_pass() {
        let device = crate::device::default_device();
        let body = GruBodyConfig::new(40)
            .with_hidden(4)
            .with_seed(7)
            .init(&device)
            .unwrap();
        let all = [[3i64, 39, 0, 12, 7], [1, 1, 25, 2, 30], [38, 4, 4, 9, 0]];
        for rows in [1, 3] {
            let ids: Vec<i64> = all[..rows].iter().flatten().copied().collect();
            let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [rows, 5]), &device);
            let mask =
                |n| Tensor::from_data(TensorData::new(vec![true; rows * n], [rows, n]), &device);
            let full = to_vec_f32(body.forward(ids.clone(), mask(5)));
            let (last, mut cache) =
                body.prefill(ids.clone().slice([0..rows, 0..2]), mask(2), &vec![2; rows]);
            assert_eq!(cache.projected.is_some(), rows == 3);
            let mut steps = vec![to_vec_f32(last)];
            for t in 2..5 {
                let tokens = ids.clone().slice([0..rows, t..t + 1]).reshape([rows]);
                steps.push(to_vec_f32(body.step(tokens, &mut cache)));
            }
            for (k, step) in steps.iter().enumerate() {
                let position = k + 1;
                for row in 0..rows {
                    for j in 0..4 {
                        let want = full[(row * 5 + position) * 4 + j];
                        let got = step[row * 4 + j];
                        assert!(
                            (got - want).abs() < 1e-6,
                            "{rows} rows, position {position}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
