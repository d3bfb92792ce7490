//! Step sizes (learning rates) of the tabular updaters.

use burn::config::Config;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor};

use crate::error::{Error, Result, check_positive};

/// How big a step each tabular update takes.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum StepSize {
    /// The same `alpha` in `(0, 1]` for every update (the book's constant-alpha methods).
    Constant {
        /// Step size.
        alpha: f64,
    },
    /// `alpha = 1 / n(s, a)^power` after the `n`-th visit of the entry: with `power` in
    /// `(0.5, 1]` the Robbins-Monro conditions hold and tabular Q-learning converges to `q*`.
    VisitCount {
        /// Decay exponent, in `(0.5, 1]`.
        power: f64,
    },
}

impl StepSize {
    /// Checks the parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for `alpha` outside `(0, 1]` or `power` outside `(0.5, 1]`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            StepSize::Constant { alpha } => {
                check_positive("alpha", alpha)?;
                if alpha > 1.0 {
                    return Err(Error::config("alpha", "in (0, 1]", alpha));
                }
            }
            StepSize::VisitCount { power } => {
                if !(power > 0.5 && power <= 1.0) {
                    return Err(Error::config("power", "in (0.5, 1]", power));
                }
            }
        }
        Ok(())
    }
}

/// Per-entry step sizes, with visit counts kept on the device where the schedule needs them.
#[derive(Debug, Clone)]
pub(crate) struct StepSizes {
    rule: StepSize,
    visits: Option<Tensor<1>>,
}

impl StepSizes {
    pub fn new(rule: StepSize) -> Self {
        Self { rule, visits: None }
    }

    /// Scales the TD errors of the entries `indices` (of a table with `len` entries) by their
    /// step sizes, counting the visits.
    pub fn scale(
        &mut self,
        td_errors: Tensor<1>,
        indices: Tensor<1, Int>,
        len: usize,
        device: &Device,
    ) -> Tensor<1> {
        let [batch] = indices.dims();
        match self.rule {
            StepSize::Constant { alpha } => td_errors * alpha,
            StepSize::VisitCount { power } => {
                let visits = self
                    .visits
                    .take()
                    .filter(|v| v.dims() == [len])
                    .unwrap_or_else(|| Tensor::zeros([len], device));
                let visits = visits.select_assign(
                    0,
                    indices.clone(),
                    Tensor::ones([batch], device),
                    IndexingUpdateOp::Add,
                );
                let counts = visits.clone().select(0, indices);
                self.visits = Some(visits);
                td_errors * counts.powf_scalar(-power)
            }
        }
    }
}
