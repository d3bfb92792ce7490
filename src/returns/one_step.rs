//! One-step bootstrap targets for Q-learning, double Q-learning and expected SARSA.
//!
//! These run as tensor ops on the batch's device: no recursion over time, one kernel each.

use burn::tensor::{Bool, Tensor};

use crate::error::{Error, Result, check_gamma};
use crate::tensor_ops::{check_has_actions, check_shape, to_vec_f32};

/// Checks `[B]` rewards and terminated flags against `[B, A]` next-state values (at least
/// one action), and that every reward and next-state value is finite (one scalar read-back;
/// the entries are read only when one is not).
pub(crate) fn check_batch(
    rewards: &Tensor<1>,
    terminated: &Tensor<1, Bool>,
    next: &Tensor<2>,
    gamma: f64,
) -> Result<()> {
    check_gamma(gamma)?;
    let [batch, _] = next.dims();
    check_has_actions("next-state Q values (at least one action)", next.dims())?;
    check_shape("rewards", rewards.dims(), [batch])?;
    check_shape("terminated", terminated.dims(), [batch])?;
    let all_finite = rewards
        .clone()
        .is_finite()
        .all()
        .bool_and(next.clone().is_finite().all())
        .into_scalar::<bool>();
    if all_finite {
        return Ok(());
    }
    if let Some(&r) = to_vec_f32(rewards.clone()).iter().find(|r| !r.is_finite()) {
        return Err(Error::NonFinite {
            what: "reward",
            value: f64::from(r),
        });
    }
    let bad = to_vec_f32(next.clone())
        .into_iter()
        .find(|q| !q.is_finite())
        .unwrap_or(f32::NAN);
    Err(Error::NonFinite {
        what: "next-state Q value",
        value: f64::from(bad),
    })
}

/// `r + gamma * (1 - terminated) * next`, the common tail of every one-step target.
pub(crate) fn bootstrap(
    rewards: Tensor<1>,
    terminated: Tensor<1, Bool>,
    next: Tensor<1>,
    gamma: f64,
) -> Tensor<1> {
    rewards + next.mask_fill(terminated, 0.0) * gamma
}

/// Q-learning targets `r + gamma max_a' Q(s', a')`, without the bootstrap where the transition
/// terminated (a truncated transition bootstraps from the true next state, as passed).
///
/// # Shapes
///
/// - `rewards`, `terminated`: `[B]`; `next_q`: `[B, A]`; output `[B]`.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a bad gamma, [`Error::ShapeMismatch`] (also for `next_q`
/// with no actions), [`Error::NonFinite`] for a NaN or infinite reward or next-state value.
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Tensor};
/// use valuefn::returns::q_learning_targets;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let rewards = Tensor::<1>::from_floats([1.0, 1.0], &device);
/// let next_q = Tensor::<2>::from_floats([[2.0, 4.0], [2.0, 4.0]], &device);
/// let terminated = Tensor::<1, Bool>::from_bool(burn::tensor::TensorData::from([false, true]), &device);
/// let y = q_learning_targets(rewards, next_q, terminated, 0.5)?;
/// assert_eq!(to_vec_f32(y), vec![3.0, 1.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn q_learning_targets(
    rewards: Tensor<1>,
    next_q: Tensor<2>,
    terminated: Tensor<1, Bool>,
    gamma: f64,
) -> Result<Tensor<1>> {
    check_batch(&rewards, &terminated, &next_q, gamma)?;
    Ok(q_learning_targets_unchecked(
        rewards, next_q, terminated, gamma,
    ))
}

/// [`q_learning_targets`] for inputs the caller has already validated.
pub(crate) fn q_learning_targets_unchecked(
    rewards: Tensor<1>,
    next_q: Tensor<2>,
    terminated: Tensor<1, Bool>,
    gamma: f64,
) -> Tensor<1> {
    bootstrap(rewards, terminated, next_q.max_dim(1).squeeze_dim(1), gamma)
}

