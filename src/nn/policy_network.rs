//! A categorical policy network.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::error::Result;
use crate::nn::{Activation, Mlp, MlpConfig, WeightInit};
use crate::policy::LogitsPolicy;
use crate::tensor_ops::check_shape;

/// Settings of a [`CategoricalPolicy`]. The defaults are Stable-Baselines3's A2C/PPO actor:
/// `[64, 64]` tanh, orthogonal weights with gain sqrt(2), output gain 0.01 (the policy starts
/// near uniform).
///
/// # Example
///
/// ```
/// use valuefn::nn::CategoricalPolicyConfig;
/// use valuefn::prelude::*;
///
/// let device = valuefn::device::default_device();
/// let policy = CategoricalPolicyConfig::new(4, 2).init(&device)?;
/// let probabilities = policy.action_probabilities(burn::Tensor::<2>::zeros([3, 4], &device))?;
/// assert_eq!(probabilities.dims(), [3, 2]);
/// assert!(CategoricalPolicyConfig::new(4, 0).init(&device).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CategoricalPolicyConfig {
    /// Observation features (at least 1).
    pub observation_dim: usize,
    /// Number of actions (at least 1).
    pub num_actions: usize,
    /// Hidden layer widths.
    #[config(default = "vec![64, 64]")]
    pub hidden: Vec<usize>,
    /// The nonlinearity.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// How the weights are drawn.
    #[config(default = "WeightInit::Orthogonal { hidden_gain: std::f64::consts::SQRT_2 }")]
    pub init: WeightInit,
    /// Gain of the logits layer.
    #[config(default = 0.01)]
    pub output_gain: f64,
    /// Seed of the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

impl CategoricalPolicyConfig {
    fn mlp(&self) -> MlpConfig {
        MlpConfig::new(self.observation_dim, self.num_actions)
            .with_hidden(self.hidden.clone())
            .with_activation(self.activation)
            .with_init(self.init)
            .with_output_gain(self.output_gain)
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
    pub fn init(&self, device: &Device) -> Result<CategoricalPolicy> {
        Ok(CategoricalPolicy {
            mlp: self.mlp().init(device)?,
            observation_dim: self.observation_dim,
            num_actions: self.num_actions,
        })
    }
}

/// Observations `[B, D]` to action logits `[B, A]`: a [`LogitsPolicy`] (and so a
/// [`crate::policy::Policy`]); build it with [`CategoricalPolicyConfig::init`].
#[derive(Module, Debug)]
pub struct CategoricalPolicy {
    mlp: Mlp,
    #[module(skip)]
    observation_dim: usize,
    #[module(skip)]
    num_actions: usize,
}

impl CategoricalPolicy {
    /// The forward pass without the shape check.
    ///
    /// # Shapes
    ///
    /// - `observations`: `[B, observation_dim]`; output `[B, num_actions]`.
    ///
    /// # Panics
    ///
    /// When the observation width is wrong; [`LogitsPolicy::logits`] checks it instead.
    pub fn forward(&self, observations: Tensor<2>) -> Tensor<2> {
        self.mlp.forward(observations)
    }
}

impl LogitsPolicy for CategoricalPolicy {
    type Input = Tensor<2>;

    fn num_actions(&self) -> usize {
        self.num_actions
    }

    fn logits(&self, states: Tensor<2>) -> Result<Tensor<2>> {
        let [batch, _] = states.dims();
        check_shape("observations", states.dims(), [batch, self.observation_dim])?;
        Ok(self.forward(states))
    }
}
