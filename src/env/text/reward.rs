//! What a generated token earns: the [`TextReward`] trait and the usual choices.

use std::collections::HashMap;

use crate::text::TokenId;

/// Everything a reward may depend on at one step of a [`super::TextGenerationEnv`].
///
/// Rewards are deterministic functions of this context; randomness comes from the task (a
/// prompt may have several targets, drawn at reset), which keeps the exact enumeration in
/// [`super::TextMdp`] possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenStep<'a> {
    /// The prompt ids.
    pub prompt: &'a [TokenId],
    /// The ids generated before this step.
    pub generated: &'a [TokenId],
    /// The id emitted at this step.
    pub token: TokenId,
    /// The episode's target ids (without `<eos>`).
    pub target: &'a [TokenId],
    /// Whether the episode ends with this step (`<eos>`, the target length, or
    /// `max_new_tokens`): rewards that score
    /// a whole output pay out here.
    pub done: bool,
    /// The environment's end-of-sequence id ([`crate::text::Vocabulary::EOS`] for the crate's
    /// vocabularies; a pretrained tokenizer's own), `None` when it has none.
    pub eos: Option<TokenId>,
}

impl TokenStep<'_> {
    /// The index of this step's token in the output (how many were generated before it).
    pub fn position(&self) -> usize {
        self.generated.len()
    }

    /// The token the reference output has at this position: the target's token, then `<eos>`
    /// right after the target, then nothing.
    pub fn reference_token(&self) -> Option<TokenId> {
        let pos = self.position();
        match pos.cmp(&self.target.len()) {
            std::cmp::Ordering::Less => Some(self.target[pos]),
            std::cmp::Ordering::Equal => self.eos,
            std::cmp::Ordering::Greater => None,
        }
    }

    /// The output after this step, without a final `<eos>`.
    pub fn output(&self) -> Vec<TokenId> {
        let mut out = self.generated.to_vec();
        if Some(self.token) != self.eos {
            out.push(self.token);
        }
        out
    }
}

/// A reward function of a text-generation environment.
///
/// Any `Fn(&TokenStep) -> f64` is one:
///
/// ```
/// use valuefn::env::text::{TextReward, TokenStep};
///
/// // -0.1 per token, a length penalty.
/// let cost = |_: &TokenStep| -0.1;
/// let step = TokenStep { prompt: &[1], generated: &[], token: 5, target: &[5], done: false, eos: Some(2) };
/// assert_eq!(cost.reward(&step), -0.1);
/// ```
///
/// A reward that returns NaN or an infinity makes `step` fail with
/// [`crate::Error::NonFinite`] (the episode is left as it was).
pub trait TextReward {
    /// The reward of `step`.
    fn reward(&self, step: &TokenStep<'_>) -> f64;
}

impl<F: Fn(&TokenStep<'_>) -> f64> TextReward for F {
    fn reward(&self, step: &TokenStep<'_>) -> f64 {
        self(step)
    }
}

/// 1 for each token equal to the reference token at its position (the target, then `<eos>`
/// when episodes stop at `<eos>`), else 0: the per-token reward of the mission statement.
///
/// With termination at the target length and `gamma = 1`, `V*` of a prefix is the number of
/// target positions still ahead (see `docs/text-mdp.md`).
///
/// ```
/// use valuefn::env::text::{TextReward, TokenMatch, TokenStep};
///
/// let step = TokenStep { prompt: &[1], generated: &[7], token: 8, target: &[7, 8], done: true, eos: Some(2) };
/// assert_eq!(TokenMatch.reward(&step), 1.0);
/// assert_eq!(TokenMatch.reward(&TokenStep { token: 9, ..step }), 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenMatch;

impl TextReward for TokenMatch {
    fn reward(&self, step: &TokenStep<'_>) -> f64 {
        f64::from(u8::from(step.reference_token() == Some(step.token)))
    }
}

/// 1 at the last step when the output (without `<eos>`) equals the target, else 0.
///
/// ```
/// use valuefn::env::text::{ExactMatch, TextReward, TokenStep};
///
/// let last = TokenStep { prompt: &[1], generated: &[7, 8], token: 2, target: &[7, 8], done: true, eos: Some(2) };
/// assert_eq!(ExactMatch.reward(&last), 1.0); // "7 8 <eos>"
/// assert_eq!(ExactMatch.reward(&TokenStep { done: false, ..last }), 0.0); // not scored yet
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExactMatch;

impl TextReward for ExactMatch {
    fn reward(&self, step: &TokenStep<'_>) -> f64 {
        f64::from(u8::from(step.done && step.output() == step.target))
    }
}

/// At the last step, the F1 score of the output's tokens against the target's, counted as
/// multisets (SQuAD-style token overlap); 0 before. The final `<eos>` is not part of the
/// output; any other token is counted, so emitting `<unk>` or `<pad>` lowers precision. An
/// empty output scores 0.
///
/// ```
/// use valuefn::env::text::{TextReward, TokenF1, TokenStep};
///
/// // output [7, 9] vs target [7, 8]: precision 1/2, recall 1/2, F1 1/2.
/// let last = TokenStep { prompt: &[1], generated: &[7], token: 9, target: &[7, 8], done: true, eos: Some(2) };
/// assert_eq!(TokenF1.reward(&last), 0.5);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenF1;

impl TextReward for TokenF1 {
    fn reward(&self, step: &TokenStep<'_>) -> f64 {
        if !step.done {
            return 0.0;
        }
        let counts = |ids: &[TokenId]| {
            let mut map: HashMap<TokenId, usize> = HashMap::new();
            for &id in ids {
                *map.entry(id).or_default() += 1;
            }
            map
        };
        let output = counts(&step.output());
        let target = counts(step.target);
        let output_len: usize = output.values().sum();
        let target_len: usize = target.values().sum();
        let overlap: usize = output
            .iter()
            .map(|(id, &n)| n.min(target.get(id).copied().unwrap_or(0)))
            .sum();
        if overlap == 0 {
            return 0.0;
        }
        let precision = overlap as f64 / output_len as f64;
        let recall = overlap as f64 / target_len as f64;
        2.0 * precision * recall / (precision + recall)
    }
}
