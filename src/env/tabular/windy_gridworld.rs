//! Windy gridworld, Sutton and Barto Example 6.5 (and Exercise 6.9's king's moves).

use crate::env::tabular::grid::{Grid, GridLayout, URDL, URDL_ARROWS};
use crate::tabular::{TabularMdp, Transition};

/// A 7x10 grid with an upward wind in the middle columns (strengths 0 0 0 1 1 1 2 2 1 0): after
/// each move the agent is pushed up by the wind of the column it moved *from*, and positions
/// are clamped to the grid. Start at row 3, column 0; goal at row 3, column 7; every step costs
/// -1 until the goal ends the episode.
///
/// The shortest episode takes 15 steps with the four standard moves and 7 with king's moves.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::WindyGridworld;
/// use valuefn::tabular::FiniteMdp;
///
/// let windy = WindyGridworld::new();
/// // From row 3, column 3 (wind 1), moving right lands one row up, in column 4.
/// let t = windy.transitions(33, WindyGridworld::RIGHT)[0];
/// assert_eq!(t.next_state, 24);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WindyGridworld {
    mdp: TabularMdp,
    moves: &'static [(isize, isize)],
}

const GRID: Grid = Grid::new(7, 10);
const WIND: [isize; 10] = [0, 0, 0, 1, 1, 1, 2, 2, 1, 0];
const START: usize = 30;
const GOAL: usize = 37;
/// The four moves, then the diagonals: up-right, down-right, down-left, up-left.
const KINGS_MOVES: [(isize, isize); 8] = [
    (-1, 0),
    (0, 1),
    (1, 0),
    (0, -1),
    (-1, 1),
    (1, 1),
    (1, -1),
    (-1, -1),
];
const KINGS_ARROWS: [&str; 8] = ["↑", "→", "↓", "←", "↗", "↘", "↙", "↖"];

impl WindyGridworld {
    /// Move up.
    pub const UP: usize = 0;
    /// Move right.
    pub const RIGHT: usize = 1;
    /// Move down.
    pub const DOWN: usize = 2;
    /// Move left.
    pub const LEFT: usize = 3;

    /// Example 6.5: four moves (up, right, down, left).
    pub fn new() -> Self {
        Self::with_moves(&URDL)
    }

    /// Exercise 6.9: eight king's moves (the four of [`WindyGridworld::new`], then up-right,
    /// down-right, down-left, up-left).
    pub fn kings_moves() -> Self {
        Self::with_moves(&KINGS_MOVES)
    }

    fn with_moves(moves: &'static [(isize, isize)]) -> Self {
        let mdp = TabularMdp::from_fn(GRID.len(), moves.len(), vec![(START, 1.0)], |s, action| {
            let outcome = if s == GOAL {
                Transition::certain(s, 0.0, true)
            } else {
                let (_, col) = GRID.position(s);
                let (d_row, d_col) = moves[action];
                let next = GRID.clamped(s, (d_row - WIND[col], d_col));
                Transition::certain(next, -1.0, next == GOAL)
            };
            Ok(vec![outcome])
        })
        .expect("windy gridworld dynamics are a valid MDP");
        Self { mdp, moves }
    }

    /// The start state (row 3, column 0).
    pub fn start(&self) -> usize {
        START
    }

    /// The goal state (row 3, column 7).
    pub fn goal(&self) -> usize {
        GOAL
    }

    /// Wind strength of each column.
    pub fn wind(&self) -> [isize; 10] {
        WIND
    }
}

impl Default for WindyGridworld {
    fn default() -> Self {
        Self::new()
    }
}

impl AsRef<TabularMdp> for WindyGridworld {
    fn as_ref(&self) -> &TabularMdp {
        &self.mdp
    }
}

impl GridLayout for WindyGridworld {
    fn grid(&self) -> Grid {
        GRID
    }

    fn action_symbol(&self, action: usize) -> &'static str {
        if self.moves.len() == 4 {
            URDL_ARROWS[action]
        } else {
            KINGS_ARROWS[action]
        }
    }
}
