//! Soft (entropy-regularised) Bellman backups.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Tensor};

use crate::error::Result;
use crate::error::check_f32_scale;
use crate::returns::one_step::{bootstrap, check_batch, value_targets_discounted};
use crate::tensor_ops::{check_has_actions, check_log_probs, check_shape};

/// The soft value `V(s) = tau * log sum_a pi_ref(a|s) exp(Q(s, a) / tau)`.
///
/// `log_reference` holds `log pi_ref(a|s)`; `None` means the uniform reference
/// `pi_ref = 1/|A|`. It is computed with the max-shift (`m + log sum exp(x - m)`), so Q values
/// of `1e4` with a small `tau` do not overflow.
///
/// Limits, with the uniform reference: `V -> max_a Q` as `tau -> 0` and `V -> mean_a Q` as
/// `tau -> infinity`, and always `mean <= V <= max`. The *unweighted* log-sum-exp
/// `tau * log sum_a exp(Q / tau)` (pass `log_reference` of zeros) is the uniform value plus
/// `tau * log |A|`, which grows without bound in `tau`.
///
/// # Shapes
///
/// - `q`, `log_reference`: `[B, A]`; output `[B]`.
///
/// # Errors
///
/// [`crate::Error::InvalidConfig`] unless `tau` lies in `[f32::MIN_POSITIVE, f32::MAX]`
/// (the tensors divide by it in `f32`); [`crate::Error::ShapeMismatch`] when `q` has no
/// actions or `log_reference` differs from `q` in shape; [`crate::Error::NonFinite`] when
/// `log_reference` holds NaN or `+inf` (`-inf`, an action the reference never takes, is
/// fine).
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::returns::soft_values;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let q = Tensor::<2>::from_floats([[1e4, 0.0]], &device);
/// let v = to_vec_f32(soft_values(q.clone(), 0.01, None)?);
/// assert!((v[0] - 1e4).abs() < 1.0); // close to the max, no overflow
/// let v = to_vec_f32(soft_values(Tensor::from_floats([[1.0, 3.0]], &device), 1e3, None)?);
/// assert!((v[0] - 2.0).abs() < 1e-2); // close to the mean
/// let nan = Tensor::<2>::from_floats([[0.0, f32::NAN]], &device);
/// assert!(soft_values(q.clone(), 1.0, Some(nan)).is_err()); // it used to return NaN
/// let never = Tensor::<2>::from_floats([[0.0, f32::NEG_INFINITY]], &device);
/// assert_eq!(to_vec_f32(soft_values(q, 1.0, Some(never))?), vec![1e4]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn soft_values(q: Tensor<2>, tau: f64, log_reference: Option<Tensor<2>>) -> Result<Tensor<1>> {
    check_f32_scale("tau", tau)?;
    check_has_actions("Q values (at least one action)", q.dims())?;
    let [_, actions] = q.dims();
    // V = max_a Q + tau * log sum_a pi_ref exp((Q - max_a Q) / tau): the shifted values are
    // <= 0, so no tau in range overflows, and tau multiplies a number of order log |A|.
    let q_max = q.clone().max_dim(1);
    let scaled = (q - q_max.clone()) / tau;
    let logits = match log_reference {
        Some(log_pi) => {
            check_shape("log_reference", log_pi.dims(), scaled.dims())?;
            check_log_probs("log_reference (a log-probability)", &log_pi)?;
            scaled + log_pi
        }
        None => scaled - (actions as f64).ln(),
    };
    let max = logits.clone().max_dim(1);
    let log_sum = (logits - max.clone()).exp().sum_dim(1).log() + max;
    Ok((log_sum * tau + q_max).squeeze_dim(1))
}

/// Soft Q targets `r + gamma V_soft(s')`, no bootstrap where the transition terminated; see
/// [`soft_values`] for `tau` and `log_reference`.
///
/// # Shapes
///
/// - `rewards`, `terminated`: `[B]`; `next_q`, `log_reference`: `[B, A]`; output `[B]`.
///
/// # Errors
///
/// As [`soft_values`], plus [`crate::Error::InvalidConfig`] for a bad gamma,
/// [`crate::Error::ShapeMismatch`] and [`crate::Error::NonFinite`] for bad rewards.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::returns::soft_q_targets;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let y = soft_q_targets(
///     Tensor::from_floats([1.0], &device),
///     Tensor::from_floats([[0.0, 0.0]], &device),
///     Tensor::from_bool(burn::tensor::TensorData::from([false]), &device),
///     0.5,
///     1.0,
///     None,
/// )?;
/// assert_eq!(to_vec_f32(y), vec![1.0]); // uniform reference, equal Q: V_soft = 0
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn soft_q_targets(
    rewards: Tensor<1>,
    next_q: Tensor<2>,
    terminated: Tensor<1, Bool>,
    gamma: f64,
    tau: f64,
    log_reference: Option<Tensor<2>>,
) -> Result<Tensor<1>> {
    check_batch(&rewards, &terminated, &next_q, gamma)?;
    let next = soft_values(next_q, tau, log_reference)?;
    Ok(bootstrap(rewards, terminated, next, gamma))
}

