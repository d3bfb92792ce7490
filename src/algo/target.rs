//! How a target network follows the network being trained: hard copies or Polyak averaging,
//! one small type that every learner with a target network uses.

use burn::config::Config;
use burn::module::Module;

use crate::algo::gradients::polyak_update;
use crate::error::{Error, Result};

/// How a target network follows the online network.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum TargetUpdate {
    /// Copy the online network every `every` gradient steps (Mnih et al. 2015).
    Hard {
        /// Gradient steps between copies (>= 1; 1 copies after every step, i.e. no target network).
        every: usize,
    },
    /// After every gradient step, `theta' <- tau theta + (1 - tau) theta'` (Polyak averaging).
    Polyak {
        /// Weight of the online network, in `(0, 1]`.
        tau: f64,
    },
}

impl TargetUpdate {
    /// Checks the period or the rate.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a period of 0 or a `tau` outside `(0, 1]`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            TargetUpdate::Hard { every } if every == 0 => {
                Err(Error::config("target_update.every", "at least 1", every))
            }
            TargetUpdate::Polyak { tau } if !(tau > 0.0 && tau <= 1.0) => {
                Err(Error::config("target_update.tau", "in (0, 1]", tau))
            }
            _ => Ok(()),
        }
    }

    /// The target after gradient step number `steps` (counted from 1) of `online`: a fresh
    /// inference copy when a hard update is due, the Polyak blend, or `target` unchanged.
    /// Parameters are matched by their order in the module tree, so a target built apart from
    /// the online network (same architecture) works too.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::algo::TargetUpdate;
    /// use valuefn::nn::MlpConfig;
    ///
    /// let device = valuefn::device::default_device();
    /// let online = MlpConfig::new(2, 1).init(&device)?;
    /// let target = MlpConfig::new(2, 1).with_seed(7).init(&device)?;
    /// let x = burn::tensor::Tensor::<2>::from_floats([[1.0, 2.0]], &device);
    /// let out = |m: &valuefn::nn::Mlp| m.forward(x.clone()).into_scalar::<f32>();
    /// let every_two = TargetUpdate::Hard { every: 2 };
    /// assert_eq!(out(&every_two.apply(target.clone(), &online, 1)), out(&target));
    /// assert_eq!(out(&every_two.apply(target.clone(), &online, 2)), out(&online));
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn apply<M: Module>(&self, target: M, online: &M, steps: u64) -> M {
        match *self {
            TargetUpdate::Hard { every } => {
                if steps.is_multiple_of(every as u64) {
                    online.valid()
                } else {
                    target
                }
            }
            TargetUpdate::Polyak { tau } => polyak_update(target, online, tau),
        }
    }
}
