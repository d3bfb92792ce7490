//! Sample estimators of a KL divergence from log-probabilities (Schulman's k1, k2, k3).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// How one sample `x ~ p` estimates `KL(p || q)`, with `l = log q(x) - log p(x)`
/// (J. Schulman, "Approximating KL divergence", 2020).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KlEstimator {
    /// `-l`: unbiased, high variance, negative on some samples.
    K1,
    /// `l^2 / 2`: non-negative, low variance, biased (exact to second order when `q` is close
    /// to `p`).
    K2,
    /// `(exp(l) - 1) - l`: unbiased and non-negative (what PPO's `approx_kl` reports).
    K3,
}

/// Per-sample estimates of `KL(p || q)` from `log p(x)` and `log q(x)` of samples `x ~ p`; the
/// mean over samples estimates the divergence. For KL-regularised fine-tuning of a language
/// model, `p` is the policy being trained and `q` the frozen reference `pi_ref`, per generated
/// token.
///
/// # Shapes
///
/// - `log_p`, `log_q`: `[B]`; output `[B]`.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::policy::{KlEstimator, kl_estimates};
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// // p = (1/2, 1/2), q = (1/4, 3/4): one estimate per action, weighted by p below.
/// let log_p = Tensor::<1>::from_floats([0.5f32.ln(), 0.5f32.ln()], &device);
/// let log_q = Tensor::<1>::from_floats([0.25f32.ln(), 0.75f32.ln()], &device);
/// let exact = 0.5 * (2.0f32).ln() + 0.5 * (2.0f32 / 3.0).ln();
/// for estimator in [KlEstimator::K1, KlEstimator::K3] {
///     let k = to_vec_f32(kl_estimates(log_p.clone(), log_q.clone(), estimator));
///     assert!((0.5 * k[0] + 0.5 * k[1] - exact).abs() < 1e-6); // unbiased
/// }
/// ```
pub fn kl_estimates(log_p: Tensor<1>, log_q: Tensor<1>, estimator: KlEstimator) -> Tensor<1> {
    let log_ratio = log_q - log_p;
    match estimator {
        KlEstimator::K1 => log_ratio.neg(),
        KlEstimator::K2 => log_ratio.square().div_scalar(2.0),
        KlEstimator::K3 => log_ratio.clone().exp().sub_scalar(1.0) - log_ratio,
    }
}
