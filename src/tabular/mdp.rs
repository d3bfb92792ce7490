//! Finite MDPs with explicit transition lists.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One possible outcome of taking an action: with `probability`, move to `next_state`, receive
/// `reward`, and end the episode if `terminal`.
///
/// `terminal` marks the *transition*, not the state: a terminal transition contributes its
/// reward but no bootstrap term `gamma * v(next_state)`. Terminal states of the book examples
/// are ordinary states whose only transition is a terminal self-loop with reward 0, so their
/// value is exactly 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Probability of this outcome, in `[0, 1]`.
    pub probability: f64,
    /// Index of the next state.
    pub next_state: usize,
    /// Reward received on this transition.
    pub reward: f64,
    /// Whether the episode ends with this transition (no bootstrapping from `next_state`).
    pub terminal: bool,
}

impl Transition {
    /// A transition that happens with certainty.
    pub fn certain(next_state: usize, reward: f64, terminal: bool) -> Self {
        Self {
            probability: 1.0,
            next_state,
            reward,
            terminal,
        }
    }

    /// `reward + gamma * v[next_state]`, without the bootstrap term when `terminal`.
    ///
    /// # Panics
    ///
    /// When the transition bootstraps and `next_state` is not an index of `values`, as slice
    /// indexing does. ([`TabularMdp`] checks its next states, so its transitions index any
    /// `values` with one entry per state.)
    pub fn target(&self, values: &[f64], gamma: f64) -> f64 {
        if self.terminal {
            self.reward
        } else {
            self.reward + gamma * values[self.next_state]
        }
    }
}

/// What a solver needs of an MDP: finite states and actions, and the full transition list of
/// every state-action pair.
///
/// States are `0..num_states()`, actions `0..num_actions()`, and every action is available in
/// every state. [`TabularMdp`] is the explicit implementation; the book environments in
/// [`crate::env::tabular`] implement it through [`AsRef<TabularMdp>`], so one definition of
/// their dynamics serves both the exact solvers and [`crate::env::TabularEnv`].
pub trait FiniteMdp {
    /// Number of states.
    fn num_states(&self) -> usize;

    /// Number of actions.
    fn num_actions(&self) -> usize;

    /// The outcomes of taking `action` in `state`; probabilities sum to one.
    ///
    /// # Panics
    ///
    /// May panic when `state` or `action` is out of range; callers that take indices from
    /// users check them first.
    fn transitions(&self, state: usize, action: usize) -> &[Transition];

    /// The start-state distribution as `(state, probability)` pairs.
    fn initial_distribution(&self) -> &[(usize, f64)];

    /// Expected one-step backup `sum_s' p (r + gamma v(s'))` of `(state, action)` under `values`.
    fn backup(&self, state: usize, action: usize, values: &[f64], gamma: f64) -> f64 {
        self.transitions(state, action)
            .iter()
            .map(|t| t.probability * t.target(values, gamma))
            .sum()
    }
}

impl<T: AsRef<TabularMdp>> FiniteMdp for T {
    fn num_states(&self) -> usize {
        self.as_ref().num_states
    }

    fn num_actions(&self) -> usize {
        self.as_ref().num_actions
    }

    fn transitions(&self, state: usize, action: usize) -> &[Transition] {
        let mdp = self.as_ref();
        &mdp.transitions[state * mdp.num_actions + action]
    }

    fn initial_distribution(&self) -> &[(usize, f64)] {
        &self.as_ref().initial
    }
}

