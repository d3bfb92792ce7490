//! Batched generation with incremental decoding: greedy, temperature, top-k, top-p.

use burn::config::Config;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::batch::TokenBatch;
use crate::error::{Error, Result, check_count, check_f32_scale};
use crate::lm::TokenDecoder;
use crate::tensor_ops::{host_log_softmax_at, to_vec_f32};
use crate::text::{TokenId, Vocabulary};

/// How the next token is chosen from the policy's logits.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum Sampling {
    /// The most probable token (ties to the lowest id).
    Greedy,
    /// A draw from `softmax(logits / temperature)`, restricted to the `top_k` most probable
    /// tokens and then to the smallest set whose probability reaches `top_p` (nucleus), both
    /// optional.
    Sample {
        /// Divides the logits (> 0); below 1 sharpens, above 1 flattens.
        temperature: f64,
        /// Keep only this many most probable tokens (>= 1).
        top_k: Option<usize>,
        /// Keep the smallest most-probable set of at least this probability, in `(0, 1]`.
        top_p: Option<f64>,
    },
}

/// Settings of [`generate`].
///
/// # Example
///
/// ```
/// use valuefn::lm::{GenerationConfig, Sampling};
///
/// let config = GenerationConfig::new(8).with_sampling(Sampling::Sample {
///     temperature: 0.7,
///     top_k: Some(5),
///     top_p: Some(0.9),
/// });
/// assert!(config.validate().is_ok());
/// assert!(GenerationConfig::new(0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct GenerationConfig {
    /// Tokens to generate at most per row (in `1..=2^20`: a body without a context limit, a
    /// GRU, would otherwise generate until memory runs out when no `<eos>` comes).
    pub max_new_tokens: usize,
    /// How each token is chosen.
    #[config(default = "Sampling::Greedy")]
    pub sampling: Sampling,
    /// Stop a row once it has generated `<eos>`.
    #[config(default = true)]
    pub stop_at_eos: bool,
    /// The id of `<eos>`: [`Vocabulary::EOS`] for the crate's vocabularies, a pretrained
    /// tokenizer's [`crate::text::HfTokenizer::eos_id`] for a loaded model.
    #[config(default = 2)]
    pub eos_id: TokenId,
    /// Seed of the draws.
    #[config(default = 0)]
    pub seed: u64,
}

impl GenerationConfig {
    /// The most tokens [`generate`] produces per row, `2^20`.
    pub const MAX_NEW_TOKENS: usize = 1 << 20;

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field; [`Error::TooLarge`] for more than
    /// [`GenerationConfig::MAX_NEW_TOKENS`] tokens.
    pub fn validate(&self) -> Result<()> {
        if self.max_new_tokens == 0 {
            return Err(Error::config("max_new_tokens", "at least 1", 0));
        }
        check_count(
            "max_new_tokens (tokens per row)",
            self.max_new_tokens,
            Self::MAX_NEW_TOKENS,
        )?;
        if let Sampling::Sample {
            temperature,
            top_k,
            top_p,
        } = self.sampling
        {
            check_f32_scale("sampling.temperature", temperature)?;
            if top_k == Some(0) {
                return Err(Error::config("sampling.top_k", "at least 1", 0));
            }
            if let Some(p) = top_p
                && !(p > 0.0 && p <= 1.0)
            {
                return Err(Error::config("sampling.top_p", "in (0, 1]", p));
            }
        }
        Ok(())
    }
}

/// What [`generate`] produced, per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The generated ids (ending with `<eos>` where a row stopped on it).
    pub tokens: Vec<Vec<TokenId>>,
    /// `log pi(token | prefix)` of each generated token under the decoder's distribution
    /// (`softmax` of its logits, before temperature and truncation).
    pub log_probs: Vec<Vec<f32>>,
}

