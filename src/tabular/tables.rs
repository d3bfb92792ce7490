//! Plain `f64` tables that the exact solvers read and write: action values and policies.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tabular::FiniteMdp;

/// Action values `q[s][a]` of a finite MDP, stored row-major.
///
/// # Example
///
/// ```
/// use valuefn::tabular::QValues;
///
/// let q = QValues::new(2, 2, vec![1.0, 3.0, 5.0, 5.0]).unwrap();
/// assert_eq!(q.get(0, 1), 3.0);
/// assert_eq!(q.max_values(), vec![3.0, 5.0]);
/// assert_eq!(q.greedy_actions(), vec![1, 0]); // ties go to the lowest action
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QValues {
    num_states: usize,
    num_actions: usize,
    values: Vec<f64>,
}

/// Two action values closer than this (relative to their size) count as tied.
pub(crate) fn tie_tolerance(scale: f64) -> f64 {
    1e-9 * (1.0 + scale.abs())
}

impl QValues {
    /// Wraps `num_states * num_actions` values in `[state][action]` order.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the length is wrong.
    pub fn new(num_states: usize, num_actions: usize, values: Vec<f64>) -> Result<Self> {
        if values.len() != num_states * num_actions {
            return Err(Error::ShapeMismatch {
                what: "Q values",
                expected: vec![num_states, num_actions],
                actual: vec![values.len()],
            });
        }
        Ok(Self {
            num_states,
            num_actions,
            values,
        })
    }

    /// Number of states.
    pub fn num_states(&self) -> usize {
        self.num_states
    }

    /// Number of actions.
    pub fn num_actions(&self) -> usize {
        self.num_actions
    }

    /// `q(state, action)`.
    ///
    /// # Panics
    ///
    /// When `state` or `action` is out of range.
    pub fn get(&self, state: usize, action: usize) -> f64 {
        assert!(action < self.num_actions, "action {action} out of range");
        self.values[state * self.num_actions + action]
    }

    /// The action values of one state.
    pub fn row(&self, state: usize) -> &[f64] {
        &self.values[state * self.num_actions..(state + 1) * self.num_actions]
    }

    /// All values, `[state][action]` row-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.values
    }

    /// `max_a q(s, a)` for every state.
    pub fn max_values(&self) -> Vec<f64> {
        (0..self.num_states)
            .map(|s| {
                self.row(s)
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect()
    }

    /// The greedy action of every state; among actions within a relative `1e-9` of the
    /// maximum, the lowest index wins, so the result is deterministic.
    pub fn greedy_actions(&self) -> Vec<usize> {
        (0..self.num_states)
            .map(|s| greedy_action(self.row(s)))
            .collect()
    }

    /// All actions within a relative `1e-9` of the maximum of `state`: the optimal actions when
    /// these are optimal values.
    pub fn best_actions(&self, state: usize) -> Vec<usize> {
        let row = self.row(state);
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (0..row.len())
            .filter(|&a| row[a] >= max - tie_tolerance(max))
            .collect()
    }
}

/// Lowest index whose value is within the tie tolerance of the row's maximum.
pub(crate) fn greedy_action(row: &[f64]) -> usize {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    row.iter()
        .position(|&q| q >= max - tie_tolerance(max))
        .unwrap_or(0)
}

/// A stochastic policy `pi(a | s)` of a finite MDP, stored row-major.
///
/// # Example
///
/// ```
/// use valuefn::tabular::PolicyTable;
///
/// let uniform = PolicyTable::uniform(3, 4);
/// assert_eq!(uniform.probability(2, 1), 0.25);
/// let greedy = PolicyTable::deterministic(&[0, 3, 1], 4).unwrap();
/// assert_eq!(greedy.row(1), &[0.0, 0.0, 0.0, 1.0]);
/// assert!(PolicyTable::deterministic(&[4], 4).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyTable {
    num_states: usize,
    num_actions: usize,
    probabilities: Vec<f64>,
}

impl PolicyTable {
    /// The equiprobable random policy.
    pub fn uniform(num_states: usize, num_actions: usize) -> Self {
        Self {
            num_states,
            num_actions,
            probabilities: vec![1.0 / num_actions as f64; num_states * num_actions],
        }
    }

    /// The policy that takes `actions[s]` in state `s` with certainty.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAction`] when an action is not below `num_actions`.
    pub fn deterministic(actions: &[usize], num_actions: usize) -> Result<Self> {
        let mut probabilities = vec![0.0; actions.len() * num_actions];
        for (s, &a) in actions.iter().enumerate() {
            if a >= num_actions {
                return Err(Error::action(a, format!("0..{num_actions}")));
            }
            probabilities[s * num_actions + a] = 1.0;
        }
        Ok(Self {
            num_states: actions.len(),
            num_actions,
            probabilities,
        })
    }

    /// Wraps explicit `[state][action]` probabilities.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for a wrong length; [`Error::InvalidConfig`] when a row is not
    /// a probability distribution (entries in `[0, 1]` summing to 1 within `1e-9`).
    pub fn new(num_states: usize, num_actions: usize, probabilities: Vec<f64>) -> Result<Self> {
        if num_actions == 0 || probabilities.len() != num_states * num_actions {
            return Err(Error::ShapeMismatch {
                what: "policy probabilities",
                expected: vec![num_states, num_actions],
                actual: vec![probabilities.len()],
            });
        }
        for row in probabilities.chunks(num_actions) {
            let sum: f64 = row.iter().sum();
            if row.iter().any(|p| !(0.0..=1.0).contains(p)) || (sum - 1.0).abs() > 1e-9 {
                return Err(Error::config(
                    "policy row",
                    "a probability distribution",
                    format!("{row:?}"),
                ));
            }
        }
        Ok(Self {
            num_states,
            num_actions,
            probabilities,
        })
    }

    /// The policy that is greedy with respect to `q` (ties to the lowest action).
    pub fn greedy(q: &QValues) -> Self {
        Self::deterministic(&q.greedy_actions(), q.num_actions())
            .expect("greedy actions are in range by construction")
    }

    /// Number of states.
    pub fn num_states(&self) -> usize {
        self.num_states
    }

    /// Number of actions.
    pub fn num_actions(&self) -> usize {
        self.num_actions
    }

    /// `pi(action | state)`.
    pub fn probability(&self, state: usize, action: usize) -> f64 {
        self.row(state)[action]
    }

    /// The action distribution of one state.
    pub fn row(&self, state: usize) -> &[f64] {
        &self.probabilities[state * self.num_actions..(state + 1) * self.num_actions]
    }

    /// All probabilities, `[state][action]` row-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.probabilities
    }

    /// Checks that this policy fits `mdp`.
    pub(crate) fn check_fits<M: FiniteMdp + ?Sized>(&self, mdp: &M) -> Result<()> {
        if self.num_states != mdp.num_states() || self.num_actions != mdp.num_actions() {
            return Err(Error::ShapeMismatch {
                what: "policy for this MDP",
                expected: vec![mdp.num_states(), mdp.num_actions()],
                actual: vec![self.num_states, self.num_actions],
            });
        }
        Ok(())
    }
}
