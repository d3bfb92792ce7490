//! A dense linear solver: Gaussian elimination with partial pivoting.
//!
//! The tabular MDPs this crate solves exactly have at most a few thousand states, where a dense
//! `O(n^3)` solve in `f64` is both fast enough and far more accurate than iterating.

/// Pivots smaller than this (relative to the matrix's largest entry) mean the system is singular.
const SINGULAR_PIVOT: f64 = 1e-12;

/// Solves `a x = b` for square row-major `a` (`n * n`). `None` when `a` is singular.
pub(crate) fn solve_dense(mut a: Vec<f64>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    debug_assert_eq!(a.len(), n * n);
    let scale = a.iter().fold(0.0_f64, |m, x| m.max(x.abs())).max(1.0);
    for col in 0..n {
        let pivot_row = (col..n)
            .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
            .unwrap_or(col);
        if a[pivot_row * n + col].abs() < SINGULAR_PIVOT * scale {
            return None;
        }
        if pivot_row != col {
            for k in 0..n {
                a.swap(col * n + k, pivot_row * n + k);
            }
            b.swap(col, pivot_row);
        }
        let pivot = a[col * n + col];
        for row in col + 1..n {
            let factor = a[row * n + col] / pivot;
            if factor != 0.0 {
                for k in col..n {
                    a[row * n + k] -= factor * a[col * n + k];
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row * n + row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_system_that_needs_pivoting() {
        // 0x + 2y = 4 ; 3x + 1y = 5  ->  x = 1, y = 2
        let x = solve_dense(vec![0.0, 2.0, 3.0, 1.0], vec![4.0, 5.0]).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12,
            "{x:?}"
        );
    }

    #[test]
    fn reports_singular_systems() {
        assert!(solve_dense(vec![1.0, 2.0, 2.0, 4.0], vec![1.0, 2.0]).is_none());
    }
}
