//! The actor-critic losses as pure functions on tensors, so users can compose their own.
//!
//! Each returns a `[1]` tensor (a mean over the batch) that stays on the autodiff graph of its
//! inputs; the statistics ([`approx_kl`], [`clip_fraction`]) are for reporting and carry no
//! gradient of interest.
//!
//! Each checks its inputs first (only their shapes and its scalars: nothing is read back):
//! columns of different lengths would broadcast a single row silently or panic inside burn, and
//! an empty batch would give a NaN mean.

use burn::tensor::Tensor;

use crate::error::{Error, Result};
use crate::policy::{KlEstimator, kl_estimates};

/// Checks that every column is `[B]` with the first one's `B >= 1`.
fn check_columns(columns: &[(&'static str, &Tensor<1>)]) -> Result<()> {
    let [len] = columns[0].1.dims();
    if len == 0 {
        return Err(Error::Empty {
            what: "batch of a loss",
        });
    }
    for &(what, column) in &columns[1..] {
        crate::tensor_ops::check_shape(what, column.dims(), [len])?;
    }
    Ok(())
}

/// Checks a clip range: `>= 0` (infinite: no clipping; NaN fails).
fn check_clip_range(clip_range: f64) -> Result<()> {
    if clip_range >= 0.0 {
        Ok(())
    } else {
        Err(Error::config("clip_range", ">= 0", clip_range))
    }
}

/// The policy-gradient loss `-mean_i A_i log pi(a_i | s_i)` (A2C; the advantages are
/// constants).
///
/// # Shapes
///
/// - `log_probs`, `advantages`: `[B]`; output `[1]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for columns of different lengths, [`Error::Empty`] for an empty
/// batch.
///
/// # Example
///
/// ```
/// use burn::Tensor;
/// use valuefn::algo::actor_critic::policy_gradient_loss;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let log_probs = Tensor::<1>::from_floats([-1.0, -2.0], &device);
/// let advantages = Tensor::<1>::from_floats([2.0, -1.0], &device);
/// // -((2 * -1) + (-1 * -2)) / 2 = 0
/// assert_eq!(to_vec_f32(policy_gradient_loss(log_probs.clone(), advantages)?), vec![0.0]);
/// // One advantage for two actions would broadcast: refused.
/// assert!(policy_gradient_loss(log_probs, Tensor::from_floats([1.0], &device)).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn policy_gradient_loss(log_probs: Tensor<1>, advantages: Tensor<1>) -> Result<Tensor<1>> {
    check_columns(&[("log_probs", &log_probs), ("advantages", &advantages)])?;
    Ok((log_probs * advantages).mean().neg())
}

/// PPO's clipped surrogate loss
/// `-mean_i min(r_i A_i, clip(r_i, 1 - eps, 1 + eps) A_i)` with the probability ratio
/// `r_i = exp(log pi(a_i|s_i) - log pi_old(a_i|s_i))`.
///
/// # Shapes
///
/// - `log_probs`, `old_log_probs`, `advantages`: `[B]`; output `[1]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for columns of different lengths, [`Error::Empty`] for an empty
/// batch, [`Error::InvalidConfig`] for a clip range that is negative or NaN.
///
/// # Example
///
/// ```
/// use burn::Tensor;
/// use valuefn::algo::actor_critic::clipped_surrogate_loss;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let old = Tensor::<1>::from_floats([0.0, 0.0], &device);
/// let new = Tensor::<1>::from_floats([0.5f32.ln(), 2f32.ln()], &device); // ratios 0.5 and 2
/// let advantages = Tensor::<1>::from_floats([1.0, 1.0], &device);
/// // min(0.5, 0.8) = 0.5 and min(2, 1.2) = 1.2: loss -(0.5 + 1.2) / 2
/// let loss = to_vec_f32(clipped_surrogate_loss(new, old, advantages, 0.2)?)[0];
/// assert!((loss + 0.85).abs() < 1e-6);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn clipped_surrogate_loss(
    log_probs: Tensor<1>,
    old_log_probs: Tensor<1>,
    advantages: Tensor<1>,
    clip_range: f64,
) -> Result<Tensor<1>> {
    check_clip_range(clip_range)?;
    check_columns(&[
        ("log_probs", &log_probs),
        ("old_log_probs", &old_log_probs),
        ("advantages", &advantages),
    ])?;
    let ratio = (log_probs - old_log_probs).exp();
    let unclipped = ratio.clone() * advantages.clone();
    let clipped = ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * advantages;
    Ok(unclipped.min_pair(clipped).mean().neg())
}

/// The critic's squared error `mean_i (V(s_i) - R_i)^2` (PyTorch's `mse_loss`, the value
/// loss of Stable-Baselines3, which weighs it by the value coefficient).
///
/// # Shapes
///
/// - `values`, `returns`: `[B]`; output `[1]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for columns of different lengths, [`Error::Empty`] for an empty
/// batch.
pub fn value_loss(values: Tensor<1>, returns: Tensor<1>) -> Result<Tensor<1>> {
    check_columns(&[("values", &values), ("returns", &returns)])?;
    Ok((values - returns).square().mean())
}

