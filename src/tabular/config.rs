//! Settings shared by the exact solvers.

use burn::config::Config;

use crate::error::{Error, Result, check_gamma, check_positive};

/// How an iterative solver sweeps the states.
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub enum Sweep {
    /// Jacobi: every state is backed up from the previous sweep's values (two arrays).
    Synchronous,
    /// Gauss-Seidel: each backup reads values already updated in this sweep (one array).
    /// Usually converges in fewer sweeps.
    InPlace,
}

/// Settings of the exact tabular solvers.
///
/// # Example
///
/// ```
/// use valuefn::tabular::{SolverConfig, Sweep};
///
/// let config = SolverConfig::new().with_gamma(0.9).with_sweep(Sweep::InPlace);
/// assert!(config.validate().is_ok());
/// assert!(SolverConfig::new().with_tolerance(0.0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct SolverConfig {
    /// Discount factor, in `[0, 1]`. With `gamma = 1` every policy evaluated must reach a
    /// terminal transition with probability one.
    #[config(default = 0.9)]
    pub gamma: f64,
    /// Stop when a sweep changes no value by more than this (finite, > 0). The distance to the
    /// fixed point is then at most `gamma / (1 - gamma) * tolerance`.
    #[config(default = 1e-10)]
    pub tolerance: f64,
    /// Give up with [`Error::NotConverged`] after this many sweeps (at least 1).
    #[config(default = 100_000)]
    pub max_iterations: usize,
    /// Synchronous or in-place sweeps.
    #[config(default = "Sweep::Synchronous")]
    pub sweep: Sweep,
    /// The most states policy iteration evaluates with its dense linear solve (at least 1):
    /// the solve holds an `S x S` matrix of `f64` and takes `O(S^3)` time, so 10 000 states
    /// is 800 MB. Larger MDPs get [`Error::TooLarge`]; use value iteration there, or raise
    /// this. [`crate::tabular::evaluate_policy_exact`] uses the default.
    #[config(default = 10_000)]
    pub max_dense_states: usize,
}

impl SolverConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        check_gamma(self.gamma)?;
        check_positive("tolerance", self.tolerance)?;
        if self.max_iterations == 0 {
            return Err(Error::config("max_iterations", "at least 1", 0));
        }
        if self.max_dense_states == 0 {
            return Err(Error::config("max_dense_states", "at least 1", 0));
        }
        Ok(())
    }
}
