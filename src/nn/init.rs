//! Seeded initialisation of linear layers.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, TensorData};
use rand::{Rng, RngExt};

/// A `d_input -> d_output` linear layer with PyTorch's default initialisation: weights and
/// bias uniform in `[-1/sqrt(d_input), 1/sqrt(d_input)]` (what `nn.Linear` does, and so what
/// Stable-Baselines3's networks start from), scaled by `gain`.
///
/// The draws come from `rng`, so a seed fixes the network.
pub(crate) fn seeded_linear<R: Rng + ?Sized>(
    d_input: usize,
    d_output: usize,
    gain: f64,
    rng: &mut R,
    device: &Device,
) -> Linear {
    let bound = gain / (d_input as f64).sqrt();
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
            .collect()
    };
    let weight = draw(d_input * d_output);
    let bias = draw(d_output);
    Linear {
        weight: Param::from_data(TensorData::new(weight, [d_input, d_output]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [d_output]), device)),
    }
}