/// A finite MDP stored as explicit tables; validated on construction.
///
/// # Example
///
/// A two-state chain: action 0 stays for reward 0, action 1 ends the episode with reward 1.
///
/// ```
/// use valuefn::tabular::{FiniteMdp, TabularMdp, Transition};
///
/// let mdp = TabularMdp::from_fn(2, 2, vec![(0, 1.0)], |s, a| {
///     Ok(if a == 0 { vec![Transition::certain(s, 0.0, false)] } else { vec![Transition::certain(s, 1.0, true)] })
/// })
/// .unwrap();
/// assert_eq!(mdp.transitions(1, 1)[0].reward, 1.0);
/// // probabilities must sum to one:
/// let bad = TabularMdp::from_fn(1, 1, vec![(0, 1.0)], |_, _| {
///     Ok(vec![Transition { probability: 0.5, next_state: 0, reward: 0.0, terminal: false }])
/// });
/// assert!(bad.is_err());
/// ```
///
/// Deserializing runs the same checks as [`TabularMdp::new`], so a saved model cannot bypass
/// them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TabularMdpFields")]
pub struct TabularMdp {
    num_states: usize,
    num_actions: usize,
    /// Row-major `[state][action]` transition lists.
    transitions: Vec<Vec<Transition>>,
    initial: Vec<(usize, f64)>,
}

/// The serialized form of [`TabularMdp`], checked by [`TabularMdp::new`] on the way in.
#[derive(Deserialize)]
struct TabularMdpFields {
    num_states: usize,
    num_actions: usize,
    transitions: Vec<Vec<Transition>>,
    initial: Vec<(usize, f64)>,
}

impl TryFrom<TabularMdpFields> for TabularMdp {
    type Error = Error;

    fn try_from(f: TabularMdpFields) -> Result<Self> {
        Self::new(f.num_states, f.num_actions, f.transitions, f.initial)
    }
}

/// Probabilities may be off by rounding; anything further is a modelling error.
const PROBABILITY_SUM_TOLERANCE: f64 = 1e-9;

impl TabularMdp {
    /// The most state-action pairs a tabular MDP may have (2^24): each holds a list of
    /// transitions, so a size beyond this is a mistake that would exhaust memory, and an
    /// [`Error::TooLarge`] rather than an allocation failure.
    pub const MAX_PAIRS: usize = 1 << 24;
}

impl AsRef<TabularMdp> for TabularMdp {
    fn as_ref(&self) -> &TabularMdp {
        self
    }
}

impl TabularMdp {
    /// Builds an MDP from `[state][action]`-ordered transition lists (`num_states *
    /// num_actions` of them) and a start distribution.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMdp`] when there are no states or actions, `num_states * num_actions`
    /// overflows `usize`, the list count is wrong, a
    /// pair has no transitions, a probability is outside `[0, 1]`, a pair's probabilities (or
    /// the start distribution's) do not sum to one, or a state index is out of range;
    /// [`Error::NonFinite`] for a NaN or infinite reward.
    pub fn new(
        num_states: usize,
        num_actions: usize,
        transitions: Vec<Vec<Transition>>,
        initial: Vec<(usize, f64)>,
    ) -> Result<Self> {
        let pairs = check_sizes(num_states, num_actions)?;
        if transitions.len() != pairs {
            return Err(Error::InvalidMdp(format!(
                "expected {pairs} transition lists (states x actions), got {}",
                transitions.len()
            )));
        }
        for (index, list) in transitions.iter().enumerate() {
            let (s, a) = (index / num_actions, index % num_actions);
            let what = format!("state {s}, action {a}");
            check_distribution(
                &what,
                list.iter().map(|t| (t.next_state, t.probability)),
                num_states,
            )?;
            for t in list {
                if !t.reward.is_finite() {
                    return Err(Error::NonFinite {
                        what: "transition reward",
                        value: t.reward,
                    });
                }
            }
        }
        check_distribution("initial distribution", initial.iter().copied(), num_states)?;
        Ok(Self {
            num_states,
            num_actions,
            transitions,
            initial,
        })
    }

    /// Builds an MDP by calling `dynamics(state, action)` for every pair, in order.
    ///
    /// # Errors
    ///
    /// Whatever `dynamics` returns, then the checks of [`TabularMdp::new`].
    pub fn from_fn(
        num_states: usize,
        num_actions: usize,
        initial: Vec<(usize, f64)>,
        mut dynamics: impl FnMut(usize, usize) -> Result<Vec<Transition>>,
    ) -> Result<Self> {
        // Reserve no more than a modest amount up front: `dynamics` builds the rest.
        let pairs = check_sizes(num_states, num_actions)?;
        let mut transitions = Vec::with_capacity(pairs.min(1 << 16));
        for s in 0..num_states {
            for a in 0..num_actions {
                transitions.push(dynamics(s, a)?);
            }
        }
        Self::new(num_states, num_actions, transitions, initial)
    }
}

