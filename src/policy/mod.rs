//! Policies: a batch of states in, an action distribution (and sampled actions) out.

mod actor_critic;
mod categorical;
mod guided;
mod host;
mod kl;
mod selector;
mod tabular;

pub use actor_critic::{ActorCriticModel, PolicyAndValue, PolicyQValues, PolicyValue};
pub use categorical::{LogitsPolicy, entropy, log_prob};
pub(crate) use guided::check_weight;
pub use guided::{guided_logits, kl_divergence};
pub use host::HostSelector;
pub use kl::{KlEstimator, kl_estimates};
pub use selector::{ActionSelector, Boltzmann, EpsilonGreedy, EpsilonSchedule, Greedy};
pub use tabular::TabularPolicy;

use burn::tensor::Tensor;
use rand::{Rng, RngExt};

use crate::error::Result;
use crate::tensor_ops::to_vec_f32;

/// A stochastic policy over a finite action set.
///
/// Every random choice takes the caller's generator, so runs are reproducible from a seed.
pub trait Policy {
    /// A batch of states.
    type Input;

    /// `pi(a | s)` for each state of the batch and every action; rows sum to one.
    ///
    /// # Shapes
    ///
    /// - output: `[batch, num_actions]`
    ///
    /// # Errors
    ///
    /// When the input does not fit (a state out of range, a wrong shape).
    fn action_probabilities(&self, states: Self::Input) -> Result<Tensor<2>>;

    /// Draws one action per state. The provided method reads the probabilities back once and
    /// samples each row by inverse CDF with one uniform draw; policies with a cheaper rule
    /// (greedy, epsilon-greedy) override it.
    ///
    /// # Errors
    ///
    /// As [`Policy::action_probabilities`].
    fn sample_actions<R: Rng + ?Sized>(
        &self,
        states: Self::Input,
        rng: &mut R,
    ) -> Result<Vec<usize>> {
        let probabilities = self.action_probabilities(states)?;
        // With no actions there is nothing to sample (the rows would silently vanish).
        crate::tensor_ops::check_has_actions(
            "action probabilities (at least one action)",
            probabilities.dims(),
        )?;
        let [_, num_actions] = probabilities.dims();
        let flat = to_vec_f32(probabilities);
        Ok(flat
            .chunks(num_actions.max(1))
            .map(|row| sample_row(row, rng.random()))
            .collect())
    }
}

/// Inverse CDF: the first action whose cumulative probability exceeds `u`.
pub(crate) fn sample_row(row: &[f32], u: f32) -> usize {
    let mut cumulative = 0.0;
    for (action, p) in row.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return action;
        }
    }
    // Rounding can leave the total a hair under one: fall back to the last action with mass.
    row.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::sample_row;

    #[test]
    fn inverse_cdf_picks_the_interval_containing_u() {
        let row = [0.2, 0.0, 0.5, 0.3];
        assert_eq!(sample_row(&row, 0.0), 0);
        assert_eq!(sample_row(&row, 0.2), 2);
        assert_eq!(sample_row(&row, 0.69), 2);
        assert_eq!(sample_row(&row, 0.7), 3);
        assert_eq!(sample_row(&[0.5, 0.49999, 0.0], 0.999999), 1);
    }
}
