//! Settings of the [`crate::algo::ilql::Ilql`] updater.

use burn::config::Config;

use crate::algo::optim::{LearningRateSchedule, OptimizerConfig};
use crate::error::{Error, Result, check_finite, check_positive};

/// Settings of [`crate::algo::ilql::Ilql`].
///
/// Defaults follow ILQL (Snell et al. 2022) at a small scale: expectile 0.7, CQL weight 0.1,
/// Polyak rate 0.005, Adam at 1e-3, gradients clipped to norm 1.
///
/// # Example
///
/// ```
/// use valuefn::algo::ilql::IlqlConfig;
///
/// let config = IlqlConfig::new().with_expectile(0.9);
/// assert!(config.validate().is_ok());
/// assert!(config.with_expectile(1.0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct IlqlConfig {
    /// The expectile `tau` the V head regresses on `min(Q1', Q2')` of the data's actions, in
    /// `(0, 1)`: 0.5 is the mean (the data's own policy), toward 1 the best action seen.
    #[config(default = 0.7)]
    pub expectile: f64,
    /// Weight of the CQL penalty on each Q head (`>= 0`; 0 turns it off).
    #[config(default = 0.1)]
    pub cql_weight: f64,
    /// Polyak rate of the target Q heads, in `(0, 1]`.
    #[config(default = 0.005)]
    pub target_rate: f64,
    /// Learning rate of the three optimisers (one per head), by gradient step.
    #[config(default = "LearningRateSchedule::Constant { rate: 1e-3 }")]
    pub learning_rate: LearningRateSchedule,
    /// The optimiser of each head (Adam with epsilon 1e-8 by default).
    #[config(default = "OptimizerConfig::ADAM")]
    pub optimizer: OptimizerConfig,
    /// Clip the gradient to this global L2 norm over the three networks jointly; `None`
    /// leaves it unclipped.
    #[config(default = "Some(1.0)")]
    pub max_grad_norm: Option<f64>,
}

impl IlqlConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        if !(self.expectile > 0.0 && self.expectile < 1.0) {
            return Err(Error::config("expectile", "in (0, 1)", self.expectile));
        }
        check_finite("cql_weight", self.cql_weight)?;
        if self.cql_weight < 0.0 {
            return Err(Error::config("cql_weight", "at least 0", self.cql_weight));
        }
        if !(self.target_rate > 0.0 && self.target_rate <= 1.0) {
            return Err(Error::config("target_rate", "in (0, 1]", self.target_rate));
        }
        self.learning_rate.validate()?;
        self.optimizer.validate()?;
        if let Some(norm) = self.max_grad_norm {
            check_positive("max_grad_norm", norm)?;
        }
        Ok(())
    }
}