/// Generates up to `config.max_new_tokens` tokens after each prompt of `prompts` with
/// incremental decoding by any [`TokenDecoder`] (a [`crate::lm::TokenModel`]'s policy, or
/// [`crate::lm::ValueGuided`] decoding): the prompts are read once
/// ([`crate::lm::TokenModel::prefill`]), then each token costs one
/// [`crate::lm::TokenModel::step`] (a cached position for a transformer, one recurrent step for
/// a GRU) and one read-back of the logits. A row stops at `<eos>` (when `stop_at_eos`) or at
/// the token limit; a row that stopped is fed `<pad>` while the others finish.
///
/// # Errors
///
/// As [`GenerationConfig::validate`] and [`crate::lm::TokenModel::check`]; [`Error::TooLarge`] when a
/// row would outgrow the body's context before it stops; [`Error::InvalidConfig`] for an
/// `eos_id` outside the model's vocabulary when `stop_at_eos` is set.
///
/// # Example
///
/// ```
/// use valuefn::encode::ObservationEncoder;
/// use valuefn::env::text::TokenState;
/// use valuefn::encode::PaddedTokens;
/// use valuefn::lm::{GenerationConfig, GruBodyConfig, TokenModel, generate};
///
/// let device = valuefn::device::default_device();
/// let model = TokenModel::new(GruBodyConfig::new(8).with_hidden(16).init(&device)?, 0, &device);
/// let prompts = PaddedTokens.encode(&[TokenState::new(vec![1, 4].into())], &device)?;
/// let out = generate(&model, &prompts, &GenerationConfig::new(3))?;
/// assert!(out.tokens[0].len() <= 3 && out.log_probs[0].len() == out.tokens[0].len());
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn generate<D: TokenDecoder>(
    model: &D,
    prompts: &TokenBatch,
    config: &GenerationConfig,
) -> Result<Generation> {
    config.validate()?;
    let vocab = model.vocab_size();
    if config.stop_at_eos && config.eos_id >= vocab {
        // An <eos> the model cannot emit would silently never stop a row.
        return Err(Error::config(
            "eos_id",
            "below the model's vocabulary size",
            format!("{} with {vocab} tokens", config.eos_id),
        ));
    }
    let (mut logits, mut decoding) = model.start(prompts)?;
    let rows = logits.dims()[0];
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut out = Generation {
        tokens: vec![Vec::new(); rows],
        log_probs: vec![Vec::new(); rows],
    };
    let mut done = vec![false; rows];
    let mut scratch = Vec::with_capacity(vocab);
    for step in 0..config.max_new_tokens {
        let read = to_vec_f32(logits);
        let mut next = vec![Vocabulary::PAD; rows];
        for (row, logits) in read.chunks(vocab).enumerate() {
            if done[row] {
                continue;
            }
            let token = choose(logits, config.sampling, &mut rng, &mut scratch);
            out.tokens[row].push(token);
            out.log_probs[row].push(host_log_softmax_at(logits, token));
            next[row] = token;
            done[row] = config.stop_at_eos && token == config.eos_id;
        }
        if step + 1 == config.max_new_tokens || done.iter().all(|&d| d) {
            break;
        }
        logits = model.advance(&next, &mut decoding)?;
    }
    Ok(out)
}

/// One token from one row of logits.
pub(crate) fn choose(
    logits: &[f32],
    sampling: Sampling,
    rng: &mut (impl rand::Rng + ?Sized),
    scratch: &mut Vec<(usize, f64)>,
) -> usize {
    let greedy = || {
        logits
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, &l)| {
                if l > best.1 { (i, l) } else { best }
            })
            .0
    };
    let Sampling::Sample {
        temperature,
        top_k,
        top_p,
    } = sampling
    else {
        return greedy();
    };
    // Weights at the temperature; the draw walks them most probable first (ties by id).
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    scratch.clear();
    scratch.extend(
        logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i, (f64::from(l - max) / temperature).exp())),
    );
    if top_p.is_some() {
        // The nucleus needs the cumulative mass in order: sort everything.
        scratch.sort_unstable_by(most_probable_first);
        if let Some(k) = top_k {
            scratch.truncate(k.max(1));
        }
        let total: f64 = scratch.iter().map(|(_, p)| p).sum();
        if let Some(p) = top_p {
            let mut cumulative = 0.0;
            let keep = scratch
                .iter()
                .position(|(_, q)| {
                    cumulative += q / total;
                    cumulative >= p
                })
                .map_or(scratch.len(), |i| i + 1);
            scratch.truncate(keep);
        }
    } else if let Some(k) = top_k {
        // The k most probable, in order, without sorting the rest.
        let k = k.max(1).min(scratch.len());
        if k < scratch.len() {
            scratch.select_nth_unstable_by(k - 1, most_probable_first);
            scratch.truncate(k);
        }
        scratch.sort_unstable_by(most_probable_first);
    }
    // Without top-p, the total is summed in id order: it differs from the sum in probability
    // order by rounding only (a draw could only change within ~1e-16 of a boundary).
    let total: f64 = scratch.iter().map(|(_, p)| p).sum();
    let u = rng.random::<f64>() * total;
    walk_most_probable_first(scratch, u).unwrap_or_else(greedy)
}

