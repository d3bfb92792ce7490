//! Elementwise nonlinearities between the layers of an [`crate::nn::Mlp`].

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::{gelu, relu, sigmoid, silu, tanh};

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
            Activation::GeluTanh => gelu_tanh(x),
            Activation::Silu => silu(x),
        }
    }
}

/// GELU's tanh approximation as `x sigmoid(2 sqrt(2 / pi) (x + 0.044715 x^3))`, which equals
/// `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))` (`0.5 (1 + tanh z) = sigmoid(2 z)`):
/// one exponential each way (burn's autodiff evaluates `sigmoid` again from its input in the
/// backward pass), where the tanh form costs a tanh and a `powf` each way (38% of a GPT-2
/// training step on burn's CPU backends before).
fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    const A: f64 = 1.595_769_121_605_730_7; // 2 sqrt(2 / pi)
    const B: f64 = A * 0.044_715;
    let z = x.clone() * (x.clone() * x.clone()).mul_scalar(B).add_scalar(A);
    x * sigmoid(z)
}
