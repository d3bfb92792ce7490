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
/// assert!(QValues::new(2, 0, vec![]).is_err()); // no actions
/// ```
///
/// Deserializing runs the checks of [`QValues::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "QValuesFields")]
pub struct QValues {
    num_states: usize,
    num_actions: usize,
    values: Vec<f64>,
}

/// The serialized form of [`QValues`], checked by [`QValues::new`] on the way in.
#[derive(Deserialize)]
struct QValuesFields {
    num_states: usize,
    num_actions: usize,
    values: Vec<f64>,
}

impl TryFrom<QValuesFields> for QValues {
    type Error = Error;

    fn try_from(f: QValuesFields) -> Result<Self> {
        Self::new(f.num_states, f.num_actions, f.values)
    }
}

/// The serialized form of [`PolicyTable`], checked by [`PolicyTable::new`] on the way in.
#[derive(Deserialize)]
struct PolicyTableFields {
    num_states: usize,
    num_actions: usize,
    probabilities: Vec<f64>,
}

impl TryFrom<PolicyTableFields> for PolicyTable {
    type Error = Error;

    fn try_from(f: PolicyTableFields) -> Result<Self> {
        Self::new(f.num_states, f.num_actions, f.probabilities)
    }
}

/// The number of entries of a `num_states x num_actions` table; an error when there are no
/// actions (every row needs one) or the product overflows.
fn table_len(what: &'static str, num_states: usize, num_actions: usize) -> Result<usize> {
    if num_actions == 0 {
        return Err(Error::config("num_actions", "at least 1", 0));
    }
    crate::error::check_size(what, num_states, num_actions, usize::MAX)
}

/// Two action values closer than this (relative to their size) count as tied.
pub(crate) fn tie_tolerance(scale: f64) -> f64 {
    1e-9 * (1.0 + scale.abs())
}

impl QValues {
    /// Wraps `num_states * num_actions` values in `[state][action]` order. Values may be
    /// any `f64` (a diverged learner's NaN included); the readers below skip NaN.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `num_actions` is 0; [`Error::TooLarge`] when
    /// `num_states * num_actions` overflows `usize`; [`Error::ShapeMismatch`] when the length
    /// is wrong.
    pub fn new(num_states: usize, num_actions: usize, values: Vec<f64>) -> Result<Self> {
        if values.len() != table_len("Q values (states x actions)", num_states, num_actions)? {
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
    /// When `state` or `action` is out of range, as slice indexing does.
    pub fn get(&self, state: usize, action: usize) -> f64 {
        assert!(action < self.num_actions, "action {action} out of range");
        self.values[state * self.num_actions + action]
    }

    /// The action values of one state.
    ///
    /// # Panics
    ///
    /// When `state` is out of range, as slice indexing does.
    pub fn row(&self, state: usize) -> &[f64] {
        &self.values[state * self.num_actions..(state + 1) * self.num_actions]
    }

    /// All values, `[state][action]` row-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.values
    }

    /// `max_a q(s, a)` for every state, over the entries that are not NaN (`-inf` for a row
    /// of NaN).
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
    /// these are optimal values. NaN entries are never among them; a row of NaN has none.
    ///
    /// # Panics
    ///
    /// When `state` is out of range, as [`QValues::row`].
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
///
/// Deserializing runs the checks of [`PolicyTable::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PolicyTableFields")]
pub struct PolicyTable {
    num_states: usize,
    num_actions: usize,
    probabilities: Vec<f64>,
}

impl PolicyTable {
    /// The most entries (`states x actions`) [`PolicyTable::deterministic`] allocates: 2^28,
    /// 2 GiB of `f64`. Tables given in full ([`PolicyTable::new`]) are already in memory and
    /// have no limit.
    pub const MAX_ENTRIES: usize = 1 << 28;

    /// The equiprobable random policy.
    ///
    /// # Panics
    ///
    /// When `num_actions` is 0 (no distribution over no actions) or the table would not fit
    /// in memory (`num_states * num_actions` overflows `usize`), as `vec!` does.
    pub fn uniform(num_states: usize, num_actions: usize) -> Self {
        assert!(num_actions > 0, "a policy needs at least one action");
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
    /// [`Error::InvalidAction`] when an action is not below `num_actions` (checked before
    /// anything is allocated); [`Error::InvalidConfig`] when `num_actions` is 0;
    /// [`Error::TooLarge`] when the table has more than [`PolicyTable::MAX_ENTRIES`] entries.
    pub fn deterministic(actions: &[usize], num_actions: usize) -> Result<Self> {
        if let Some(&a) = actions.iter().find(|&&a| a >= num_actions) {
            return Err(Error::action(a, format!("0..{num_actions}")));
        }
        table_len("policy table entries (states x actions)", 1, num_actions)?;
        let len = crate::error::check_size(
            "policy table entries (states x actions)",
            actions.len(),
            num_actions,
            Self::MAX_ENTRIES,
        )?;
        let mut probabilities = vec![0.0; len];
        for (s, &a) in actions.iter().enumerate() {
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
    /// [`Error::InvalidConfig`] when `num_actions` is 0; [`Error::TooLarge`] when
    /// `num_states * num_actions` overflows; [`Error::ShapeMismatch`] for a wrong length;
    /// [`Error::InvalidConfig`] when a row is not a probability distribution (entries in
    /// `[0, 1]` summing to 1 within `1e-9`).
    pub fn new(num_states: usize, num_actions: usize, probabilities: Vec<f64>) -> Result<Self> {
        let len = table_len(
            "policy probabilities (states x actions)",
            num_states,
            num_actions,
        )?;
        if probabilities.len() != len {
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
        let m = q.num_actions();
        let mut probabilities = vec![0.0; q.as_slice().len()];
        for (s, a) in q.greedy_actions().into_iter().enumerate() {
            probabilities[s * m + a] = 1.0;
        }
        Self {
            num_states: q.num_states(),
            num_actions: m,
            probabilities,
        }
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
    ///
    /// # Panics
    ///
    /// When `state` or `action` is out of range, as slice indexing does.
    pub fn probability(&self, state: usize, action: usize) -> f64 {
        self.row(state)[action]
    }

    /// The action distribution of one state.
    ///
    /// # Panics
    ///
    /// When `state` is out of range, as slice indexing does.
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