/// Descending weight, ties by ascending id: the order a draw walks the vocabulary in.
fn most_probable_first(a: &(usize, f64), b: &(usize, f64)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// The token at which `u` falls below 0 when the weights are subtracted most probable first,
/// or the least probable token when rounding leaves `u` above the total; `None` for no tokens.
///
/// Only the head of the order that the draw reaches is sorted: chunks of the most probable
/// remaining tokens (32, then doubling) are selected in linear time and sorted, so a peaked
/// distribution over 50k tokens costs one pass and a sort of 32, not a sort of 50k; a flat one
/// at most `O(V log V)`, as a full sort.
fn walk_most_probable_first(weights: &mut [(usize, f64)], mut u: f64) -> Option<usize> {
    let mut rest = weights;
    let mut chunk = 32;
    let mut last = None;
    while !rest.is_empty() {
        let k = chunk.min(rest.len());
        if k < rest.len() {
            rest.select_nth_unstable_by(k - 1, most_probable_first);
        }
        let (head, tail) = rest.split_at_mut(k);
        head.sort_unstable_by(most_probable_first);
        for &(token, p) in head.iter() {
            u -= p;
            if u < 0.0 {
                return Some(token);
            }
            last = Some(token);
        }
        rest = tail;
        chunk *= 2;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_and_top_p_keep_only_the_head_of_the_distribution() {
        let logits = [0.0f32, 3.0, 2.0, -1.0];
        let mut rng = StdRng::seed_from_u64(0);
        let mut scratch = Vec::new();
        let greedy = choose(&logits, Sampling::Greedy, &mut rng, &mut scratch);
        assert_eq!(greedy, 1);
        let top1 = Sampling::Sample {
            temperature: 1.0,
            top_k: Some(1),
            top_p: None,
        };
        let nucleus = Sampling::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: Some(0.5),
        };
        let top2 = Sampling::Sample {
            temperature: 1.0,
            top_k: Some(2),
            top_p: None,
        };
        let mut seen = [0usize; 4];
        for _ in 0..2000 {
            assert_eq!(choose(&logits, top1, &mut rng, &mut scratch), 1);
            // p(1) = e^3 / (1 + e^3 + e^2 + e^-1) = 0.705 >= 0.5: the nucleus is {1}.
            assert_eq!(choose(&logits, nucleus, &mut rng, &mut scratch), 1);
            seen[choose(&logits, top2, &mut rng, &mut scratch)] += 1;
        }
        // Among the top two, p(2) = e^2 / (e^3 + e^2) = 0.269.
        assert_eq!(seen[0] + seen[3], 0);
        let share = seen[2] as f64 / 2000.0;
        assert!((share - 0.269).abs() < 0.04, "{share}");
    }

    /// The draw of a full sort: every weight in order, then the inverse CDF.
    fn sorted_draw(logits: &[f32], temperature: f64, top_k: Option<usize>, u: f64) -> usize {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut all: Vec<(usize, f64)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i, (f64::from(l - max) / temperature).exp()))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(top_k.unwrap_or(usize::MAX).max(1));
        let mut u = u * all.iter().map(|(_, p)| p).sum::<f64>();
        for &(token, p) in &all {
            u -= p;
            if u < 0.0 {
                return token;
            }
        }
        all.last().unwrap().0
    }

    /// Walking only the head that the draw reaches picks the token a full sort picks: peaked,
    /// flat and tied logits over 1 to 5,000 ids, with and without top-k, the same uniform draw.
    #[test]
    fn the_partial_walk_draws_what_a_full_sort_draws() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut scratch = Vec::new();
        for case in 0..300 {
            let vocab = [1, 2, 31, 33, 100, 5000][case % 6];
            let scale = [0.0, 0.5, 3.0, 20.0][case % 4];
            let logits: Vec<f32> = (0..vocab)
                .map(|i| {
                    if case % 5 == 0 {
                        (i % 3) as f32 // ties
                    } else {
                        scale * rng.random::<f32>()
                    }
                })
                .collect();
            let temperature = [1.0, 0.7, 2.0][case % 3];
            for top_k in [None, Some(1), Some(40), Some(vocab + 5)] {
                let sampling = Sampling::Sample {
                    temperature,
                    top_k,
                    top_p: None,
                };
                let seed = rng.random::<u64>();
                let u = StdRng::seed_from_u64(seed).random::<f64>();
                let got = choose(
                    &logits,
                    sampling,
                    &mut StdRng::seed_from_u64(seed),
                    &mut scratch,
                );
                assert_eq!(
                    got,
                    sorted_draw(&logits, temperature, top_k, u),
                    "case {case}, vocab {vocab}, top-k {top_k:?}, u {u}"
                );
            }
        }
    }

    #[test]
    fn log_softmax_of_a_token() {
        let got = host_log_softmax_at(&[0.0, 2f32.ln()], 1);
        assert!((got - (2.0f32 / 3.0).ln()).abs() < 1e-6);
    }
}
