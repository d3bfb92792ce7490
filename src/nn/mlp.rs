//! The multilayer perceptron every network of the crate is built from.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::error::{Error, Result};
use crate::nn::Activation;
use crate::nn::WeightInit;

/// The most parameters a config accepts (2^28, a gigabyte of `f32`): a typo in a layer size
/// should be an error, not an allocation that takes the machine down.
pub(crate) const MAX_PARAMETERS: usize = 1 << 28;

/// Settings of an [`Mlp`]: `input -> hidden[0] -> ... -> hidden[k-1] -> output`, with the
/// activation after every hidden layer and none after the output.
///
/// # Example
///
/// ```
/// use valuefn::nn::{Activation, MlpConfig};
///
/// let device = valuefn::device::default_device();
/// let mlp = MlpConfig::new(4, 2).with_hidden(vec![64, 64]).init(&device)?;
/// let x = burn::Tensor::<2>::zeros([8, 4], &device);
/// assert_eq!(mlp.forward(x).dims(), [8, 2]);
/// assert!(MlpConfig::new(0, 2).init(&device).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct MlpConfig {
    /// Input features (at least 1).
    pub input: usize,
    /// Output features (at least 1).
    pub output: usize,
    /// Hidden layer widths, each at least 1; empty for a single linear layer.
    #[config(default = "vec![64, 64]")]
    pub hidden: Vec<usize>,
    /// The nonlinearity after each hidden layer.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Gain of the output layer's initial weights (1 is PyTorch's default; a small gain such as
    /// 0.01 starts a policy near uniform).
    #[config(default = 1.0)]
    pub output_gain: f64,
    /// How the weights are drawn.
    #[config(default = "WeightInit::Uniform")]
    pub init: WeightInit,
    /// Seed of the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

impl MlpConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero size, a non-positive gain, or more than 2^28
    /// parameters in all.
    pub fn validate(&self) -> Result<()> {
        if self.input == 0 {
            return Err(Error::config("input", "at least 1", self.input));
        }
        if self.output == 0 {
            return Err(Error::config("output", "at least 1", self.output));
        }
        if let Some(&zero) = self.hidden.iter().find(|&&h| h == 0) {
            return Err(Error::config("hidden", "widths of at least 1", zero));
        }
        crate::error::check_f32_scale("output_gain", self.output_gain)?;
        self.init.validate()?;
        let parameters = self.parameter_count().filter(|&n| n <= MAX_PARAMETERS);
        if parameters.is_none() {
            return Err(Error::config(
                "hidden",
                "sizes giving at most 2^28 parameters",
                format!("{:?} ({} -> {})", self.hidden, self.input, self.output),
            ));
        }
        Ok(())
    }

    /// Number of weights and biases, or `None` when it overflows `usize`.
    pub fn parameter_count(&self) -> Option<usize> {
        self.widths().windows(2).try_fold(0usize, |total, pair| {
            let layer = pair[0].checked_mul(pair[1])?.checked_add(pair[1])?;
            total.checked_add(layer)
        })
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths = Vec::with_capacity(self.hidden.len() + 2);
        widths.push(self.input);
        widths.extend_from_slice(&self.hidden);
        widths.push(self.output);
        widths
    }

    /// Builds the network on `device` (an autodiff device for training), weights drawn from
    /// `seed`.
    ///
    /// # Errors
    ///
    /// As [`MlpConfig::validate`].
    pub fn init(&self, device: &Device) -> Result<Mlp> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let widths = self.widths();
        let last = widths.len() - 2;
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                self.init.linear(
                    pair[0],
                    pair[1],
                    self.output_gain,
                    i == last,
                    &mut rng,
                    device,
                )
            })
            .collect();
        Ok(Mlp {
            layers,
            activation: self.activation,
        })
    }
}

/// A multilayer perceptron; build it with [`MlpConfig::init`].
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    /// Applies the layers to the last dimension of `x`.
    ///
    /// # Shapes
    ///
    /// - `x`: `[..., input]`; output `[..., output]`.
    ///
    /// # Panics
    ///
    /// When the last dimension of `x` is not `input` (the networks built on this check it
    /// and return an error instead).
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |x, (i, layer)| {
            let y = layer.forward(x);
            if i == last {
                y
            } else {
                self.activation.apply(y)
            }
        })
    }

    /// Input features.
    pub fn input_dim(&self) -> usize {
        self.layers[0].weight.val().dims()[0]
    }

    /// Output features.
    pub fn output_dim(&self) -> usize {
        self.layers[self.layers.len() - 1].weight.val().dims()[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_ops::to_vec_f32;

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let device = crate::device::default_device();
        let x = Tensor::<2>::ones([1, 3], &device);
        let config = MlpConfig::new(3, 2).with_hidden(vec![5]);
        let a = to_vec_f32(config.init(&device).unwrap().forward(x.clone()));
        let b = to_vec_f32(config.init(&device).unwrap().forward(x.clone()));
        let c = to_vec_f32(
            config
                .clone()
                .with_seed(1)
                .init(&device)
                .unwrap()
                .forward(x),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn parameter_count_overflow_is_refused() {
        let config = MlpConfig::new(usize::MAX / 2, 3);
        assert_eq!(config.parameter_count(), None);
        assert!(config.validate().is_err());
        assert_eq!(
            MlpConfig::new(4, 2).with_hidden(vec![8]).parameter_count(),
            Some(4 * 8 + 8 + 8 * 2 + 2)
        );
    }
}
