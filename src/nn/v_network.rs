//! A state-value network.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::error::Result;
use crate::nn::{Activation, Mlp, MlpConfig, WeightInit};
use crate::tensor_ops::check_shape;
use crate::value::VFunction;

/// Settings of a [`VNetwork`].
///
/// # Example
///
/// ```
/// use valuefn::nn::VNetworkConfig;
/// use valuefn::prelude::*;
///
/// let device = valuefn::device::default_device();
/// let v = VNetworkConfig::new(4).init(&device)?;
/// assert_eq!(v.values(burn::Tensor::<2>::zeros([5, 4], &device))?.dims(), [5]);
/// assert!(v.values(burn::Tensor::<2>::zeros([5, 3], &device)).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct VNetworkConfig {
    /// Observation features (at least 1).
    pub observation_dim: usize,
    /// Hidden layer widths.
    #[config(default = "vec![64, 64]")]
    pub hidden: Vec<usize>,
    /// The nonlinearity.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// How the weights are drawn (the output layer's gain is 1).
    #[config(default = "WeightInit::Uniform")]
    pub init: WeightInit,
    /// Seed of the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

impl VNetworkConfig {
    fn mlp(&self) -> MlpConfig {
        MlpConfig::new(self.observation_dim, 1)
            .with_hidden(self.hidden.clone())
            .with_activation(self.activation)
            .with_init(self.init)
            .with_seed(self.seed)
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// As [`MlpConfig::validate`].
    pub fn validate(&self) -> Result<()> {
        self.mlp().validate()
    }

    /// Builds the network on `device` (an autodiff device to train it).
    ///
    /// # Errors
    ///
    /// As [`MlpConfig::validate`].
    pub fn init(&self, device: &Device) -> Result<VNetwork> {
        Ok(VNetwork {
            mlp: self.mlp().init(device)?,
            observation_dim: self.observation_dim,
        })
    }
}

/// Observations `[B, D]` to state values `[B]`; build it with [`VNetworkConfig::init`].
#[derive(Module, Debug)]
pub struct VNetwork {
    mlp: Mlp,
    #[module(skip)]
    observation_dim: usize,
}

impl VNetwork {
    /// The forward pass without the shape check.
    ///
    /// # Shapes
    ///
    /// - `observations`: `[B, observation_dim]`; output `[B]`.
    ///
    /// # Panics
    ///
    /// When the observation width is wrong; [`VFunction::values`] checks it instead.
    pub fn forward(&self, observations: Tensor<2>) -> Tensor<1> {
        self.mlp.forward(observations).squeeze_dim(1)
    }
}

impl VFunction for VNetwork {
    type Input = Tensor<2>;

    fn values(&self, states: Tensor<2>) -> Result<Tensor<1>> {
        let [batch, _] = states.dims();
        check_shape("observations", states.dims(), [batch, self.observation_dim])?;
        Ok(self.forward(states))
    }
}
