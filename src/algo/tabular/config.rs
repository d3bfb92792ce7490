//! The settings every tabular TD updater shares.

use burn::config::Config;

use crate::algo::StepSize;
use crate::error::{Result, check_gamma};

/// Settings of the tabular TD updaters ([`crate::algo::TdZero`], [`crate::algo::QLearning`],
/// [`crate::algo::Sarsa`], [`crate::algo::ExpectedSarsa`], [`crate::algo::NStepSarsa`]).
///
/// # Example
///
/// ```
/// use valuefn::algo::{StepSize, TabularTdConfig};
///
/// let config = TabularTdConfig::new().with_gamma(1.0).with_step_size(StepSize::Constant { alpha: 0.5 });
/// assert!(config.validate().is_ok());
/// assert!(config.with_step_size(StepSize::Constant { alpha: 1.5 }).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct TabularTdConfig {
    /// Discount factor, in `[0, 1]`.
    #[config(default = 0.99)]
    pub gamma: f64,
    /// Step size rule.
    #[config(default = "StepSize::Constant { alpha: 0.1 }")]
    pub step_size: StepSize,
}

impl TabularTdConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        check_gamma(self.gamma)?;
        self.step_size.validate()
    }
}
