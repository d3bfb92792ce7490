//! V-trace off-policy targets (Espeholt et al. 2018).

use burn::config::Config;
use burn::tensor::Tensor;

use crate::error::{Result, check_gamma, check_positive, check_unit_interval};
use crate::returns::{Rollout, Values};

/// Settings of [`vtrace`].
#[derive(Config, Debug, PartialEq)]
pub struct VTraceConfig {
    /// Discount factor, in `[0, 1]`.
    #[config(default = 0.99)]
    pub gamma: f64,
    /// Extra trace cutting `c_t <- lambda * c_t` (the paper's remark 2), in `[0, 1]`.
    #[config(default = 1.0)]
    pub lambda: f64,
    /// `rho_bar`: clip of the importance weights in the TD errors and the policy-gradient
    /// advantages (finite, > 0). It sets which policy's value V-trace converges to.
    #[config(default = 1.0)]
    pub clip_rho: f64,
    /// `c_bar`: clip of the trace weights (finite, > 0). It sets the speed of convergence.
    #[config(default = 1.0)]
    pub clip_c: f64,
}

impl VTraceConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        check_gamma(self.gamma)?;
        check_unit_interval("lambda", self.lambda)?;
        check_positive("clip_rho", self.clip_rho)?;
        check_positive("clip_c", self.clip_c)
    }
}

/// V-trace value targets and policy-gradient advantages.
#[derive(Debug, Clone)]
pub struct VTrace {
    /// The V-trace targets `v_s`, `[T, B]`.
    pub targets: Tensor<2>,
    /// `rho_s (r_s + gamma v_{s+1} - V(x_s))`, `[T, B]`.
    pub advantages: Tensor<2>,
}

/// V-trace targets (Espeholt et al. 2018, eq. 1, in its recursive form):
///
/// ```text
/// rho_t   = min(clip_rho, pi(a_t|x_t) / mu(a_t|x_t)),   c_t = lambda * min(clip_c, pi / mu)
/// delta_t = rho_t (r_t + gamma V'_t - V_t)
/// v_t     = V_t + delta_t + gamma c_t (v_{t+1} - V_{t+1})
/// adv_t   = rho_t (r_t + gamma v'_{t+1} - V_t)
/// ```
///
/// The trace stops where a step ends an episode or the rollout; there `v'_{t+1} = V'_t`
/// (dropped, with `gamma V'_t`, where the step terminated), elsewhere `v'_{t+1} = v_{t+1}`.
/// `log_rhos[t] = log pi(a_t|x_t) - log mu(a_t|x_t)`. On-policy (`log_rhos = 0`, clips and
/// `lambda` 1) the targets are the TD(lambda = 1) returns.
///
/// # Shapes
///
/// - `values`, `next_values` (a tensor, or host values as [`Values`]), `log_rhos`: `[T, B]`;
///   outputs `[T, B]`.
///
/// # Errors
///
/// [`crate::Error::InvalidConfig`] for a bad config; [`crate::Error::ShapeMismatch`] or
/// [`crate::Error::NonFinite`] for bad tensors.
///
/// # Example
///
/// ```
/// use valuefn::returns::{vtrace, Rollout, VTraceConfig};
/// use valuefn::tensor_ops::{float_tensor, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// let rollout = Rollout::new(1, 1, vec![1.0], vec![true], vec![false], &device)?;
/// let v = |x: f64| float_tensor(&[x], [1, 1], &device);
/// // The behaviour policy took the action twice as often as the target would: rho = 0.5.
/// let out = vtrace(&rollout, v(0.0), v(0.0), v(0.5f64.ln()), &VTraceConfig::new())?;
/// assert_eq!(to_vec_f32(out.targets), vec![0.5]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn vtrace<'v>(
    rollout: &Rollout,
    values: impl Into<Values<'v>>,
    next_values: impl Into<Values<'v>>,
    log_rhos: Tensor<2>,
    config: &VTraceConfig,
) -> Result<VTrace> {
    config.validate()?;
    let gamma = config.gamma;
    let v = rollout.read_values("values", values.into())?;
    let next = rollout.read_values("next_values", next_values.into())?;
    let ratios: Vec<f64> = rollout
        .read("log_rhos", log_rhos)?
        .into_iter()
        .map(f64::exp)
        .collect();
    let rho = |i: usize| ratios[i].min(config.clip_rho);
    let one_step = |i: usize| {
        let bootstrap = if rollout.terminated[i] {
            0.0
        } else {
            gamma * next[i]
        };
        f64::from(rollout.rewards[i]) + bootstrap
    };
    let corrections = rollout.backward_scan(|i| {
        let delta = rho(i) * (one_step(i) - v[i]);
        let trace = if rollout.boundary(i) {
            0.0
        } else {
            gamma * config.lambda * ratios[i].min(config.clip_c)
        };
        (delta, trace)
    });
    let targets: Vec<f64> = corrections.iter().zip(&v).map(|(y, v)| y + v).collect();
    let envs = rollout.shape()[1];
    let advantages = (0..targets.len())
        .map(|i| {
            let ahead = if rollout.boundary(i) {
                one_step(i)
            } else {
                f64::from(rollout.rewards[i]) + gamma * targets[i + envs]
            };
            rho(i) * (ahead - v[i])
        })
        .collect();
    Ok(VTrace {
        targets: rollout.tensor(targets),
        advantages: rollout.tensor(advantages),
    })
}
