//! Optimal control: value iteration, policy iteration, and what follows from a value function.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, check_gamma};
use crate::tabular::evaluation::evaluate_policy_dense;
use crate::tabular::evaluation::sweep_to_fixed_point;
use crate::tabular::tables::{greedy_action, tie_tolerance};
use crate::tabular::{FiniteMdp, PolicyTable, QValues, SolverConfig};

/// Optimal values and a greedy optimal policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalSolution {
    /// `v*(s)`.
    pub values: Vec<f64>,
    /// `q*(s, a)`, from one backup of `values`.
    pub q_values: QValues,
    /// A greedy (hence optimal) action for every state; ties go to the lowest action.
    pub policy: Vec<usize>,
    /// Sweeps (value iteration) or improvement steps (policy iteration).
    pub iterations: usize,
    /// Bellman optimality residual `max_s |v(s) - max_a q(s, a)|` of `values`.
    pub residual: f64,
}

impl OptimalSolution {
    fn from_values<M: FiniteMdp + ?Sized>(
        mdp: &M,
        values: Vec<f64>,
        gamma: f64,
        iterations: usize,
    ) -> Self {
        let q_values = q_from_v_unchecked(mdp, &values, gamma);
        let policy = q_values.greedy_actions();
        let residual = residual_against(&values, &q_values);
        Self {
            values,
            q_values,
            policy,
            iterations,
            residual,
        }
    }
}

/// `q(s, a) = sum_{s',r} p(s',r|s,a) [r + gamma v(s')]` for every pair.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a gamma outside `[0, 1]`; [`Error::ShapeMismatch`] when
/// `values` does not have one entry per state; [`Error::NonFinite`] for a NaN or infinite
/// value.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::GridWorld;
/// use valuefn::tabular::{q_from_v, value_iteration, SolverConfig};
///
/// let grid = GridWorld::example_3_5();
/// let best = value_iteration(&grid, &SolverConfig::new()).unwrap();
/// let q = q_from_v(&grid, &best.values, 0.9).unwrap();
/// assert_eq!(q, best.q_values);
/// ```
pub fn q_from_v<M: FiniteMdp + ?Sized>(mdp: &M, values: &[f64], gamma: f64) -> Result<QValues> {
    check_gamma(gamma)?;
    check_values_fit(mdp, values)?;
    Ok(q_from_v_unchecked(mdp, values, gamma))
}

fn q_from_v_unchecked<M: FiniteMdp + ?Sized>(mdp: &M, values: &[f64], gamma: f64) -> QValues {
    let (n, m) = (mdp.num_states(), mdp.num_actions());
    let q = (0..n)
        .flat_map(|s| (0..m).map(move |a| (s, a)))
        .map(|(s, a)| mdp.backup(s, a, values, gamma))
        .collect();
    QValues::new(n, m, q).expect("one value per state-action pair by construction")
}

fn check_values_fit<M: FiniteMdp + ?Sized>(mdp: &M, values: &[f64]) -> Result<()> {
    if values.len() != mdp.num_states() {
        return Err(Error::ShapeMismatch {
            what: "state values",
            expected: vec![mdp.num_states()],
            actual: vec![values.len()],
        });
    }
    match values.iter().find(|v| !v.is_finite()) {
        Some(&value) => Err(Error::NonFinite {
            what: "state value",
            value,
        }),
        None => Ok(()),
    }
}

fn residual_against(values: &[f64], q: &QValues) -> f64 {
    values
        .iter()
        .zip(q.max_values())
        .map(|(v, best)| (v - best).abs())
        .fold(0.0, f64::max)
}

/// The Bellman optimality residual `max_s |v(s) - max_a sum p [r + gamma v(s')]|`: zero exactly
/// at `v*`.
///
/// # Errors
///
/// As [`q_from_v`].
pub fn bellman_optimality_residual<M: FiniteMdp + ?Sized>(
    mdp: &M,
    values: &[f64],
    gamma: f64,
) -> Result<f64> {
    Ok(residual_against(values, &q_from_v(mdp, values, gamma)?))
}

