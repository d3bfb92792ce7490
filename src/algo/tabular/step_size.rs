//! Step sizes (learning rates) of the tabular updaters.

use burn::config::Config;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

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

/// Per-entry step sizes, with visit counts kept where the updates run: on the device for the
/// tensor path, in host memory for the host path (moved over once if a learner switches).
#[derive(Debug, Clone)]
pub(crate) struct StepSizes {
    rule: StepSize,
    visits: Visits,
}

#[derive(Debug, Clone)]
enum Visits {
    None,
    /// Boxed: a tensor handle is large beside the other variants.
    Tensor(Box<Tensor<1>>),
    Host(Vec<f32>),
}

impl StepSizes {
    pub fn new(rule: StepSize) -> Self {
        Self {
            rule,
            visits: Visits::None,
        }
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
                let visits = match std::mem::replace(&mut self.visits, Visits::None) {
                    Visits::Tensor(v) if v.dims() == [len] => *v,
                    Visits::Host(v) if v.len() == len => {
                        Tensor::from_data(TensorData::new(v, [len]), device)
                    }
                    _ => Tensor::zeros([len], device),
                };
                let visits = visits.select_assign(
                    0,
                    indices.clone(),
                    Tensor::ones([batch], device),
                    IndexingUpdateOp::Add,
                );
                let counts = visits.clone().select(0, indices);
                self.visits = Visits::Tensor(Box::new(visits));
                td_errors * counts.powf_scalar(-power)
            }
        }
    }

    /// [`StepSizes::scale`] on the host, in place, with the same `f32` arithmetic: every visit
    /// of the batch is counted before any error is scaled, as the tensor path does.
    pub fn scale_host(&mut self, td_errors: &mut [f32], indices: &[usize], len: usize) {
        match self.rule {
            StepSize::Constant { alpha } => {
                let alpha = alpha as f32;
                td_errors.iter_mut().for_each(|d| *d *= alpha);
            }
            StepSize::VisitCount { power } => {
                let visits = self.host_visits(len);
                for &i in indices {
                    visits[i] += 1.0;
                }
                let exponent = -power as f32;
                for (d, &i) in td_errors.iter_mut().zip(indices) {
                    *d *= visits[i].powf(exponent);
                }
            }
        }
    }

    /// [`StepSizes::scale_host`] for one transition.
    #[inline]
    pub fn scale_one(&mut self, td_error: f32, index: usize, len: usize) -> f32 {
        match self.rule {
            StepSize::Constant { alpha } => td_error * alpha as f32,
            StepSize::VisitCount { power } => {
                let visits = self.host_visits(len);
                visits[index] += 1.0;
                td_error * visits[index].powf(-power as f32)
            }
        }
    }

    /// The visit counts in host memory (moved from the device once, or started at zero).
    fn host_visits(&mut self, len: usize) -> &mut Vec<f32> {
        if !matches!(&self.visits, Visits::Host(v) if v.len() == len) {
            self.visits = Visits::Host(match std::mem::replace(&mut self.visits, Visits::None) {
                Visits::Tensor(v) if v.dims() == [len] => crate::tensor_ops::to_vec_f32(*v),
                _ => vec![0.0; len],
            });
        }
        match &mut self.visits {
            Visits::Host(v) => v,
            _ => unreachable!("set above"),
        }
    }
}
