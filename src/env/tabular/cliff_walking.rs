//! Cliff walking, Sutton and Barto Example 6.6 (Gymnasium's CliffWalking).

use crate::env::tabular::grid::{Grid, GridLayout, URDL, URDL_ARROWS};
use crate::tabular::{TabularMdp, Transition};

/// A 4x12 grid: start at the bottom-left, goal at the bottom-right, and the cells between them
/// on the bottom row are a cliff. Every step costs -1; stepping into the cliff costs -100 and
/// sends the agent back to the start (the episode goes on); reaching the goal ends it.
/// Actions, states and rewards match Gymnasium's `CliffWalking` (up, right, down, left).
///
/// The optimal path walks along the cliff edge: return -13 with `gamma = 1`.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::CliffWalking;
/// use valuefn::tabular::FiniteMdp;
///
/// let cliff = CliffWalking::new();
/// assert_eq!((cliff.num_states(), cliff.num_actions()), (48, 4));
/// assert!(cliff.is_cliff(40));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CliffWalking {
    mdp: TabularMdp,
}

const GRID: Grid = Grid::new(4, 12);
const START: usize = 36;
const GOAL: usize = 47;

impl CliffWalking {
    /// Move up.
    pub const UP: usize = 0;
    /// Move right.
    pub const RIGHT: usize = 1;
    /// Move down.
    pub const DOWN: usize = 2;
    /// Move left.
    pub const LEFT: usize = 3;

    /// The environment of Example 6.6.
    pub fn new() -> Self {
        let mdp = TabularMdp::from_fn(GRID.len(), 4, vec![(START, 1.0)], |s, action| {
            let outcome = if s == GOAL {
                Transition::certain(s, 0.0, true)
            } else {
                let next = GRID.clamped(s, URDL[action]);
                if Self::cliff(next) {
                    Transition::certain(START, -100.0, false)
                } else {
                    Transition::certain(next, -1.0, next == GOAL)
                }
            };
            Ok(vec![outcome])
        })
        .expect("cliff walking dynamics are a valid MDP");
        Self { mdp }
    }

    fn cliff(state: usize) -> bool {
        (START + 1..GOAL).contains(&state)
    }

    /// Whether `state` is a cliff cell.
    pub fn is_cliff(&self, state: usize) -> bool {
        Self::cliff(state)
    }

    /// The start state (bottom-left).
    pub fn start(&self) -> usize {
        START
    }

    /// The goal state (bottom-right).
    pub fn goal(&self) -> usize {
        GOAL
    }
}

impl Default for CliffWalking {
    fn default() -> Self {
        Self::new()
    }
}

impl AsRef<TabularMdp> for CliffWalking {
    fn as_ref(&self) -> &TabularMdp {
        &self.mdp
    }
}

impl GridLayout for CliffWalking {
    fn grid(&self) -> Grid {
        GRID
    }

    fn action_symbol(&self, action: usize) -> &'static str {
        URDL_ARROWS[action]
    }
}