/// Checks that there is at least one state and one action, and at most
/// [`TabularMdp::MAX_PAIRS`] pairs, and returns the number of pairs.
fn check_sizes(num_states: usize, num_actions: usize) -> Result<usize> {
    if num_states == 0 || num_actions == 0 {
        return Err(Error::InvalidMdp(format!(
            "need at least one state and one action, got {num_states} states and {num_actions} actions"
        )));
    }
    crate::error::check_size(
        "state-action pairs of a tabular MDP",
        num_states,
        num_actions,
        TabularMdp::MAX_PAIRS,
    )
}

/// Checks that `(index, probability)` pairs form a distribution over `0..num_states`.
fn check_distribution(
    what: &str,
    pairs: impl Iterator<Item = (usize, f64)>,
    num_states: usize,
) -> Result<()> {
    let mut total = 0.0;
    let mut count = 0;
    for (state, p) in pairs {
        count += 1;
        if state >= num_states {
            return Err(Error::InvalidMdp(format!(
                "{what}: state {state} is out of range for {num_states} states"
            )));
        }
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::InvalidMdp(format!(
                "{what}: probability {p} is outside [0, 1]"
            )));
        }
        total += p;
    }
    if count == 0 {
        return Err(Error::InvalidMdp(format!("{what}: no outcomes")));
    }
    if (total - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
        return Err(Error::InvalidMdp(format!(
            "{what}: probabilities sum to {total}, not 1"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stay(s: usize) -> Vec<Transition> {
        vec![Transition::certain(s, 0.0, false)]
    }

    #[test]
    fn rejects_each_kind_of_malformed_model() {
        let init = || vec![(0, 1.0)];
        let cases: Vec<(Result<TabularMdp>, &str)> = vec![
            (TabularMdp::new(0, 1, vec![], init()), "at least one state"),
            (
                TabularMdp::new(2, 1, vec![stay(0)], init()),
                "expected 2 transition lists",
            ),
            (TabularMdp::new(1, 1, vec![vec![]], init()), "no outcomes"),
            (
                TabularMdp::new(1, 1, vec![stay(3)], init()),
                "state 3 is out of range",
            ),
            (
                TabularMdp::new(1, 1, vec![stay(0)], vec![(0, 0.7)]),
                "sum to 0.7",
            ),
            (
                TabularMdp::new(
                    1,
                    1,
                    vec![vec![Transition {
                        probability: -0.5,
                        ..Transition::certain(0, 0.0, false)
                    }]],
                    init(),
                ),
                "outside [0, 1]",
            ),
        ];
        for (result, needle) in cases {
            let message = result.unwrap_err().to_string();
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        let nan = TabularMdp::new(
            1,
            1,
            vec![vec![Transition::certain(0, f64::NAN, false)]],
            init(),
        );
        assert!(matches!(nan, Err(Error::NonFinite { .. })));
    }

    #[test]
    fn backup_skips_bootstrap_on_terminal_transitions() {
        let mdp = TabularMdp::from_fn(2, 1, vec![(0, 1.0)], |s, _| {
            Ok(vec![
                Transition {
                    probability: 0.25,
                    ..Transition::certain(1, 4.0, true)
                },
                Transition {
                    probability: 0.75,
                    ..Transition::certain(1 - s, 2.0, false)
                },
            ])
        })
        .unwrap();
        let v = [10.0, 20.0];
        // 0.25 * 4 + 0.75 * (2 + 0.5 * 20)
        assert!((mdp.backup(0, 0, &v, 0.5) - 10.0).abs() < 1e-12);
    }
}