/// Value iteration (Sutton and Barto section 4.4): sweeps
/// `v(s) <- max_a sum_{s',r} p(s',r|s,a) [r + gamma v(s')]` from `v = 0` until the largest
/// change in a sweep is below `config.tolerance`, then reads off `q*` and a greedy policy.
///
/// With `gamma = 1` it converges when every policy that avoids termination collects negative
/// reward forever (stochastic shortest path problems such as cliff walking).
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a bad config; [`Error::NotConverged`] after
/// `config.max_iterations` sweeps.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::CliffWalking;
/// use valuefn::tabular::{value_iteration, SolverConfig};
///
/// let cliff = CliffWalking::new();
/// let best = value_iteration(&cliff, &SolverConfig::new().with_gamma(1.0)).unwrap();
/// assert_eq!(best.values[cliff.start()], -13.0);
/// ```
pub fn value_iteration<M: FiniteMdp + ?Sized>(
    mdp: &M,
    config: &SolverConfig,
) -> Result<OptimalSolution> {
    let gamma = config.gamma;
    let m = mdp.num_actions();
    let solution = sweep_to_fixed_point(mdp, config, "value iteration", |s, v| {
        (0..m)
            .map(|a| mdp.backup(s, a, v, gamma))
            .fold(f64::NEG_INFINITY, f64::max)
    })?;
    Ok(OptimalSolution::from_values(
        mdp,
        solution.values,
        gamma,
        solution.iterations,
    ))
}

/// Policy iteration (Sutton and Barto section 4.3) from the policy that always takes action 0.
/// See [`policy_iteration_from`].
///
/// # Errors
///
/// As [`policy_iteration_from`]; with `gamma = 1` action 0 everywhere may never terminate, which
/// gives [`Error::SingularSystem`]: start from a proper policy instead.
pub fn policy_iteration<M: FiniteMdp + ?Sized>(
    mdp: &M,
    config: &SolverConfig,
) -> Result<OptimalSolution> {
    policy_iteration_from(mdp, config, vec![0; mdp.num_states()])
}

/// Policy iteration from `initial`: evaluate the current deterministic policy exactly (linear
/// solve), make it greedy with respect to its own values, and stop when no state changes
/// action. An action changes only when another is better by more than a relative `1e-9`, so
/// ties cannot make it cycle. `config.max_iterations` caps the improvement steps;
/// `config.tolerance` and `config.sweep` are not used.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a bad config; [`Error::InvalidAction`] or
/// [`Error::ShapeMismatch`] for a bad initial policy; [`Error::SingularSystem`] when `gamma = 1`
/// and a policy on the way never terminates; [`Error::TooLarge`] beyond
/// `config.max_dense_states` states; [`Error::NotConverged`] past the cap.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::GridWorld;
/// use valuefn::tabular::{policy_iteration, value_iteration, SolverConfig};
///
/// let grid = GridWorld::example_3_5();
/// let config = SolverConfig::new();
/// let pi = policy_iteration(&grid, &config).unwrap();
/// let vi = value_iteration(&grid, &config).unwrap();
/// assert!(pi.values.iter().zip(&vi.values).all(|(a, b)| (a - b).abs() < 1e-6));
/// ```
pub fn policy_iteration_from<M: FiniteMdp + ?Sized>(
    mdp: &M,
    config: &SolverConfig,
    initial: Vec<usize>,
) -> Result<OptimalSolution> {
    config.validate()?;
    let gamma = config.gamma;
    if initial.len() != mdp.num_states() {
        return Err(Error::ShapeMismatch {
            what: "initial policy",
            expected: vec![mdp.num_states()],
            actual: vec![initial.len()],
        });
    }
    let mut actions = initial;
    for iteration in 1..=config.max_iterations {
        let policy = PolicyTable::deterministic(&actions, mdp.num_actions())?;
        let values = evaluate_policy_dense(mdp, &policy, gamma, config.max_dense_states)?.values;
        let q = q_from_v_unchecked(mdp, &values, gamma);
        let mut stable = true;
        for (s, action) in actions.iter_mut().enumerate() {
            let row = q.row(s);
            let best = greedy_action(row);
            if row[best] > row[*action] + tie_tolerance(row[best]) {
                *action = best;
                stable = false;
            }
        }
        if stable {
            let mut solution = OptimalSolution::from_values(mdp, values, gamma, iteration);
            solution.policy = actions;
            return Ok(solution);
        }
    }
    Err(Error::NotConverged {
        solver: "policy iteration",
        iterations: config.max_iterations,
        residual: f64::NAN,
        tolerance: config.tolerance,
    })
}
