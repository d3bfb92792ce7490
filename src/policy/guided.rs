//! Value-guided logits and the exact KL divergence between two categorical policies.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, softmax};

use crate::error::{Error, Result, check_finite};
use crate::tensor_ops::check_shape;

/// Value-guided logits `log pi_ref(a|s) + weight * (Q(s, a) - V(s))`: the reference policy
/// tilted toward actions its value function rates above the state's value (ILQL's decoding rule
/// with `weight = beta`). With `V` the soft value of `Q` under `pi_ref` at temperature `tau` and
/// `weight = 1 / tau` these are exactly the soft-optimal policy's log-probabilities
/// ([`crate::returns::soft_policy_log_probs`]); with any other `V` they are logits (`V` shifts
/// every action of a row alike, so a softmax does not see it).
///
/// # Shapes
///
/// - `log_reference`, `q`: `[B, A]`; `values`: `[B]`; output `[B, A]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] for shapes that disagree; [`Error::InvalidConfig`] for a negative
/// weight or one above `f32::MAX`, [`Error::NonFinite`] for one that is not finite.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::policy::guided_logits;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let log_ref = Tensor::<2>::from_floats([[0.5f32.ln(), 0.5f32.ln()]], &device);
/// let q = Tensor::<2>::from_floats([[1.0, 0.0]], &device);
/// let v = Tensor::<1>::from_floats([0.5], &device);
/// let logits = to_vec_f32(guided_logits(log_ref, q, v, 2.0)?);
/// assert!((logits[0] - (0.5f32.ln() + 1.0)).abs() < 1e-6);
/// assert!((logits[1] - (0.5f32.ln() - 1.0)).abs() < 1e-6);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn guided_logits(
    log_reference: Tensor<2>,
    q: Tensor<2>,
    values: Tensor<1>,
    weight: f64,
) -> Result<Tensor<2>> {
    check_weight("weight", weight)?;
    let dims = log_reference.dims();
    check_shape("Q values (one per reference logit)", q.dims(), dims)?;
    check_shape("values (one per row)", values.dims(), [dims[0]])?;
    Ok(log_reference + (q - values.unsqueeze_dim(1)).mul_scalar(weight))
}

/// A guidance weight: finite, `>= 0`, and representable in `f32` (the tensors multiply by it).
pub(crate) fn check_weight(what: &'static str, weight: f64) -> Result<()> {
    check_finite(what, weight)?;
    if !(0.0..=f64::from(f32::MAX)).contains(&weight) {
        return Err(Error::config(what, "in [0, f32::MAX]", weight));
    }
    Ok(())
}

/// The exact divergence `KL(p || q) = sum_a p(a) (log p(a) - log q(a))` of each row's
/// categorical distributions, given as logits (normalised here). Always `>= 0`; actions with
/// a `-inf` logit in `p` (masked tokens) contribute nothing.
///
/// # Shapes
///
/// - `logits_p`, `logits_q`: `[B, A]`; output `[B]`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when the two differ in shape.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use valuefn::policy::kl_divergence;
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// // p = (1/2, 1/2), q = (1/4, 3/4).
/// let p = Tensor::<2>::from_floats([[0.0, 0.0]], &device);
/// let q = Tensor::<2>::from_floats([[0.25f32.ln(), 0.75f32.ln()]], &device);
/// let exact = 0.5 * 2f32.ln() + 0.5 * (2.0f32 / 3.0).ln();
/// assert!((to_vec_f32(kl_divergence(p, q)?)[0] - exact).abs() < 1e-6);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn kl_divergence(logits_p: Tensor<2>, logits_q: Tensor<2>) -> Result<Tensor<1>> {
    check_shape("logits_q (as logits_p)", logits_q.dims(), logits_p.dims())?;
    let log_p = log_softmax(logits_p.clone(), 1);
    let log_q = log_softmax(logits_q, 1);
    let p = softmax(logits_p, 1);
    // Actions p never takes (a `-inf` logit, a masked token) contribute 0, not 0 x -inf = NaN.
    // Masked before the product, so a gradient through it is not NaN either.
    let never = p.clone().equal_elem(0.0);
    let terms = p * (log_p - log_q).mask_fill(never, 0.0);
    // Rounding can leave a tiny negative sum where p = q.
    Ok(terms.sum_dim(1).squeeze_dim(1).clamp_min(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_ops::to_vec_f32;

    #[test]
    fn masked_tokens_contribute_nothing_to_the_divergence() {
        let device = crate::device::default_device();
        // p = (1/2, 1/2, 0) with the third token masked in both; q = (1/4, 3/4, 0).
        let p = Tensor::<2>::from_floats([[0.0, 0.0, f32::NEG_INFINITY]], &device);
        let q =
            Tensor::<2>::from_floats([[0.25f32.ln(), 0.75f32.ln(), f32::NEG_INFINITY]], &device);
        let exact = 0.5 * 2f32.ln() + 0.5 * (2.0f32 / 3.0).ln();
        let kl = to_vec_f32(kl_divergence(p, q).unwrap())[0];
        assert!((kl - exact).abs() < 1e-6, "{kl}");
    }
}
