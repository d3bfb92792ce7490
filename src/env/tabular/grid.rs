//! Grid geometry shared by the grid-world environments.

use serde::{Deserialize, Serialize};

/// A `rows x cols` grid whose cells are numbered row-major from the top-left, as in Gymnasium.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::Grid;
///
/// let grid = Grid::new(4, 12);
/// assert_eq!(grid.state(3, 0), 36);
/// assert_eq!(grid.position(36), (3, 0));
/// assert_eq!(grid.neighbour(36, (1, 0)), None); // off the bottom edge
/// assert_eq!(grid.clamped(36, (1, -1)), 36);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    rows: usize,
    cols: usize,
}

impl Grid {
    /// A grid of `rows` by `cols` cells.
    pub const fn new(rows: usize, cols: usize) -> Self {
        Self { rows, cols }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of cells.
    ///
    /// # Panics
    ///
    /// In debug builds, when `rows * cols` overflows `usize`.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether the grid has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state index of a cell. Coordinates are not checked against the grid.
    ///
    /// # Panics
    ///
    /// In debug builds, when `row * cols + col` overflows `usize`.
    pub fn state(&self, row: usize, col: usize) -> usize {
        row * self.cols + col
    }

    /// The `(row, col)` of a state. The state is not checked against the grid.
    ///
    /// # Panics
    ///
    /// When the grid has no columns (division by zero), like [`Grid::neighbour`] and
    /// [`Grid::clamped`], which call it.
    pub fn position(&self, state: usize) -> (usize, usize) {
        (state / self.cols, state % self.cols)
    }

    /// The cell `(d_row, d_col)` away, or `None` when that leaves the grid.
    pub fn neighbour(&self, state: usize, (d_row, d_col): (isize, isize)) -> Option<usize> {
        let (row, col) = self.position(state);
        let row = row.checked_add_signed(d_row).filter(|&r| r < self.rows)?;
        let col = col.checked_add_signed(d_col).filter(|&c| c < self.cols)?;
        Some(self.state(row, col))
    }

    /// The cell `(d_row, d_col)` away, each coordinate clamped to the grid.
    ///
    /// # Panics
    ///
    /// When the grid is empty, as [`Grid::position`].
    pub fn clamped(&self, state: usize, (d_row, d_col): (isize, isize)) -> usize {
        let (row, col) = self.position(state);
        let clamp = |x: usize, d: isize, n: usize| x.saturating_add_signed(d).min(n - 1);
        self.state(clamp(row, d_row, self.rows), clamp(col, d_col, self.cols))
    }

    /// Renders one string per cell as a text grid with aligned columns.
    pub fn render(&self, cell: impl Fn(usize) -> String) -> String {
        let cells: Vec<String> = (0..self.len()).map(cell).collect();
        let width = cells.iter().map(|c| c.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for row in cells.chunks(self.cols) {
            let line: Vec<String> = row.iter().map(|c| format!("{c:>width$}")).collect();
            out.push_str(&line.join(" "));
            out.push('\n');
        }
        out
    }
}

/// A grid environment: its geometry and how to draw its actions.
pub trait GridLayout {
    /// The grid.
    fn grid(&self) -> Grid;

    /// An arrow (or short symbol) for `action`, for printing policies.
    ///
    /// # Panics
    ///
    /// The environments of this crate panic, as slice indexing does, when `action` is not
    /// below their number of actions.
    fn action_symbol(&self, action: usize) -> &'static str;
}

/// Up, right, down, left: the action order of Gymnasium's CliffWalking, used by the book grids.
pub(crate) const URDL: [(isize, isize); 4] = [(-1, 0), (0, 1), (1, 0), (0, -1)];
/// Arrows for [`URDL`].
pub(crate) const URDL_ARROWS: [&str; 4] = ["↑", "→", "↓", "←"];
