//! Exact soft (KL-regularised) value iteration: the truth soft Q-learning is tested against.

use crate::error::{Error, Result, check_positive};
use crate::tabular::evaluation::sweep_to_fixed_point;
use crate::tabular::{FiniteMdp, PolicyTable, QValues, SolverConfig, q_from_v};

/// The solution of the KL-regularised MDP: what [`soft_value_iteration`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftSolution {
    /// `V_soft(s)`.
    pub values: Vec<f64>,
    /// `Q_soft(s, a) = sum p [r + gamma V_soft(s')]`, one backup of `values`.
    pub q_values: QValues,
    /// The soft-optimal policy `pi(a|s) = pi_ref(a|s) exp((Q(s, a) - V(s)) / beta)`.
    pub policy: PolicyTable,
    /// Sweeps run.
    pub iterations: usize,
    /// The largest change in the last sweep.
    pub residual: f64,
}

/// Soft value iteration with a reference policy `pi_ref` and temperature `beta`: sweeps
///
/// ```text
/// V(s) <- beta log sum_a pi_ref(a|s) exp(Q(s, a) / beta),   Q(s, a) = sum p [r + gamma V(s')]
/// ```
///
/// from `V = 0` until the largest change is below `config.tolerance`. The fixed point is the
/// optimum of the expected return minus `beta` times `KL(pi || pi_ref)` per step, reached by
/// `pi(a|s) = pi_ref(a|s) exp((Q(s, a) - V(s)) / beta)` (the soft Bellman equation that
/// [`crate::returns::soft_values`] backs up on tensors). As `beta -> 0` it tends to
/// [`crate::tabular::value_iteration`]'s `V*` (within `beta log(1 / pi_ref(a*|s))` per step);
/// with a uniform `pi_ref` it is the maximum-entropy value shifted by `beta log |A|` per step.
/// Actions `pi_ref` never takes get probability 0 and do not enter the sum.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a `beta` that is not positive and finite or a bad config;
/// [`Error::ShapeMismatch`] when `reference` does not have the MDP's states and actions;
/// [`Error::NotConverged`] after `config.max_iterations` sweeps.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::GridWorld;
/// use valuefn::tabular::{PolicyTable, SolverConfig, soft_value_iteration, value_iteration};
///
/// let grid = GridWorld::example_3_5();
/// let config = SolverConfig::new(); // gamma 0.9
/// let uniform = PolicyTable::uniform(25, 4);
/// let best = value_iteration(&grid, &config)?;
/// let soft = soft_value_iteration(&grid, &uniform, 1e-4, &config)?;
/// assert!(soft.values.iter().zip(&best.values).all(|(s, v)| (s - v).abs() < 2e-3));
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn soft_value_iteration<M: FiniteMdp + ?Sized>(
    mdp: &M,
    reference: &PolicyTable,
    beta: f64,
    config: &SolverConfig,
) -> Result<SoftSolution> {
    check_positive("beta", beta)?;
    let (n, m) = (mdp.num_states(), mdp.num_actions());
    if (reference.num_states(), reference.num_actions()) != (n, m) {
        return Err(Error::ShapeMismatch {
            what: "reference policy (states x actions of the MDP)",
            expected: vec![n, m],
            actual: vec![reference.num_states(), reference.num_actions()],
        });
    }
    let gamma = config.gamma;
    let solution = sweep_to_fixed_point(mdp, config, "soft value iteration", |s, v| {
        let q: Vec<f64> = (0..m).map(|a| mdp.backup(s, a, v, gamma)).collect();
        soft_value(reference.row(s), &q, beta)
    })?;
    let q_values = q_from_v(mdp, &solution.values, gamma)?;
    let mut probabilities = Vec::with_capacity(n * m);
    for s in 0..n {
        let row = q_values.row(s);
        let v = soft_value(reference.row(s), row, beta);
        let unnormalised: Vec<f64> = reference
            .row(s)
            .iter()
            .zip(row)
            .map(|(&p, &q)| {
                if p > 0.0 {
                    p * ((q - v) / beta).exp()
                } else {
                    0.0
                }
            })
            .collect();
        // The weights sum to 1 up to rounding (V is their log-normaliser): renormalise.
        let total: f64 = unnormalised.iter().sum();
        probabilities.extend(unnormalised.iter().map(|w| w / total));
    }
    Ok(SoftSolution {
        policy: PolicyTable::new(n, m, probabilities)?,
        values: solution.values,
        q_values,
        iterations: solution.iterations,
        residual: solution.residual,
    })
}

/// `beta log sum_a p(a) exp(q(a) / beta)` over the actions with `p(a) > 0`, stably (the
/// largest exponent factored out).
fn soft_value(reference: &[f64], q: &[f64], beta: f64) -> f64 {
    let max = reference
        .iter()
        .zip(q)
        .filter(|(p, _)| **p > 0.0)
        .map(|(_, &q)| q)
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = reference
        .iter()
        .zip(q)
        .filter(|(p, _)| **p > 0.0)
        .map(|(&p, &q)| p * ((q - max) / beta).exp())
        .sum();
    max + beta * sum.ln()
}
