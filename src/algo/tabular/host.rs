//! The host path of the tabular learners: the tensor path's `f32` arithmetic on a `Vec<f32>`.

use burn::config::Config;
use burn::tensor::Device;

/// Where a tabular learner keeps the table while it runs.
///
/// On a CPU backend every tensor op costs microseconds, so an online learner that updates one
/// transition at a time is far faster on plain host memory; on a GPU the table stays put. Both
/// paths do the same `f32` arithmetic in the same order, so a seeded run gives the same table
/// (to rounding of `exp` and of sums a backend may reorder) and the same episodes.
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub enum TabularPath {
    /// [`TabularPath::Host`] when the table lives on a CPU backend (ndarray, flex, LibTorch
    /// CPU, with or without autodiff), else [`TabularPath::Tensor`].
    Auto,
    /// Read the table into host memory once, learn there, write it back once at the end.
    Host,
    /// Tensor ops on the table's device for every update.
    Tensor,
}

impl TabularPath {
    /// Whether a learner on `device` runs on the host.
    pub fn runs_on_host(&self, device: &Device) -> bool {
        self.resolve(|| crate::device::is_cpu(device))
    }

    /// [`TabularPath::runs_on_host`] with the device's answer given lazily (a table knows
    /// whether it is on a CPU without asking again).
    pub(crate) fn resolve(&self, on_cpu: impl FnOnce() -> bool) -> bool {
        match self {
            TabularPath::Host => true,
            TabularPath::Tensor => false,
            TabularPath::Auto => on_cpu(),
        }
    }
}

/// `r + gamma * next`, with no bootstrap where terminated, in the order of
/// [`crate::returns::bootstrap`].
#[inline]
pub(crate) fn bootstrap_one(reward: f32, terminated: bool, next: f32, gamma: f32) -> f32 {
    reward + if terminated { 0.0 } else { next } * gamma
}

/// `max_a q[a]`, ignoring NaN.
#[inline]
pub(crate) fn row_max(row: &[f32]) -> f32 {
    row.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// `sum_a q[a] p[a]`, summed in action order.
#[inline]
pub(crate) fn row_dot(q: &[f32], p: &[f32]) -> f32 {
    q.iter().zip(p).map(|(q, p)| q * p).sum()
}
