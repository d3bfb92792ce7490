//! The grid worlds of Sutton and Barto, Examples 3.5 and 4.1.

use crate::env::tabular::grid::{Grid, GridLayout, URDL, URDL_ARROWS};
use crate::tabular::{TabularMdp, Transition, uniform_start};

/// A book grid world. Actions are up, right, down, left (0..4); a move off the grid leaves the
/// agent in place.
///
/// - [`GridWorld::example_3_5`]: 5x5, continuing. Every action in cell A (row 0, column 1)
///   gives +10 and moves to A' (row 4, column 1); in B (row 0, column 3) +5 and moves to B'
///   (row 2, column 3); bumping into the edge gives -1; everything else 0.
/// - [`GridWorld::example_4_1`]: 4x4, episodic. The top-left and bottom-right corners are
///   terminal (value 0); every move costs -1.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::GridWorld;
/// use valuefn::tabular::FiniteMdp;
///
/// let grid = GridWorld::example_3_5();
/// let t = grid.transitions(1, GridWorld::LEFT)[0]; // from A, any action
/// assert_eq!((t.next_state, t.reward), (21, 10.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GridWorld {
    mdp: TabularMdp,
    grid: Grid,
}

impl GridWorld {
    /// Move up.
    pub const UP: usize = 0;
    /// Move right.
    pub const RIGHT: usize = 1;
    /// Move down.
    pub const DOWN: usize = 2;
    /// Move left.
    pub const LEFT: usize = 3;

    /// The 5x5 continuing grid world of Example 3.5 (Figure 3.2). Episodes, when simulated,
    /// start in a uniformly random cell and never end: wrap it in a
    /// [`crate::env::TimeLimit`].
    pub fn example_3_5() -> Self {
        let grid = Grid::new(5, 5);
        let (a, a_prime) = (grid.state(0, 1), grid.state(4, 1));
        let (b, b_prime) = (grid.state(0, 3), grid.state(2, 3));
        let mdp = TabularMdp::from_fn(grid.len(), 4, uniform_start(grid.len()), |s, action| {
            let outcome = if s == a {
                Transition::certain(a_prime, 10.0, false)
            } else if s == b {
                Transition::certain(b_prime, 5.0, false)
            } else {
                match grid.neighbour(s, URDL[action]) {
                    Some(next) => Transition::certain(next, 0.0, false),
                    None => Transition::certain(s, -1.0, false),
                }
            };
            Ok(vec![outcome])
        })
        .expect("Example 3.5 dynamics are a valid MDP");
        Self { mdp, grid }
    }

    /// The 4x4 episodic grid world of Example 4.1 (Figure 4.1). Episodes start in a uniformly
    /// random non-terminal cell.
    pub fn example_4_1() -> Self {
        let grid = Grid::new(4, 4);
        let terminal = |s: usize| s == 0 || s == grid.len() - 1;
        let starts: Vec<usize> = (0..grid.len()).filter(|&s| !terminal(s)).collect();
        let start_p = 1.0 / starts.len() as f64;
        let initial = starts.into_iter().map(|s| (s, start_p)).collect();
        let mdp = TabularMdp::from_fn(grid.len(), 4, initial, |s, action| {
            let outcome = if terminal(s) {
                Transition::certain(s, 0.0, true)
            } else {
                let next = grid.neighbour(s, URDL[action]).unwrap_or(s);
                Transition::certain(next, -1.0, terminal(next))
            };
            Ok(vec![outcome])
        })
        .expect("Example 4.1 dynamics are a valid MDP");
        Self { mdp, grid }
    }
}

impl AsRef<TabularMdp> for GridWorld {
    fn as_ref(&self) -> &TabularMdp {
        &self.mdp
    }
}

impl GridLayout for GridWorld {
    fn grid(&self) -> Grid {
        self.grid
    }

    fn action_symbol(&self, action: usize) -> &'static str {
        URDL_ARROWS[action]
    }
}
