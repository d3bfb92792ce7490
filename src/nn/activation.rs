//! Elementwise nonlinearities between the layers of an [`crate::nn::Mlp`].

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::{gelu, gelu_approximate, relu, silu, tanh};

/// The nonlinearity applied after each hidden layer.
///
/// # Example
///
/// ```
/// use valuefn::nn::Activation;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let x = burn::Tensor::<1>::from_floats([-1.0, 2.0], &device);
/// assert_eq!(to_vec_f32(Activation::Relu.apply(x)), vec![0.0, 2.0]);
/// ```
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `max(0, x)` (Stable-Baselines3's default for DQN).
    Relu,
    /// `tanh(x)` (Stable-Baselines3's default for A2C and PPO).
    Tanh,
    /// Gaussian error linear unit.
    Gelu,
    /// GELU's tanh approximation, `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`
    /// (GPT-2's `gelu_new`).
    GeluTanh,
    /// `x sigmoid(x)` (SiLU, or swish: the gate of Llama's SwiGLU).
    Silu,
}

impl Activation {
    /// Applies the nonlinearity elementwise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => relu(x),
            Activation::Tanh => tanh(x),
            Activation::Gelu => gelu(x),
            Activation::GeluTanh => gelu_approximate(x),
            Activation::Silu => silu(x),
        }
    }
}
