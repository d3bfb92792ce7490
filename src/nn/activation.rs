//! Elementwise nonlinearities between the layers of an [`crate::nn::Mlp`].

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::{gelu, relu, tanh};

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
}

impl Activation {
    /// Applies the nonlinearity elementwise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => relu(x),
            Activation::Tanh => tanh(x),
            Activation::Gelu => gelu(x),
        }
    }
}
