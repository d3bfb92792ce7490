//! ILQL's losses.

use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;

use crate::error::{Error, Result};

/// The expectile regression loss `mean(|tau - 1(u < 0)| u^2)` with `u = targets - predictions`:
/// minimised over a constant prediction, it gives the `tau`-expectile of the targets. IQL and
/// ILQL fit `V(s)` to `Q(s, a)` of the dataset's actions with it: `tau = 0.5` is half the mean
/// squared error (the mean), and as `tau -> 1` the fit approaches the largest target (the best
/// action the data shows) without querying actions outside the data.
///
/// # Shapes
///
/// - `predictions`, `targets`: `[B]`; output `[1]`.
///
/// # Errors
///
/// [`Error::InvalidConfig`] unless `0 < tau < 1`; [`Error::ShapeMismatch`] for inputs of
/// different lengths.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::algo::ilql::expectile_loss;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let v = Tensor::<1>::from_floats([0.0, 0.0], &device);
/// let q = Tensor::<1>::from_floats([1.0, -2.0], &device);
/// // u = (1, -2): weights tau = 0.9 and 1 - tau = 0.1: (0.9 * 1 + 0.1 * 4) / 2 = 0.65.
/// let loss = to_vec_f32(expectile_loss(v, q, 0.9)?)[0];
/// assert!((loss - 0.65).abs() < 1e-6);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn expectile_loss(predictions: Tensor<1>, targets: Tensor<1>, tau: f64) -> Result<Tensor<1>> {
    if !(tau > 0.0 && tau < 1.0) {
        return Err(Error::config("tau", "in (0, 1)", tau));
    }
    if predictions.dims() != targets.dims() {
        return Err(Error::ShapeMismatch {
            what: "expectile loss targets (one per prediction)",
            expected: predictions.dims().to_vec(),
            actual: targets.dims().to_vec(),
        });
    }
    let u = targets - predictions;
    // |tau - 1(u < 0)|: tau where u >= 0, 1 - tau below.
    let below = u.clone().lower_elem(0.0).float();
    let weights = below.mul_scalar(1.0 - 2.0 * tau).add_scalar(tau);
    Ok((weights * u.square()).mean())
}

/// The conservative (CQL) penalty `mean(log sum_a exp Q(s, a) - Q(s, a_data))`: it pushes Q
/// down on all actions and up on the dataset's, so an offline learner does not trust actions the
/// data never tried. Always `>= 0` (a log-sum-exp exceeds each of its terms).
///
/// # Shapes
///
/// - `q_values`: `[B, A]`; `data_q`: `[B]`, `Q(s, a_data)` of each row; output `[1]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `data_q` does not have one value per row or there is no
/// action.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::algo::ilql::cql_loss;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let q = Tensor::<2>::from_floats([[0.0, 0.0]], &device);
/// let penalty = to_vec_f32(cql_loss(q, Tensor::from_floats([0.0], &device))?)[0];
/// assert!((penalty - 2f32.ln()).abs() < 1e-6); // log(e^0 + e^0) - 0
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn cql_loss(q_values: Tensor<2>, data_q: Tensor<1>) -> Result<Tensor<1>> {
    crate::tensor_ops::check_has_actions("CQL Q values (at least one action)", q_values.dims())?;
    let [rows, _] = q_values.dims();
    if data_q.dims() != [rows] {
        return Err(Error::ShapeMismatch {
            what: "CQL data-action values (one per row)",
            expected: vec![rows],
            actual: data_q.dims().to_vec(),
        });
    }
    // log sum exp Q = Q_a - log_softmax(Q)_a for any a: read it off at the first column, stably.
    let first = q_values.clone().narrow(1, 0, 1).squeeze_dim::<1>(1);
    let log_sum_exp = first - log_softmax(q_values, 1).narrow(1, 0, 1).squeeze_dim::<1>(1);
    Ok((log_sum_exp - data_q).mean())
}

/// Advantage-weighted regression of a policy on the dataset's actions (AWAC, Nair et al. 2020;
/// IQL's policy extraction): `-mean(min(exp(A / temperature), max_weight) * log pi(a|s))`, the
/// weights held constant (no gradient flows through the advantages). With `A = Q - V` from
/// [`crate::algo::ilql::Ilql`], the policy imitates the data's actions in proportion to how much
/// better than the state's value they were; small temperatures approach the best data action.
///
/// # Shapes
///
/// - `log_probs` (`log pi(a_data | s)`), `advantages`: `[B]`; output `[1]`.
///
/// # Errors
///
/// [`Error::InvalidConfig`] unless `temperature` lies in `[f32::MIN_POSITIVE, f32::MAX]` and
/// `max_weight` lies in `[1, f32::MAX]`; [`Error::ShapeMismatch`] for inputs of different lengths.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::algo::ilql::awac_loss;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let log_probs = Tensor::<1>::from_floats([-1.0, -2.0], &device);
/// let advantages = Tensor::<1>::from_floats([2f32.ln(), 10.0], &device);
/// // Weights exp(ln 2) = 2 and min(e^10, 5) = 5: -(2 * -1 + 5 * -2) / 2 = 6.
/// let loss = to_vec_f32(awac_loss(log_probs, advantages, 1.0, 5.0)?)[0];
/// assert!((loss - 6.0).abs() < 1e-5);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn awac_loss(
    log_probs: Tensor<1>,
    advantages: Tensor<1>,
    temperature: f64,
    max_weight: f64,
) -> Result<Tensor<1>> {
    crate::error::check_f32_scale("temperature", temperature)?;
    // The weights are exponentials in f32: a cap beyond f32::MAX would let them overflow.
    if !(1.0..=f64::from(f32::MAX)).contains(&max_weight) {
        return Err(Error::config("max_weight", "in [1, f32::MAX]", max_weight));
    }
    if log_probs.dims() != advantages.dims() {
        return Err(Error::ShapeMismatch {
            what: "AWAC advantages (one per log-probability)",
            expected: log_probs.dims().to_vec(),
            actual: advantages.dims().to_vec(),
        });
    }
    let weights = advantages
        .detach()
        .div_scalar(temperature)
        .clamp_max(max_weight.ln())
        .exp();
    Ok((weights * log_probs).mean().neg())
}
