//! Policy evaluation: `v_pi` by iterative sweeps or by one linear solve.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tabular::linear::solve_dense;
use crate::tabular::{FiniteMdp, PolicyTable, SolverConfig, Sweep};

/// State values computed by a solver, with how it got there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// `v(s)` for every state.
    pub values: Vec<f64>,
    /// Sweeps run (1 for a linear solve).
    pub iterations: usize,
    /// For sweeps: the largest change in the last sweep. For a linear solve: the largest
    /// Bellman-equation error `|v - (r_pi + gamma P_pi v)|` of the solution.
    pub residual: f64,
}

/// `sum_a pi(a|s) sum_s' p (r + gamma v(s'))`: the Bellman expectation backup of `state`.
pub(crate) fn expected_backup<M: FiniteMdp + ?Sized>(
    mdp: &M,
    policy: &PolicyTable,
    state: usize,
    values: &[f64],
    gamma: f64,
) -> f64 {
    policy
        .row(state)
        .iter()
        .enumerate()
        .filter(|(_, p)| **p > 0.0)
        .map(|(a, p)| p * mdp.backup(state, a, values, gamma))
        .sum()
}

/// Repeats `backup` over all states until no value moves by more than the tolerance.
pub(crate) fn sweep_to_fixed_point<M: FiniteMdp + ?Sized>(
    mdp: &M,
    config: &SolverConfig,
    solver: &'static str,
    backup: impl Fn(usize, &[f64]) -> f64,
) -> Result<Solution> {
    config.validate()?;
    let n = mdp.num_states();
    let mut values = vec![0.0; n];
    let mut next = vec![0.0; n];
    for iteration in 1..=config.max_iterations {
        let mut residual: f64 = 0.0;
        for s in 0..n {
            let v = match config.sweep {
                Sweep::Synchronous => backup(s, &values),
                Sweep::InPlace => backup(s, &next),
            };
            residual = residual.max((v - next[s]).abs());
            next[s] = v;
        }
        if let Some(&bad) = next.iter().find(|v| !v.is_finite()) {
            // Diverged (rewards near f64's range, say): say so, not "did not converge".
            return Err(Error::NonFinite {
                what: "state value during a solver sweep",
                value: bad,
            });
        }
        values.copy_from_slice(&next);
        if residual < config.tolerance {
            return Ok(Solution {
                values,
                iterations: iteration,
                residual,
            });
        }
        if iteration == config.max_iterations {
            return Err(Error::NotConverged {
                solver,
                iterations: iteration,
                residual,
                tolerance: config.tolerance,
            });
        }
    }
    unreachable!("the last iteration returns")
}

/// Iterative policy evaluation (Sutton and Barto section 4.1): sweeps
/// `v(s) <- sum_a pi(a|s) sum_{s',r} p(s',r|s,a) [r + gamma v(s')]` from `v = 0` until the
/// largest change in a sweep is below `config.tolerance`.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a bad config, [`Error::ShapeMismatch`] when the policy does not
/// fit the MDP, [`Error::NotConverged`] when `config.max_iterations` sweeps are not enough,
/// [`Error::NonFinite`] when a value overflows to infinity or NaN on the way.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::GridWorld;
/// use valuefn::tabular::{evaluate_policy, PolicyTable, SolverConfig};
///
/// let grid = GridWorld::example_4_1();
/// let random = PolicyTable::uniform(16, 4);
/// let v = evaluate_policy(&grid, &random, &SolverConfig::new().with_gamma(1.0)).unwrap();
/// assert!((v.values[1] + 14.0).abs() < 1e-6);
/// ```
pub fn evaluate_policy<M: FiniteMdp + ?Sized>(
    mdp: &M,
    policy: &PolicyTable,
    config: &SolverConfig,
) -> Result<Solution> {
    policy.check_fits(mdp)?;
    sweep_to_fixed_point(mdp, config, "policy evaluation", |s, v| {
        expected_backup(mdp, policy, s, v, config.gamma)
    })
}

/// Exact policy evaluation: solves the linear system `(I - gamma P_pi) v = r_pi` directly
/// (dense Gaussian elimination, `O(S^3)` time and `S^2` memory; fine up to a few thousand
/// states, refused beyond `SolverConfig::max_dense_states`'s default of 10 000).
///
/// # Errors
///
/// [`Error::InvalidConfig`] when `gamma` is outside `[0, 1]`, [`Error::ShapeMismatch`] when the
/// policy does not fit, [`Error::TooLarge`] beyond 10 000 states (use [`evaluate_policy`]),
/// [`Error::SingularSystem`] when `gamma = 1` and some state never reaches a terminal
/// transition under `policy`, [`Error::NonFinite`] when the values overflow.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::RandomWalk;
/// use valuefn::tabular::{evaluate_policy_exact, PolicyTable};
///
/// let walk = RandomWalk::example_6_2();
/// let v = evaluate_policy_exact(&walk, &PolicyTable::uniform(5, 1), 1.0).unwrap();
/// assert!((v.values[2] - 0.5).abs() < 1e-12); // state C
/// ```
pub fn evaluate_policy_exact<M: FiniteMdp + ?Sized>(
    mdp: &M,
    policy: &PolicyTable,
    gamma: f64,
) -> Result<Solution> {
    evaluate_policy_dense(mdp, policy, gamma, SolverConfig::new().max_dense_states)
}

/// [`evaluate_policy_exact`] with a limit of `max_states` states.
pub(crate) fn evaluate_policy_dense<M: FiniteMdp + ?Sized>(
    mdp: &M,
    policy: &PolicyTable,
    gamma: f64,
    max_states: usize,
) -> Result<Solution> {
    crate::error::check_gamma(gamma)?;
    policy.check_fits(mdp)?;
    let n = mdp.num_states();
    if n > max_states {
        return Err(Error::TooLarge {
            what: "states for the dense policy-evaluation solve (SolverConfig::max_dense_states)",
            size: n as u128,
            limit: max_states as u128,
        });
    }
    let mut matrix = vec![0.0; n * n];
    let mut rhs = vec![0.0; n];
    for s in 0..n {
        matrix[s * n + s] += 1.0;
        for (a, &pa) in policy.row(s).iter().enumerate() {
            if pa == 0.0 {
                continue;
            }
            for t in mdp.transitions(s, a) {
                let p = pa * t.probability;
                rhs[s] += p * t.reward;
                if !t.terminal {
                    matrix[s * n + t.next_state] -= gamma * p;
                }
            }
        }
    }
    let values = solve_dense(matrix, rhs).ok_or(Error::SingularSystem)?;
    if let Some(&bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "state value of the linear solve",
            value: bad,
        });
    }
    let residual = (0..n)
        .map(|s| (values[s] - expected_backup(mdp, policy, s, &values, gamma)).abs())
        .fold(0.0, f64::max);
    Ok(Solution {
        values,
        iterations: 1,
        residual,
    })
}
