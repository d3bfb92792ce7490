//! Action selection from one row of Q values in host memory, for the tabular host path.
//!
//! The tensor selectors ([`ActionSelector`](crate::policy::ActionSelector)) pay a read-back per
//! call; a learner that keeps its table in a `Vec<f32>` selects here instead. Each method
//! mirrors its tensor twin draw for draw: the same calls on the caller's generator, in the
//! same order, on the same `f32` arithmetic, so a seeded run takes the same actions on either
//! path (Boltzmann's `exp` may differ from a backend's in the last bit; its draws are the same).

use rand::{Rng, RngExt};

use crate::policy::sample_row;
use crate::policy::{Boltzmann, EpsilonGreedy, Greedy};

/// A value-based selector that also runs on one row of Q values in host memory.
///
/// Implemented by [`Greedy`], [`EpsilonGreedy`] and [`Boltzmann`], with the distributions of
/// their [`ActionSelector`](crate::policy::ActionSelector) implementations.
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use valuefn::policy::{EpsilonGreedy, HostSelector};
///
/// let mut p = [0.0; 2];
/// EpsilonGreedy::new(0.2)?.row_probabilities(&[0.0, 1.0], &mut p);
/// assert!((p[0] - 0.1).abs() < 1e-6 && (p[1] - 0.9).abs() < 1e-6);
/// let a = EpsilonGreedy::new(0.0)?.select_row(&[0.0, 1.0], &mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(a, 1);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub trait HostSelector {
    /// `pi(a|s)` of one row of Q values `[A]`, written to `out` (`[A]`).
    ///
    /// # Panics
    ///
    /// When `out` is not as long as `q_row`.
    fn row_probabilities(&self, q_row: &[f32], out: &mut [f32]);

    /// One action for one row of Q values, drawn with `rng` exactly as the tensor selector
    /// draws for a batch of one row.
    ///
    /// # Panics
    ///
    /// When `q_row` is empty: there is no action to return.
    fn select_row<R: Rng + ?Sized>(&self, q_row: &[f32], rng: &mut R) -> usize;
}

/// The documented panic of [`HostSelector::select_row`] on an empty row.
fn assert_has_actions(q_row: &[f32]) {
    assert!(
        !q_row.is_empty(),
        "cannot select an action from an empty row of Q values: there are no actions"
    );
}

/// The maximum of a row ignoring NaN, and how many entries equal it (0 when the row is all
/// NaN: then every entry counts as tied, as the tensor selectors do).
fn max_and_ties(q_row: &[f32]) -> (f32, usize) {
    let max = q_row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (max, q_row.iter().filter(|&&q| q == max).count())
}

/// Writes the epsilon-greedy probabilities of a row with the tensor path's `f32` arithmetic.
fn epsilon_greedy_row(q_row: &[f32], epsilon: f64, out: &mut [f32]) {
    assert_eq!(out.len(), q_row.len(), "one probability per action");
    let actions = q_row.len();
    if actions == 0 {
        return;
    }
    out.fill((epsilon / actions as f64) as f32);
    let (max, ties) = max_and_ties(q_row);
    if ties == 0 {
        let share = ((1.0 - epsilon) / actions as f64) as f32;
        out.iter_mut().for_each(|p| *p += share);
    } else {
        let share = ((1.0 - epsilon) / ties as f64) as f32;
        for (p, &q) in out.iter_mut().zip(q_row) {
            if q == max {
                *p += share;
            }
        }
    }
}

impl HostSelector for Greedy {
    fn row_probabilities(&self, q_row: &[f32], out: &mut [f32]) {
        epsilon_greedy_row(q_row, 0.0, out);
    }

    fn select_row<R: Rng + ?Sized>(&self, q_row: &[f32], rng: &mut R) -> usize {
        assert_has_actions(q_row);
        let (max, ties) = max_and_ties(q_row);
        if ties == 0 {
            return rng.random_range(0..q_row.len());
        }
        let k = rng.random_range(0..ties);
        q_row
            .iter()
            .enumerate()
            .filter(|&(_, &q)| q == max)
            .nth(k)
            .map(|(a, _)| a)
            .expect("k < number of maximisers")
    }
}

impl HostSelector for EpsilonGreedy {
    fn row_probabilities(&self, q_row: &[f32], out: &mut [f32]) {
        epsilon_greedy_row(q_row, self.epsilon(), out);
    }

    fn select_row<R: Rng + ?Sized>(&self, q_row: &[f32], rng: &mut R) -> usize {
        // The tensor selector draws the greedy tie-break first, then whether to explore.
        let greedy = Greedy.select_row(q_row, rng);
        if rng.random_bool(self.epsilon()) {
            rng.random_range(0..q_row.len())
        } else {
            greedy
        }
    }
}

impl Boltzmann {
    /// `exp((q - max) / temperature)` of each entry and their sum, as burn's softmax computes
    /// them (subtracting the row maximum, then dividing by the temperature in `f32`).
    fn weights(&self, q_row: &[f32]) -> impl Iterator<Item = f32> + Clone {
        let max = q_row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let temperature = self.temperature() as f32;
        q_row.iter().map(move |&q| ((q - max) / temperature).exp())
    }
}

impl HostSelector for Boltzmann {
    fn row_probabilities(&self, q_row: &[f32], out: &mut [f32]) {
        assert_eq!(out.len(), q_row.len(), "one probability per action");
        let weights = self.weights(q_row);
        let sum: f32 = weights.clone().sum();
        for (p, w) in out.iter_mut().zip(weights) {
            *p = w / sum;
        }
    }

    fn select_row<R: Rng + ?Sized>(&self, q_row: &[f32], rng: &mut R) -> usize {
        assert_has_actions(q_row);
        let weights = self.weights(q_row);
        let sum: f32 = weights.clone().sum();
        let u: f32 = rng.random();
        let mut cumulative = 0.0f32;
        for (action, w) in weights.clone().enumerate() {
            cumulative += w / sum;
            if u < cumulative {
                return action;
            }
        }
        // As `sample_row`: rounding left the total under `u`.
        let probabilities: Vec<f32> = weights.map(|w| w / sum).collect();
        sample_row(&probabilities, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn greedy_picks_among_exact_ties_and_all_nan_rows_are_all_tied() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut seen = [0usize; 3];
        for _ in 0..300 {
            seen[Greedy.select_row(&[1.0, 5.0, 5.0], &mut rng)] += 1;
        }
        assert_eq!(seen[0], 0);
        assert!(seen[1] > 100 && seen[2] > 100, "{seen:?}");
        let mut p = [0.0; 3];
        Greedy.row_probabilities(&[f32::NAN; 3], &mut p);
        assert!(p.iter().all(|&x| (x - 1.0 / 3.0).abs() < 1e-7));
        Greedy.row_probabilities(&[f32::NAN, 2.0, 1.0], &mut p);
        assert_eq!(p, [0.0, 1.0, 0.0]);
    }

    #[test]
    fn boltzmann_row_probabilities_sum_to_one() {
        let mut p = [0.0; 2];
        Boltzmann::new(1.0)
            .unwrap()
            .row_probabilities(&[0.0, 2f32.ln()], &mut p);
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-6 && (p[1] - 2.0 / 3.0).abs() < 1e-6);
    }
}