/// Double Q-learning targets (van Hasselt et al. 2016): the online network picks
/// `a* = argmax_a' Q_online(s', a')`, the target network evaluates it:
/// `r + gamma Q_target(s', a*)`, no bootstrap where terminated.
///
/// # Shapes
///
/// - `rewards`, `terminated`: `[B]`; `next_q_online`, `next_q_target`: `[B, A]`; output `[B]`.
///
/// # Errors
///
/// As [`q_learning_targets`], and [`Error::ShapeMismatch`] when the two Q tensors differ.
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Tensor};
/// use valuefn::returns::double_q_targets;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let online = Tensor::<2>::from_floats([[1.0, 0.0]], &device); // picks action 0
/// let target = Tensor::<2>::from_floats([[5.0, 9.0]], &device); // evaluates it at 5
/// let y = double_q_targets(
///     Tensor::from_floats([0.0], &device),
///     online,
///     target,
///     Tensor::from_bool(burn::tensor::TensorData::from([false]), &device),
///     1.0,
/// )?;
/// assert_eq!(to_vec_f32(y), vec![5.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn double_q_targets(
    rewards: Tensor<1>,
    next_q_online: Tensor<2>,
    next_q_target: Tensor<2>,
    terminated: Tensor<1, Bool>,
    gamma: f64,
) -> Result<Tensor<1>> {
    check_batch(&rewards, &terminated, &next_q_target, gamma)?;
    check_shape("next_q_online", next_q_online.dims(), next_q_target.dims())?;
    let chosen = next_q_online.argmax(1);
    let evaluated = next_q_target.gather(1, chosen).squeeze_dim(1);
    Ok(bootstrap(rewards, terminated, evaluated, gamma))
}

/// Expected SARSA targets `r + gamma sum_a' pi(a'|s') Q(s', a')` under the given action
/// probabilities, no bootstrap where terminated.
///
/// # Shapes
///
/// - `rewards`, `terminated`: `[B]`; `next_q`, `next_probabilities`: `[B, A]`; output `[B]`.
///
/// # Errors
///
/// As [`q_learning_targets`], and [`Error::ShapeMismatch`] when the probabilities' shape
/// differs from `next_q`'s.
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Tensor};
/// use valuefn::returns::expected_sarsa_targets;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let y = expected_sarsa_targets(
///     Tensor::from_floats([1.0], &device),
///     Tensor::from_floats([[2.0, 4.0]], &device),
///     Tensor::from_floats([[0.75, 0.25]], &device),
///     Tensor::from_bool(burn::tensor::TensorData::from([false]), &device),
///     1.0,
/// )?;
/// assert_eq!(to_vec_f32(y), vec![3.5]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn expected_sarsa_targets(
    rewards: Tensor<1>,
    next_q: Tensor<2>,
    next_probabilities: Tensor<2>,
    terminated: Tensor<1, Bool>,
    gamma: f64,
) -> Result<Tensor<1>> {
    check_batch(&rewards, &terminated, &next_q, gamma)?;
    check_shape(
        "next_probabilities",
        next_probabilities.dims(),
        next_q.dims(),
    )?;
    Ok(expected_sarsa_targets_unchecked(
        rewards,
        next_q,
        next_probabilities,
        terminated,
        gamma,
    ))
}

/// [`expected_sarsa_targets`] for inputs the caller has already validated.
pub(crate) fn expected_sarsa_targets_unchecked(
    rewards: Tensor<1>,
    next_q: Tensor<2>,
    next_probabilities: Tensor<2>,
    terminated: Tensor<1, Bool>,
    gamma: f64,
) -> Tensor<1> {
    let expected = (next_q * next_probabilities).sum_dim(1).squeeze_dim(1);
    bootstrap(rewards, terminated, expected, gamma)
}

/// Checks per-row discounts `[B]` and rewards `[B]`: shapes, finite rewards, discounts in
/// `[0, 1]`, with one scalar read-back (the details are read only when something is wrong).
fn check_discounted_batch(
    rewards: &Tensor<1>,
    terminated: &Tensor<1, Bool>,
    discounts: &Tensor<1>,
    batch: usize,
) -> Result<()> {
    check_shape("rewards", rewards.dims(), [batch])?;
    check_shape("terminated", terminated.dims(), [batch])?;
    check_shape("discounts", discounts.dims(), [batch])?;
    let bad_reward = rewards.clone().is_finite().bool_not();
    let bad_discount = discounts
        .clone()
        .lower_elem(0.0)
        .bool_or(discounts.clone().greater_elem(1.0))
        .bool_or(discounts.clone().is_nan());
    let any_bad = bad_reward.bool_or(bad_discount).any().into_scalar::<bool>();
    if !any_bad {
        return Ok(());
    }
    if let Some(&r) = to_vec_f32(rewards.clone()).iter().find(|r| !r.is_finite()) {
        return Err(Error::NonFinite {
            what: "reward",
            value: f64::from(r),
        });
    }
    let bad = to_vec_f32(discounts.clone())
        .into_iter()
        .find(|d| !(0.0..=1.0).contains(d))
        .unwrap_or(f32::NAN);
    Err(Error::config("discounts", "in [0, 1]", bad))
}

