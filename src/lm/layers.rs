//! Seeded building blocks of the bodies: embeddings and layer normalisation.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;

use crate::nn::init::standard_normal;

/// An embedding table `[n, width]`, entries drawn N(0, 1) scaled by `scale` (PyTorch's
/// `nn.Embedding` draws N(0, 1); transformers use a smaller scale).
#[derive(Module, Debug)]
pub(crate) struct Embedding {
    pub(crate) table: Param<Tensor<2>>,
}

impl Embedding {
    /// An embedding over a loaded table.
    pub(crate) fn from_table(table: Param<Tensor<2>>) -> Self {
        Self { table }
    }

    pub(crate) fn new<R: Rng + ?Sized>(
        n: usize,
        width: usize,
        scale: f64,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let values: Vec<f32> = (0..n * width)
            .map(|_| (standard_normal(rng) * scale) as f32)
            .collect();
        Self {
            table: Param::from_data(TensorData::new(values, [n, width]), device),
        }
    }

    /// Rows of `ids` (`[B, T]`) as `[B, T, width]`.
    pub(crate) fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, steps] = ids.dims();
        let width = self.table.val().dims()[1];
        self.table
            .val()
            .select(0, ids.reshape([batch * steps]))
            .reshape([batch, steps, width])
    }

    /// Rows of `ids` (`[B]`) as `[B, width]`.
    pub(crate) fn forward_1d(&self, ids: Tensor<1, Int>) -> Tensor<2> {
        self.table.val().select(0, ids)
    }
}

/// Layer normalisation over the last dimension with learned scale and shift (1 and 0 at
/// first), epsilon 1e-5 unless loaded otherwise (PyTorch's `nn.LayerNorm`).
#[derive(Module, Debug)]
pub(crate) struct LayerNorm {
    gamma: Param<Tensor<1>>,
    beta: Param<Tensor<1>>,
    #[module(skip)]
    epsilon: f64,
}

impl LayerNorm {
    pub(crate) fn new(width: usize, device: &Device) -> Self {
        Self::from_params(
            Param::from_tensor(Tensor::ones([width], device)),
            Param::from_tensor(Tensor::zeros([width], device)),
            1e-5,
        )
    }

    /// A layer norm with the given scale, shift and epsilon (a loaded model's).
    pub(crate) fn from_params(
        gamma: Param<Tensor<1>>,
        beta: Param<Tensor<1>>,
        epsilon: f64,
    ) -> Self {
        Self {
            gamma,
            beta,
            epsilon,
        }
    }

    pub(crate) fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let (var, mean) = x.clone().var_mean_bias(D - 1);
        let normed = (x - mean) / var.add_scalar(self.epsilon).sqrt();
        normed * self.gamma.val().unsqueeze() + self.beta.val().unsqueeze()
    }
}

/// Root-mean-square normalisation over the last dimension with a learned scale (Llama's
/// `RMSNorm`): `x / sqrt(mean(x^2) + epsilon) * weight`.
#[derive(Module, Debug)]
pub(crate) struct RmsNorm {
    weight: Param<Tensor<1>>,
    #[module(skip)]
    epsilon: f64,
}

impl RmsNorm {
    pub(crate) fn from_params(weight: Param<Tensor<1>>, epsilon: f64) -> Self {
        Self { weight, epsilon }
    }

    pub(crate) fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mean_square = x.clone().powi_scalar(2).mean_dim(D - 1);
        let normed = x * mean_square.add_scalar(self.epsilon).sqrt().recip();
        normed * self.weight.val().unsqueeze()
    }
}

/// Rows at or below which [`dense`] puts the weight on the left of the product.
const FEW_ROWS: usize = 16;

/// `x W + b` of a linear layer over the last dimension of `x`. For a handful of rows (a
/// decoding step: one token per sequence) it is computed as `(W^T x^T)^T`, with the weight
/// as the left operand: burn's CPU matrix product (the `gemm` crate) then reads `W` in place,
/// where with `W` on the right it repacks the whole matrix for every call. On GPT-2 small
/// that is 16% of a generated token (the 768 x 50257 LM head alone is 154 MB). Larger batches
/// (training, prefill) take `Linear::forward` as it is.
pub(crate) fn dense<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let dims = x.dims();
    let width = dims[D - 1];
    let rows = x.shape().num_elements() / width.max(1);
    if rows > FEW_ROWS {
        return linear.forward(x);
    }
    let weight = linear.weight.val();
    let outputs = weight.dims()[1];
    let y = weight
        .transpose()
        .matmul(x.reshape([rows, width]).transpose())
        .transpose();
    let y = match &linear.bias {
        Some(bias) => y + bias.val().unsqueeze(),
        None => y,
    };
    let mut shape = dims;
    shape[D - 1] = outputs;
    y.reshape(shape)
}
