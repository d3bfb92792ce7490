//! n-step TD targets.

use burn::tensor::Tensor;

use crate::error::{Error, Result, check_gamma};
use crate::returns::{Rollout, Values};

/// n-step TD targets (Sutton and Barto eq. 7.1):
///
/// ```text
/// G_t:t+n = r_t + gamma r_{t+1} + ... + gamma^(m-1) r_{t+m-1} + gamma^m V'_{t+m-1}
/// ```
///
/// where `m <= n` stops early at the first step that ends an episode or the rollout. The
/// bootstrap term is dropped when that last step terminated, and taken from `next_values`
/// (the value of the true next state) when it was truncated or is the rollout's last step.
/// `n = 1` gives one-step TD targets.
///
/// # Shapes
///
/// - `next_values`: `[T, B]`; output `[T, B]`.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for `gamma` outside `[0, 1]` or `n = 0`;
/// [`Error::ShapeMismatch`] or [`Error::NonFinite`] for bad `next_values`.
///
/// # Example
///
/// ```
/// use valuefn::returns::{n_step_targets, Rollout};
/// use valuefn::tensor_ops::{float_tensor, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// let rollout = Rollout::new(3, 1, vec![1.0, 2.0, 4.0], vec![false; 3], vec![false; 3], &device)?;
/// let next_values = float_tensor(&[10.0, 20.0, 40.0], [3, 1], &device);
/// let g = to_vec_f32(n_step_targets(&rollout, next_values, 0.5, 2)?);
/// // 1 + 0.5*2 + 0.25*20, then 2 + 0.5*4 + 0.25*40, then 4 + 0.5*40 (the rollout ends)
/// assert_eq!(g, vec![7.0, 14.0, 24.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn n_step_targets<'v>(
    rollout: &Rollout,
    next_values: impl Into<Values<'v>>,
    gamma: f64,
    n: usize,
) -> Result<Tensor<2>> {
    let targets = n_step_target_values(rollout, next_values.into(), gamma, n)?;
    Ok(rollout.tensor(targets))
}

/// [`n_step_targets`] on the host: the targets in time-major order, as `f64`.
pub(crate) fn n_step_target_values(
    rollout: &Rollout,
    next_values: Values<'_>,
    gamma: f64,
    n: usize,
) -> Result<Vec<f64>> {
    check_gamma(gamma)?;
    if n == 0 {
        return Err(Error::config("n", "at least 1", 0));
    }
    let next = rollout.read_values("next_values", next_values)?;
    let [steps, envs] = rollout.shape();
    let mut targets = vec![0.0; steps * envs];
    for (start, target) in targets.iter_mut().enumerate() {
        let (mut g, mut discount, mut i) = (0.0, 1.0, start);
        loop {
            g += discount * f64::from(rollout.rewards[i]);
            discount *= gamma;
            let taken = (i - start) / envs + 1;
            if rollout.boundary(i) || taken == n {
                if !rollout.terminated[i] {
                    g += discount * next[i];
                }
                break;
            }
            i += envs;
        }
        *target = g;
    }
    Ok(targets)
}
