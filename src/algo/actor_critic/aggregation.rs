//! How the policy loss of a rollout's transitions is averaged: per token or per sequence.

use burn::config::Config;

use crate::returns::Rollout;

/// How [`crate::algo::actor_critic::ActorCritic`] averages the per-transition policy losses
/// `l_i` of a rollout. A *sequence* is one episode of one column of the rollout (a completion,
/// for a token rollout); only transitions the mask counts take part. With `N` transitions in
/// `S` sequences, sequence `s` holding `L_s` of them:
///
/// | variant | loss | used by |
/// |---|---|---|
/// | `TokenMean` | `(1 / N) sum_i l_i` | PPO as most libraries run it, DAPO, Dr. GRPO (up to a constant) |
/// | `SequenceSum` | `(1 / S) sum_s sum_{i in s} l_i` | REINFORCE-style sequence losses; Dr. GRPO's constant-normalised sum |
/// | `SequenceMean` | `(1 / S) sum_s (1 / L_s) sum_{i in s} l_i` | GRPO as published (Shao et al. 2024) |
///
/// The choice sets how much each token counts: `SequenceMean` gives a token of a short
/// sequence more weight than one of a long sequence, so a negative advantage pushes long
/// wrong answers less (the length bias Dr. GRPO removes); `TokenMean` weighs every token alike.
///
/// It is applied as a weight `w_i` on each transition's advantage (`w_i = N / S` or
/// `N / (S L_s)`), which is exact for PPO's clipped surrogate too (a positive factor passes
/// through the `min` and the clip), so a minibatch's mean stays an unbiased estimate of the
/// rollout's loss. The value loss and the entropy bonus stay token means.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum LossAggregation {
    /// Mean over transitions.
    TokenMean,
    /// Mean over sequences of each sequence's sum.
    SequenceSum,
    /// Mean over sequences of each sequence's mean.
    SequenceMean,
}

impl LossAggregation {
    /// The weight of each of the rollout's `T * B` transitions (time-major; 0 where `mask` says
    /// it does not count), or `None` for `TokenMean` (all 1).
    pub(crate) fn weights(&self, rollout: &Rollout, mask: Option<&[bool]>) -> Option<Vec<f32>> {
        if *self == LossAggregation::TokenMean {
            return None;
        }
        let [steps, envs] = rollout.shape();
        let counts = |i: usize| mask.is_none_or(|m| m[i]);
        // Sequence index of each counted transition, and each sequence's length.
        let mut sequence = vec![usize::MAX; steps * envs];
        let mut lengths: Vec<usize> = Vec::new();
        for b in 0..envs {
            let mut open: Option<usize> = None;
            for t in 0..steps {
                let i = t * envs + b;
                if counts(i) {
                    let s = *open.get_or_insert_with(|| {
                        lengths.push(0);
                        lengths.len() - 1
                    });
                    sequence[i] = s;
                    lengths[s] += 1;
                }
                if rollout.done(i) {
                    open = None;
                }
            }
        }
        let n: usize = lengths.iter().sum();
        let s = lengths.len().max(1) as f64;
        Some(
            sequence
                .iter()
                .map(|&seq| {
                    if seq == usize::MAX {
                        return 0.0;
                    }
                    let per_sequence = n as f64 / s;
                    match self {
                        LossAggregation::SequenceSum => per_sequence as f32,
                        _ => (per_sequence / lengths[seq] as f64) as f32,
                    }
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two columns: an episode of 3 steps, then one of 1 step followed by 2 padding steps.
    fn rollout() -> (Rollout, Vec<bool>) {
        let device = crate::device::default_device();
        let terminated = vec![false, true, false, true, true, true];
        let rollout =
            Rollout::new(3, 2, vec![0.0; 6], terminated, vec![false; 6], &device).unwrap();
        (rollout, vec![true, true, true, false, true, false])
    }

    #[test]
    fn weights_follow_the_formulas() {
        let (rollout, mask) = rollout();
        assert_eq!(
            LossAggregation::TokenMean.weights(&rollout, Some(&mask)),
            None
        );
        // N = 4 transitions in S = 2 sequences of 3 and 1.
        let sum = LossAggregation::SequenceSum
            .weights(&rollout, Some(&mask))
            .unwrap();
        assert_eq!(sum, vec![2.0, 2.0, 2.0, 0.0, 2.0, 0.0]);
        let mean = LossAggregation::SequenceMean
            .weights(&rollout, Some(&mask))
            .unwrap();
        assert_eq!(mean, vec![2.0 / 3.0, 2.0, 2.0 / 3.0, 0.0, 2.0 / 3.0, 0.0]);
        // The weighted mean over counted transitions is the sequence mean of token means.
        let l = [1.0f32, 10.0, 2.0, 0.0, 3.0, 0.0];
        let loss: f32 = l.iter().zip(&mean).map(|(l, w)| l * w).sum::<f32>() / 4.0;
        assert!((loss - ((1.0 + 2.0 + 3.0) / 3.0 + 10.0) / 2.0).abs() < 1e-6);
    }
}