/// [`soft_q_targets`] with a discount per row (as [`crate::returns::q_learning_targets_discounted`]):
/// `r + discounts * (1 - terminated) * V_soft(s')`. What token-level soft Q-learning
/// ([`crate::algo::dqn::SoftQ`]) regresses its Q head on, with `log_reference` the frozen
/// reference model's log-probabilities at `s'`.
///
/// # Shapes
///
/// - `rewards`, `terminated`, `discounts`: `[B]`; `next_q`, `log_reference`: `[B, A]`;
///   output `[B]`.
///
/// # Errors
///
/// As [`soft_values`] and [`crate::returns::value_targets_discounted`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Tensor, TensorData};
/// use valuefn::returns::soft_q_targets_discounted;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// // pi_ref = (1/2, 1/2), Q(s', .) = (0, 0): V_soft = 0 at any tau.
/// let y = soft_q_targets_discounted(
///     Tensor::from_floats([1.0], &device),
///     Tensor::from_floats([[0.0, 0.0]], &device),
///     Tensor::from_bool(TensorData::from([false]), &device),
///     Tensor::from_floats([0.9], &device),
///     0.5,
///     Some(Tensor::from_floats([[0.5f32.ln(), 0.5f32.ln()]], &device)),
/// )?;
/// assert!((to_vec_f32(y)[0] - 1.0).abs() < 1e-6);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn soft_q_targets_discounted(
    rewards: Tensor<1>,
    next_q: Tensor<2>,
    terminated: Tensor<1, Bool>,
    discounts: Tensor<1>,
    tau: f64,
    log_reference: Option<Tensor<2>>,
) -> Result<Tensor<1>> {
    let next = soft_values(next_q, tau, log_reference)?;
    value_targets_discounted(rewards, next, terminated, discounts)
}

/// The soft-optimal policy's log-probabilities `log pi(a|s) = log pi_ref(a|s) + (Q(s, a) -
/// V_soft(s)) / tau` (`V_soft` is [`soft_values`]), computed as `log_softmax(log pi_ref + (Q -
/// max Q) / tau)` so every row is normalised to rounding even where `V_soft`'s own `f32`
/// rounding, divided by a small `tau`, would not be. The policy that
/// soft Q-learning's Q head induces, and the one [`crate::tabular::soft_value_iteration`] returns
/// for exact soft values.
///
/// # Shapes
///
/// - `q`, `log_reference`: `[B, A]`; output `[B, A]`.
///
/// # Errors
///
/// As [`soft_values`].
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::returns::soft_policy_log_probs;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// // Uniform reference, tau = 1: pi = softmax(Q) = (1/3, 2/3) for Q = (0, ln 2).
/// let log_pi = soft_policy_log_probs(Tensor::from_floats([[0.0, 2f32.ln()]], &device), 1.0, None)?;
/// let pi: Vec<f32> = to_vec_f32(log_pi).into_iter().map(f32::exp).collect();
/// assert!((pi[0] - 1.0 / 3.0).abs() < 1e-6 && (pi[1] - 2.0 / 3.0).abs() < 1e-6);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn soft_policy_log_probs(
    q: Tensor<2>,
    tau: f64,
    log_reference: Option<Tensor<2>>,
) -> Result<Tensor<2>> {
    check_f32_scale("tau", tau)?;
    check_has_actions("Q values (at least one action)", q.dims())?;
    let q_max = q.clone().max_dim(1);
    let scaled = (q - q_max) / tau;
    let logits = match log_reference {
        Some(log_pi) => {
            check_shape("log_reference", log_pi.dims(), scaled.dims())?;
            check_log_probs("log_reference (a log-probability)", &log_pi)?;
            scaled + log_pi
        }
        // A uniform reference adds the same constant to every action.
        None => scaled,
    };
    Ok(log_softmax(logits, 1))
}
