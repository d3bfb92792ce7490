//! Optimiser settings shared by the deep learners: which optimiser, and the learning rate as a
//! function of the gradient step.

use burn::config::Config;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};

use crate::error::{Error, Result, check_f32_scale};

/// The learning rate as a function of the gradient step.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum LearningRateSchedule {
    /// The same rate throughout.
    Constant {
        /// The rate (> 0).
        rate: f64,
    },
    /// From `start` down (or up) to `end` linearly over `steps` gradient steps, then `end`
    /// (Stable-Baselines3's `lin_<rate>` schedules end at 0).
    Linear {
        /// The first rate (> 0).
        start: f64,
        /// The last rate (>= 0).
        end: f64,
        /// Gradient steps of the ramp (>= 1).
        steps: u64,
    },
}

impl LearningRateSchedule {
    /// The rate at gradient step `step` (counting from 0).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::algo::LearningRateSchedule;
    ///
    /// let lr = LearningRateSchedule::Linear { start: 1e-3, end: 1e-4, steps: 10 };
    /// assert_eq!(lr.at(0), 1e-3);
    /// assert!((lr.at(5) - 5.5e-4).abs() < 1e-12);
    /// assert!((lr.at(10) - 1e-4).abs() < 1e-15);
    /// assert_eq!(lr.at(99), lr.at(10));
    /// ```
    pub fn at(&self, step: u64) -> f64 {
        match *self {
            LearningRateSchedule::Constant { rate } => rate,
            LearningRateSchedule::Linear { start, end, steps } => {
                let fraction = (step as f64 / steps as f64).min(1.0);
                start + (end - start) * fraction
            }
        }
    }

    /// Checks the rates and the ramp length.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a rate that is not a positive, normal `f32` (the update
    /// multiplies `f32` gradients by it: 1e-300 would be no step, 1e300 an infinite one; an
    /// `end` may be 0), or a ramp of 0 steps.
    pub fn validate(&self) -> Result<()> {
        match *self {
            LearningRateSchedule::Constant { rate } => check_f32_scale("learning_rate.rate", rate),
            LearningRateSchedule::Linear { start, end, steps } => {
                check_f32_scale("learning_rate.start", start)?;
                if end != 0.0 {
                    check_f32_scale("learning_rate.end", end)?;
                }
                if steps == 0 {
                    return Err(Error::config("learning_rate.steps", "at least 1", steps));
                }
                Ok(())
            }
        }
    }
}

/// Which optimiser updates a network (its learning rate comes from a
/// [`LearningRateSchedule`]).
#[derive(Config, Debug, Copy, PartialEq)]
pub enum OptimizerConfig {
    /// Adam (Kingma and Ba 2015) with PyTorch's betas (0.9, 0.999).
    Adam {
        /// Added to the root of the second moment (PyTorch's default 1e-8;
        /// Stable-Baselines3's PPO uses 1e-5).
        epsilon: f64,
    },
    /// AdamW (Loshchilov and Hutter 2019): Adam with decoupled weight decay,
    /// `theta <- theta - lr (m_hat / (sqrt(v_hat) + epsilon) + weight_decay theta)`, PyTorch's
    /// betas (0.9, 0.999).
    AdamW {
        /// Added to the root of the second moment (PyTorch's default 1e-8).
        epsilon: f64,
        /// Decoupled weight decay (>= 0; PyTorch's default 0.01).
        weight_decay: f64,
    },
    /// RMSprop without momentum, as PyTorch's `RMSprop` and Stable-Baselines3's A2C:
    /// `v <- alpha v + (1 - alpha) g^2`, `theta <- theta - lr g / (sqrt(v) + epsilon)`.
    RmsProp {
        /// Smoothing constant of the squared gradients, in `(0, 1)` (0.99).
        alpha: f64,
        /// Added to the root (Stable-Baselines3's A2C uses 1e-5).
        epsilon: f64,
    },
    /// Plain stochastic gradient descent, `theta <- theta - lr g` (the tabular step-size
    /// update when the parameters are a table).
    Sgd,
}

impl OptimizerConfig {
    /// Adam with epsilon 1e-8.
    pub const ADAM: Self = OptimizerConfig::Adam { epsilon: 1e-8 };
    /// RMSprop as Stable-Baselines3's A2C sets it: alpha 0.99, epsilon 1e-5.
    pub const RMSPROP: Self = OptimizerConfig::RmsProp {
        alpha: 0.99,
        epsilon: 1e-5,
    };

    /// Checks the constants.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for an epsilon that is not positive in `f32` (1e-300 would be
    /// 0 there, and the first step would divide by it), a negative weight decay, or an alpha
    /// outside `(0, 1)`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            OptimizerConfig::Adam { epsilon } => check_f32_scale("optimizer.epsilon", epsilon),
            OptimizerConfig::AdamW {
                epsilon,
                weight_decay,
            } => {
                check_f32_scale("optimizer.epsilon", epsilon)?;
                if !(weight_decay.is_finite()
                    && weight_decay >= 0.0
                    && weight_decay <= f64::from(f32::MAX))
                {
                    return Err(Error::config(
                        "optimizer.weight_decay",
                        "finite, >= 0 and within f32",
                        weight_decay,
                    ));
                }
                Ok(())
            }
            OptimizerConfig::RmsProp { alpha, epsilon } => {
                if !(alpha > 0.0 && alpha < 1.0) {
                    return Err(Error::config("optimizer.alpha", "in (0, 1)", alpha));
                }
                check_f32_scale("optimizer.epsilon", epsilon)
            }
            OptimizerConfig::Sgd => Ok(()),
        }
    }

    /// A fresh optimiser (also what a checkpoint's state is loaded into).
    pub(crate) fn init(&self) -> ModuleOptimizer {
        match *self {
            OptimizerConfig::Adam { epsilon } => {
                AdamConfig::new().with_epsilon(epsilon as f32).init()
            }
            OptimizerConfig::AdamW {
                epsilon,
                weight_decay,
            } => AdamWConfig::new()
                .with_epsilon(epsilon as f32)
                .with_weight_decay(weight_decay as f32)
                .init(),
            OptimizerConfig::RmsProp { alpha, epsilon } => RmsPropConfig::new()
                .with_alpha(alpha as f32)
                .with_epsilon(epsilon as f32)
                .with_momentum(0.0)
                .init(),
            OptimizerConfig::Sgd => SgdConfig::new().init(),
        }
    }
}
