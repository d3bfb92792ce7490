//! Discounted (Monte Carlo) returns and TD(lambda) returns.

use burn::tensor::Tensor;

use crate::error::{Result, check_gamma, check_unit_interval};
use crate::returns::{Rollout, Values};

/// TD(lambda) returns (Sutton and Barto eq. 12.3, in recursive form):
///
/// ```text
/// G_t = r_t + gamma * V'_t                                     if t ends an episode or the rollout
/// G_t = r_t + gamma * ((1 - lambda) V'_t + lambda G_{t+1})     otherwise
/// ```
///
/// with `V'_t = next_values[t]` the value of the state after step `t`, and the bootstrap term
/// dropped (`gamma * V'_t = 0`) where step `t` terminated. A truncated step bootstraps from
/// `V'_t`, which must be the value of the true next observation (not of the reset state).
/// `lambda = 0` gives one-step TD targets, `lambda = 1` the discounted return bootstrapped only
/// at truncation and at the end of the rollout.
///
/// # Shapes
///
/// - `next_values`: `[T, B]`, like the rollout; output `[T, B]`.
///
/// # Errors
///
/// [`crate::Error::InvalidConfig`] for `gamma` or `lambda` outside `[0, 1]`;
/// [`crate::Error::ShapeMismatch`] or [`crate::Error::NonFinite`] for bad `next_values`.
///
/// # Example
///
/// ```
/// use valuefn::returns::{lambda_returns, Rollout};
/// use valuefn::tensor_ops::{float_tensor, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// let rollout = Rollout::new(3, 1, vec![1.0, 1.0, 1.0], vec![false, false, true], vec![false; 3], &device)?;
/// let next_values = float_tensor(&[10.0, 10.0, 10.0], [3, 1], &device);
/// // lambda = 1: plain discounted return of the terminating episode.
/// let g = to_vec_f32(lambda_returns(&rollout, next_values, 0.5, 1.0)?);
/// assert_eq!(g, vec![1.75, 1.5, 1.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn lambda_returns<'v>(
    rollout: &Rollout,
    next_values: impl Into<Values<'v>>,
    gamma: f64,
    lambda: f64,
) -> Result<Tensor<2>> {
    check_gamma(gamma)?;
    check_unit_interval("lambda", lambda)?;
    let next = rollout.read_values("next_values", next_values.into())?;
    let returns = rollout.backward_scan(|i| {
        let r = f64::from(rollout.rewards[i]);
        if rollout.terminated[i] {
            (r, 0.0)
        } else if rollout.boundary(i) {
            (r + gamma * next[i], 0.0)
        } else {
            (r + gamma * (1.0 - lambda) * next[i], gamma * lambda)
        }
    });
    Ok(rollout.tensor(returns))
}

/// Discounted returns `G_t = r_t + gamma G_{t+1}`, restarting at every episode end and
/// bootstrapping from `next_values` where an episode was truncated or the rollout ends: the
/// TD(lambda = 1) return. For pure Monte Carlo returns of complete episodes pass zeros.
///
/// # Shapes
///
/// - `next_values`: `[T, B]`; output `[T, B]`.
///
/// # Errors
///
/// As [`lambda_returns`].
///
/// # Example
///
/// ```
/// use valuefn::returns::{discounted_returns, Rollout};
/// use valuefn::tensor_ops::{float_tensor, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// // One trajectory: an episode truncated after step 0, then one that terminates at step 1.
/// let rollout = Rollout::new(2, 1, vec![1.0, 1.0], vec![false, true], vec![true, false], &device)?;
/// let g = discounted_returns(&rollout, float_tensor(&[4.0, 0.0], [2, 1], &device), 0.5)?;
/// assert_eq!(to_vec_f32(g), vec![3.0, 1.0]); // 1 + 0.5 * 4, then 1
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn discounted_returns<'v>(
    rollout: &Rollout,
    next_values: impl Into<Values<'v>>,
    gamma: f64,
) -> Result<Tensor<2>> {
    lambda_returns(rollout, next_values, gamma, 1.0)
}
