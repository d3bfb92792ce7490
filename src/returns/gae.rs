//! Generalized advantage estimation.

use burn::tensor::Tensor;

use crate::error::{Result, check_gamma, check_unit_interval};
use crate::returns::{Rollout, Values};

/// GAE advantages and the value targets that go with them.
#[derive(Debug, Clone)]
pub struct Advantages {
    /// `A_t`, `[T, B]`.
    pub advantages: Tensor<2>,
    /// `A_t + V(s_t)`: the lambda-returns a critic regresses on, `[T, B]`.
    pub returns: Tensor<2>,
}

/// Generalized advantage estimation (Schulman et al. 2016, eq. 16), in recursive form:
///
/// ```text
/// delta_t = r_t + gamma * V'_t - V_t            (no gamma * V'_t where step t terminated)
/// A_t     = delta_t + gamma * lambda * A_{t+1}  (A_{t+1} = 0 where step t ended an episode
///                                                or is the last of the rollout)
/// ```
///
/// `V_t = values[t]` is the value of the state before step `t`, `V'_t = next_values[t]` the
/// value of the state after it (for a truncated step, the true final observation's value).
/// `lambda = 0` gives the TD error, `lambda = 1` the discounted return minus `V_t`.
///
/// # Shapes
///
/// - `values`, `next_values`: `[T, B]` (a tensor, or host values as [`Values`]); outputs `[T, B]`.
///
/// # Errors
///
/// [`crate::Error::InvalidConfig`] for `gamma` or `lambda` outside `[0, 1]`;
/// [`crate::Error::ShapeMismatch`] or [`crate::Error::NonFinite`] for bad value tensors.
///
/// # Example
///
/// ```
/// use valuefn::returns::{gae, Rollout};
/// use valuefn::tensor_ops::{float_tensor, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// let rollout = Rollout::new(2, 1, vec![1.0, 0.0], vec![false, true], vec![false; 2], &device)?;
/// let values = float_tensor(&[0.5, 0.25], [2, 1], &device);
/// let next_values = float_tensor(&[0.25, 9.0], [2, 1], &device); // 9.0 is ignored: terminated
/// let out = gae(&rollout, values, next_values, 1.0, 1.0)?;
/// assert_eq!(to_vec_f32(out.advantages), vec![0.5, -0.25]); // return 1 - 0.5, return 0 - 0.25
/// assert_eq!(to_vec_f32(out.returns), vec![1.0, 0.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn gae<'v>(
    rollout: &Rollout,
    values: impl Into<Values<'v>>,
    next_values: impl Into<Values<'v>>,
    gamma: f64,
    lambda: f64,
) -> Result<Advantages> {
    check_gamma(gamma)?;
    check_unit_interval("lambda", lambda)?;
    let v = rollout.read_values("values", values.into())?;
    let next = rollout.read_values("next_values", next_values.into())?;
    let advantages = rollout.backward_scan(|i| {
        let bootstrap = if rollout.terminated[i] {
            0.0
        } else {
            gamma * next[i]
        };
        let delta = f64::from(rollout.rewards[i]) + bootstrap - v[i];
        let carry = if rollout.boundary(i) {
            0.0
        } else {
            gamma * lambda
        };
        (delta, carry)
    });
    let returns = advantages.iter().zip(&v).map(|(a, v)| a + v).collect();
    Ok(Advantages {
        advantages: rollout.tensor(advantages),
        returns: rollout.tensor(returns),
    })
}