/// The clipped value loss of OpenAI baselines' PPO2:
/// `mean_i max((V_i - R_i)^2, (V_old,i + clip(V_i - V_old,i, -c, c) - R_i)^2)`, which keeps
/// the critic from moving far from the values the rollout was scored with.
///
/// # Shapes
///
/// - `values`, `old_values`, `returns`: `[B]`; output `[1]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for columns of different lengths, [`Error::Empty`] for an empty
/// batch, [`Error::InvalidConfig`] for a clip range that is negative or NaN.
///
/// # Example
///
/// ```
/// use burn::Tensor;
/// use valuefn::algo::actor_critic::clipped_value_loss;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let t = |x: [f32; 1]| Tensor::<1>::from_floats(x, &device);
/// // V moved from 0 to 1 with return 2: clipped to 0.2, error 1.8^2 beats 1^2.
/// let loss = to_vec_f32(clipped_value_loss(t([1.0]), t([0.0]), t([2.0]), 0.2)?)[0];
/// assert!((loss - 3.24).abs() < 1e-5);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn clipped_value_loss(
    values: Tensor<1>,
    old_values: Tensor<1>,
    returns: Tensor<1>,
    clip_range: f64,
) -> Result<Tensor<1>> {
    check_clip_range(clip_range)?;
    check_columns(&[
        ("values", &values),
        ("old_values", &old_values),
        ("returns", &returns),
    ])?;
    let clipped = old_values.clone() + (values.clone() - old_values).clamp(-clip_range, clip_range);
    let unclipped_error = (values - returns.clone()).square();
    let clipped_error = (clipped - returns).square();
    Ok(unclipped_error.max_pair(clipped_error).mean())
}

/// The approximate KL divergence `KL(pi_old || pi)` from the log-ratios `l = log pi -
/// log pi_old` of the sampled actions, by the unbiased, non-negative estimator
/// `mean((exp(l) - 1) - l)` (Schulman's k3: [`crate::policy::kl_estimates`]; Stable-Baselines3's
/// `approx_kl`).
///
/// # Shapes
///
/// - `log_probs`, `old_log_probs`: `[B]`; output `[1]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for columns of different lengths, [`Error::Empty`] for an empty
/// batch.
pub fn approx_kl(log_probs: Tensor<1>, old_log_probs: Tensor<1>) -> Result<Tensor<1>> {
    check_columns(&[("log_probs", &log_probs), ("old_log_probs", &old_log_probs)])?;
    Ok(kl_estimates(old_log_probs, log_probs, KlEstimator::K3).mean())
}

/// The fraction of ratios `pi / pi_old` outside `[1 - clip_range, 1 + clip_range]`.
///
/// # Shapes
///
/// - `log_probs`, `old_log_probs`: `[B]`; output `[1]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for columns of different lengths, [`Error::Empty`] for an empty
/// batch, [`Error::InvalidConfig`] for a clip range that is negative or NaN.
pub fn clip_fraction(
    log_probs: Tensor<1>,
    old_log_probs: Tensor<1>,
    clip_range: f64,
) -> Result<Tensor<1>> {
    check_clip_range(clip_range)?;
    check_columns(&[("log_probs", &log_probs), ("old_log_probs", &old_log_probs)])?;
    Ok((log_probs - old_log_probs)
        .exp()
        .sub_scalar(1.0)
        .abs()
        .greater_elem(clip_range)
        .float()
        .mean())
}

/// Standardises to mean 0 and (unbiased) standard deviation 1, with `1e-8` added to the
/// deviation as Stable-Baselines3 does; a single element is left as it is (its deviation is
/// undefined).
///
/// # Shapes
///
/// - `advantages`: `[B]`; output `[B]`.
pub fn normalize_advantages(advantages: Tensor<1>) -> Tensor<1> {
    let n = advantages.dims()[0];
    if n < 2 {
        return advantages;
    }
    let mean = advantages.clone().mean();
    let centered = advantages - mean;
    let std = centered
        .clone()
        .square()
        .sum()
        .div_scalar((n - 1) as f64)
        .sqrt();
    centered / std.add_scalar(1e-8)
}

/// `1 - Var(R - V) / Var(R)`: the fraction of the returns' variance the critic explains (1 is
/// perfect, 0 no better than a constant, negative worse); `NaN` when the returns are
/// constant, as in Stable-Baselines3.
///
/// # Errors
///
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the two slices differ in
/// length (a prediction per return).
///
/// # Example
///
/// ```
/// use valuefn::algo::actor_critic::explained_variance;
///
/// assert_eq!(explained_variance(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0])?, 1.0);
/// assert_eq!(explained_variance(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0])?, 0.0);
/// assert!(explained_variance(&[1.0], &[1.0, 2.0, 3.0]).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn explained_variance(predictions: &[f32], returns: &[f32]) -> crate::Result<f64> {
    if predictions.len() != returns.len() {
        return Err(crate::Error::ShapeMismatch {
            what: "predictions (one per return)",
            expected: vec![returns.len()],
            actual: vec![predictions.len()],
        });
    }
    let variance = |x: &mut dyn Iterator<Item = f64>| {
        let values: Vec<f64> = x.collect();
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
    };
    let var_returns = variance(&mut returns.iter().map(|&r| f64::from(r)));
    if var_returns == 0.0 {
        return Ok(f64::NAN);
    }
    let var_residual = variance(
        &mut predictions
            .iter()
            .zip(returns)
            .map(|(&p, &r)| f64::from(r) - f64::from(p)),
    );
    Ok(1.0 - var_residual / var_returns)
}