/// [`q_learning_targets`] with a discount per row: `r + discounts * max_a' Q(s', a')`, no
/// bootstrap where terminated.
///
/// This is the target of n-step replay, where row `i` summed `k_i <= n` rewards (fewer where
/// the episode ended inside the window) and bootstraps with `discounts[i] = gamma^k_i`.
///
/// # Shapes
///
/// - `rewards`, `terminated`, `discounts`: `[B]`; `next_q`: `[B, A]`; output `[B]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`], [`Error::NonFinite`] for a NaN or infinite reward,
/// [`Error::InvalidConfig`] for a discount outside `[0, 1]`.
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Tensor, TensorData};
/// use valuefn::returns::q_learning_targets_discounted;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let y = q_learning_targets_discounted(
///     Tensor::from_floats([1.0, 1.0], &device),
///     Tensor::from_floats([[2.0, 4.0], [2.0, 4.0]], &device),
///     Tensor::from_bool(TensorData::from([false, false]), &device),
///     Tensor::from_floats([0.5, 0.25], &device), // gamma = 0.5 after one and two steps
/// )?;
/// assert_eq!(to_vec_f32(y), vec![3.0, 2.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn q_learning_targets_discounted(
    rewards: Tensor<1>,
    next_q: Tensor<2>,
    terminated: Tensor<1, Bool>,
    discounts: Tensor<1>,
) -> Result<Tensor<1>> {
    check_has_actions("next-state Q values (at least one action)", next_q.dims())?;
    value_targets_discounted(
        rewards,
        next_q.max_dim(1).squeeze_dim(1),
        terminated,
        discounts,
    )
}

/// One-step targets from next-state *values* with a discount per row:
/// `r + discounts * (1 - terminated) * V(s')`. The target of ILQL's Q heads (`V` the expectile
/// value head), of a critic's TD(0) target, and the common tail of the discounted Q targets.
///
/// # Shapes
///
/// - `rewards`, `next_values`, `terminated`, `discounts`: `[B]`; output `[B]`.
///
/// # Errors
///
/// As [`q_learning_targets_discounted`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Tensor, TensorData};
/// use valuefn::returns::value_targets_discounted;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let y = value_targets_discounted(
///     Tensor::from_floats([1.0, 1.0], &device),
///     Tensor::from_floats([4.0, 4.0], &device),
///     Tensor::from_bool(TensorData::from([false, true]), &device),
///     Tensor::from_floats([0.5, 0.5], &device),
/// )?;
/// assert_eq!(to_vec_f32(y), vec![3.0, 1.0]); // the terminated row does not bootstrap
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn value_targets_discounted(
    rewards: Tensor<1>,
    next_values: Tensor<1>,
    terminated: Tensor<1, Bool>,
    discounts: Tensor<1>,
) -> Result<Tensor<1>> {
    let [batch] = next_values.dims();
    check_discounted_batch(&rewards, &terminated, &discounts, batch)?;
    Ok(rewards + next_values.mask_fill(terminated, 0.0) * discounts)
}

/// [`double_q_targets`] with a discount per row (see [`q_learning_targets_discounted`]):
/// `r + discounts * Q_target(s', argmax_a' Q_online(s', a'))`, no bootstrap where terminated.
///
/// # Shapes
///
/// - `rewards`, `terminated`, `discounts`: `[B]`; `next_q_online`, `next_q_target`: `[B, A]`;
///   output `[B]`.
///
/// # Errors
///
/// As [`q_learning_targets_discounted`], and [`Error::ShapeMismatch`] when the two Q tensors
/// differ.
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Tensor, TensorData};
/// use valuefn::returns::double_q_targets_discounted;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let y = double_q_targets_discounted(
///     Tensor::from_floats([0.0], &device),
///     Tensor::from_floats([[1.0, 0.0]], &device), // the online network picks action 0
///     Tensor::from_floats([[5.0, 9.0]], &device), // the target network values it at 5
///     Tensor::from_bool(TensorData::from([false]), &device),
///     Tensor::from_floats([0.5], &device),
/// )?;
/// assert_eq!(to_vec_f32(y), vec![2.5]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn double_q_targets_discounted(
    rewards: Tensor<1>,
    next_q_online: Tensor<2>,
    next_q_target: Tensor<2>,
    terminated: Tensor<1, Bool>,
    discounts: Tensor<1>,
) -> Result<Tensor<1>> {
    check_has_actions(
        "next-state Q values (at least one action)",
        next_q_target.dims(),
    )?;
    check_shape("next_q_online", next_q_online.dims(), next_q_target.dims())?;
    let chosen = next_q_online.argmax(1);
    let evaluated = next_q_target.gather(1, chosen).squeeze_dim(1);
    value_targets_discounted(rewards, evaluated, terminated, discounts)
}
