//! A Q-network: an MLP trunk and a linear or dueling head.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::error::{Error, Result};
use crate::nn::{Activation, Mlp, MlpConfig};
use crate::tensor_ops::check_shape;
use crate::value::QFunction;

/// How the last hidden layer becomes `Q(s, .)`.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum QHead {
    /// One linear layer to the `A` action values.
    Linear,
    /// Dueling (Wang et al. 2016): a value stream `V(s)` and an advantage stream `A(s, a)`,
    /// each one linear layer on the shared trunk, combined as
    /// `Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')`.
    Dueling,
}

/// Settings of a [`QNetwork`].
///
/// # Example
///
/// ```
/// use valuefn::nn::{QHead, QNetworkConfig};
/// use valuefn::prelude::*;
///
/// let device = valuefn::device::default_device();
/// let q = QNetworkConfig::new(4, 2).with_head(QHead::Dueling).init(&device)?;
/// let values = q.q_values(burn::Tensor::<2>::zeros([3, 4], &device))?;
/// assert_eq!(values.dims(), [3, 2]);
/// assert!(q.q_values(burn::Tensor::<2>::zeros([3, 5], &device)).is_err()); // wrong width
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct QNetworkConfig {
    /// Observation features (at least 1).
    pub observation_dim: usize,
    /// Number of actions (at least 1).
    pub num_actions: usize,
    /// Hidden layer widths of the trunk (at least one layer).
    #[config(default = "vec![64, 64]")]
    pub hidden: Vec<usize>,
    /// The trunk's nonlinearity.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Linear or dueling head.
    #[config(default = "QHead::Linear")]
    pub head: QHead,
    /// Seed of the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

impl QNetworkConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero size, no hidden layer, or a network too large
    /// (see [`MlpConfig::validate`]).
    pub fn validate(&self) -> Result<()> {
        let Some(&last) = self.hidden.last() else {
            return Err(Error::config("hidden", "at least one hidden layer", "[]"));
        };
        self.trunk_config(last).validate()?;
        if self.num_actions == 0 {
            return Err(Error::config("num_actions", "at least 1", 0));
        }
        Ok(())
    }

    /// The trunk: every hidden layer, with the activation after the last one too.
    fn trunk_config(&self, last: usize) -> MlpConfig {
        let mut inner = self.hidden.clone();
        inner.pop();
        MlpConfig::new(self.observation_dim, last)
            .with_hidden(inner)
            .with_activation(self.activation)
            .with_seed(self.seed)
    }

    /// Builds the network on `device` (an autodiff device to train it).
    ///
    /// # Errors
    ///
    /// As [`QNetworkConfig::validate`].
    pub fn init(&self, device: &Device) -> Result<QNetwork> {
        self.validate()?;
        let last = *self
            .hidden
            .last()
            .expect("validated: at least one hidden layer");
        let trunk = self.trunk_config(last).init(device)?;
        // Heads get seeds of their own so they do not repeat the trunk's first draws.
        let head = |output: usize, salt: u64| {
            MlpConfig::new(last, output)
                .with_hidden(vec![])
                .with_seed(self.seed.wrapping_add(salt))
                .init(device)
        };
        let (advantage, value) = match self.head {
            QHead::Linear => (head(self.num_actions, 1)?, None),
            QHead::Dueling => (head(self.num_actions, 1)?, Some(head(1, 2)?)),
        };
        Ok(QNetwork {
            trunk,
            advantage,
            value,
            activation: self.activation,
            observation_dim: self.observation_dim,
            num_actions: self.num_actions,
        })
    }
}

/// Observations `[B, D]` to action values `[B, A]`; build it with [`QNetworkConfig::init`].
#[derive(Module, Debug)]
pub struct QNetwork {
    trunk: Mlp,
    /// The action values (linear head) or the advantages (dueling head).
    advantage: Mlp,
    /// The dueling head's state value.
    value: Option<Mlp>,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    observation_dim: usize,
    #[module(skip)]
    num_actions: usize,
}

impl QNetwork {
    /// The forward pass without the shape check.
    ///
    /// # Shapes
    ///
    /// - `observations`: `[B, observation_dim]`; output `[B, num_actions]`.
    ///
    /// # Panics
    ///
    /// When the observation width is wrong; [`QFunction::q_values`] checks it instead.
    pub fn forward(&self, observations: Tensor<2>) -> Tensor<2> {
        let hidden = self.activation.apply(self.trunk.forward(observations));
        let advantage = self.advantage.forward(hidden.clone());
        match &self.value {
            None => advantage,
            Some(value) => {
                let mean = advantage.clone().mean_dim(1);
                value.forward(hidden) + advantage - mean
            }
        }
    }

    /// Observation features the network reads.
    pub fn observation_dim(&self) -> usize {
        self.observation_dim
    }
}

impl QFunction for QNetwork {
    type Input = Tensor<2>;

    fn num_actions(&self) -> usize {
        self.num_actions
    }

    fn q_values(&self, states: Tensor<2>) -> Result<Tensor<2>> {
        let [batch, _] = states.dims();
        check_shape("observations", states.dims(), [batch, self.observation_dim])?;
        Ok(self.forward(states))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_ops::to_vec_f32;

    #[test]
    fn dueling_advantages_average_to_the_state_value() {
        let device = crate::device::default_device();
        let q = QNetworkConfig::new(3, 4)
            .with_hidden(vec![8])
            .with_head(QHead::Dueling)
            .init(&device)
            .unwrap();
        let x = Tensor::<2>::from_floats([[0.5, -1.0, 2.0]], &device);
        let hidden = q.activation.apply(q.trunk.forward(x.clone()));
        let v = to_vec_f32(q.value.as_ref().unwrap().forward(hidden))[0];
        let values = to_vec_f32(q.forward(x));
        let mean = values.iter().sum::<f32>() / 4.0;
        assert!((mean - v).abs() < 1e-5, "mean Q {mean} vs V {v}");
    }

    #[test]
    fn no_hidden_layer_is_refused() {
        let err = QNetworkConfig::new(3, 2).with_hidden(vec![]).validate();
        assert!(matches!(
            err,
            Err(Error::InvalidConfig {
                field: "hidden",
                ..
            })
        ));
    }
}
