//! FrozenLake, with Gymnasium's maps, action order and transition model.

use crate::env::tabular::grid::{Grid, GridLayout};
use crate::error::{Error, Result};
use crate::tabular::{TabularMdp, Transition};

/// Gymnasium's `FrozenLake-v1`: walk from `S` to `G` over frozen tiles `F` without falling into
/// a hole `H`. Reaching `G` gives reward 1 and ends the episode; falling into `H` ends it with
/// reward 0. Actions are left, down, right, up (Gymnasium's order).
///
/// On slippery ice the agent moves in the intended direction or either perpendicular one, each
/// with probability 1/3; as in Gymnasium's `P` table the three outcomes are listed separately
/// even when two land on the same cell. Episodes start uniformly on the `S` tiles.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::FrozenLake;
/// use valuefn::tabular::FiniteMdp;
///
/// let lake = FrozenLake::four_by_four(true);
/// let outcomes = lake.transitions(0, FrozenLake::RIGHT);
/// let next: Vec<usize> = outcomes.iter().map(|t| t.next_state).collect();
/// assert_eq!(next, vec![4, 1, 0]); // down, right, up (clamped)
/// assert!(FrozenLake::from_map(&["SFX"], false).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenLake {
    mdp: TabularMdp,
    grid: Grid,
    tiles: Vec<u8>,
}

/// Gymnasium's `4x4` map.
pub const MAP_4X4: [&str; 4] = ["SFFF", "FHFH", "FFFH", "HFFG"];
/// Gymnasium's `8x8` map.
pub const MAP_8X8: [&str; 8] = [
    "SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG",
];
/// Left, down, right, up.
const LDRU: [(isize, isize); 4] = [(0, -1), (1, 0), (0, 1), (-1, 0)];
const LDRU_ARROWS: [&str; 4] = ["←", "↓", "→", "↑"];

impl FrozenLake {
    /// Move left.
    pub const LEFT: usize = 0;
    /// Move down.
    pub const DOWN: usize = 1;
    /// Move right.
    pub const RIGHT: usize = 2;
    /// Move up.
    pub const UP: usize = 3;

    /// Gymnasium's 4x4 map.
    pub fn four_by_four(slippery: bool) -> Self {
        Self::from_map(&MAP_4X4, slippery).expect("the built-in map is valid")
    }

    /// Gymnasium's 8x8 map.
    pub fn eight_by_eight(slippery: bool) -> Self {
        Self::from_map(&MAP_8X8, slippery).expect("the built-in map is valid")
    }

    /// A lake from rows of `S`, `F`, `H`, `G` tiles.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the map is empty, ragged, has another character, or has
    /// no `S` tile.
    pub fn from_map(rows: &[&str], slippery: bool) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.len());
        if cols == 0 || rows.iter().any(|r| r.len() != cols) {
            return Err(Error::config(
                "map",
                "non-empty rows of equal length",
                format!("{rows:?}"),
            ));
        }
        let tiles: Vec<u8> = rows.iter().flat_map(|r| r.bytes()).collect();
        if let Some(bad) = tiles.iter().find(|t| !b"SFHG".contains(t)) {
            return Err(Error::config(
                "map",
                "made of S, F, H and G tiles",
                char::from(*bad),
            ));
        }
        let starts: Vec<usize> = (0..tiles.len()).filter(|&s| tiles[s] == b'S').collect();
        if starts.is_empty() {
            return Err(Error::config(
                "map",
                "with at least one S tile",
                format!("{rows:?}"),
            ));
        }
        let grid = Grid::new(rows.len(), cols);
        let start_p = 1.0 / starts.len() as f64;
        let initial = starts.into_iter().map(|s| (s, start_p)).collect();
        let ends = |s: usize| matches!(tiles[s], b'H' | b'G');
        let mdp = TabularMdp::from_fn(grid.len(), 4, initial, |s, action| {
            if ends(s) {
                return Ok(vec![Transition::certain(s, 0.0, true)]);
            }
            let directions: Vec<usize> = if slippery {
                vec![(action + 3) % 4, action, (action + 1) % 4]
            } else {
                vec![action]
            };
            let p = 1.0 / directions.len() as f64;
            Ok(directions
                .into_iter()
                .map(|d| {
                    let next = grid.clamped(s, LDRU[d]);
                    let reward = if tiles[next] == b'G' { 1.0 } else { 0.0 };
                    Transition {
                        probability: p,
                        ..Transition::certain(next, reward, ends(next))
                    }
                })
                .collect())
        })?;
        Ok(Self { mdp, grid, tiles })
    }

    /// The tile letter of a state (`'S'`, `'F'`, `'H'` or `'G'`).
    pub fn tile(&self, state: usize) -> char {
        char::from(self.tiles[state])
    }
}

impl AsRef<TabularMdp> for FrozenLake {
    fn as_ref(&self) -> &TabularMdp {
        &self.mdp
    }
}

impl GridLayout for FrozenLake {
    fn grid(&self) -> Grid {
        self.grid
    }

    fn action_symbol(&self, action: usize) -> &'static str {
        LDRU_ARROWS[action]
    }
}
