//! The exact advantages of a token model's own policy on an enumerated text MDP, and how far an
//! advantage estimate is from them.

use burn::tensor::Device;

use crate::env::text::{TextMdp, TokenState};
use crate::error::{Error, Result};
use crate::lm::{TokenEpisode, TokenPositions};
use crate::policy::LogitsPolicy;
use crate::tabular::{FiniteMdp, PolicyTable, SolverConfig, evaluate_policy};
use crate::tensor_ops::{host_softmax, to_vec_f32};
use crate::text::TokenId;

/// `V^pi`, `Q^pi` and `A^pi = Q^pi - V^pi` of a policy on every state of a [`TextMdp`], solved
/// exactly: the truth that advantage estimators (a learned critic,
/// group baselines, Monte-Carlo values) are measured against.
///
/// [`ExactAdvantages::of_policy`] reads the policy off a model (its softmax at every prefix,
/// one pass), so the advantages are those of the model as it is now: the policy whose
/// gradient an update estimates.
///
/// # Example
///
/// ```
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch, TokenState};
/// use valuefn::lm::ExactAdvantages;
/// use valuefn::tabular::PolicyTable;
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?; // 6 token ids
/// let task = TokenTask::encode(&TextPair::new("ab", "b"), &tok)?;
/// let config = TextEnvConfig::new().with_max_new_tokens(1);
/// let env = TextGenerationEnv::new(vec![task.clone()], tok.vocabulary(), TokenMatch, &config)?;
/// let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new())?;
/// // The uniform policy: V = 1/6 at the start, the right token's advantage 1 - 1/6.
/// let uniform = PolicyTable::uniform(text_mdp.num_states(), 6);
/// let exact = ExactAdvantages::new(&text_mdp, uniform, 1.0)?;
/// let start = TokenState::new(task.prompt().clone());
/// let b = task.target()[0];
/// assert!((exact.value(&start)? - 1.0 / 6.0).abs() < 1e-12);
/// assert!((exact.advantage(&start, b)? - 5.0 / 6.0).abs() < 1e-12);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExactAdvantages<'m> {
    text_mdp: &'m TextMdp,
    policy: PolicyTable,
    gamma: f64,
    values: Vec<f64>,
}

impl<'m> ExactAdvantages<'m> {
    /// The values of `policy` (a row per state of `text_mdp`) with discount `gamma`, by
    /// synchronous policy-evaluation sweeps ([`evaluate_policy`]). A text MDP is a tree of
    /// prefixes, so the sweeps are exact once they have run its depth (a handful), and it
    /// scales to the hundreds of thousands of states a dense solve could not hold.
    ///
    /// # Errors
    ///
    /// As [`evaluate_policy`]: a policy that does not fit, `gamma` outside `[0, 1]`.
    pub fn new(text_mdp: &'m TextMdp, policy: PolicyTable, gamma: f64) -> Result<Self> {
        // A tree: after its depth in sweeps nothing moves at all, so stop only at 0 change.
        let config = SolverConfig::new()
            .with_gamma(gamma)
            .with_tolerance(f64::MIN_POSITIVE);
        let values = evaluate_policy(text_mdp, &policy, &config)?.values;
        Ok(Self {
            text_mdp,
            policy,
            gamma,
            values,
        })
    }

    /// The exact values of `model`'s policy (`softmax` of its logits at every prefix of
    /// `text_mdp`, computed in one batch on `device`; pass an inference model).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the model's vocabulary is not the MDP's action count; as
    /// the model's `logits` and [`ExactAdvantages::new`].
    pub fn of_policy<P: LogitsPolicy<Input = TokenPositions>>(
        model: &P,
        text_mdp: &'m TextMdp,
        gamma: f64,
        device: &Device,
    ) -> Result<Self> {
        let actions = text_mdp.mdp().num_actions();
        if model.num_actions() != actions {
            return Err(Error::ShapeMismatch {
                what: "model vocabulary (the text MDP's actions)",
                expected: vec![actions],
                actual: vec![model.num_actions()],
            });
        }
        let states = TokenPositions::from(crate::encode::ObservationEncoder::encode(
            &crate::encode::PaddedTokens,
            text_mdp.prefixes(),
            device,
        )?);
        let logits = to_vec_f32(model.logits(states)?);
        let probabilities = logits.chunks(actions).flat_map(host_softmax).collect();
        let policy = PolicyTable::new(text_mdp.num_states(), actions, probabilities)?;
        Self::new(text_mdp, policy, gamma)
    }

    /// The policy the values are of.
    pub fn policy(&self) -> &PolicyTable {
        &self.policy
    }

    /// `V^pi` of every state, in the MDP's index order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// `V^pi(state)`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownObservation`] for a state the MDP does not have.
    pub fn value(&self, state: &TokenState) -> Result<f64> {
        Ok(self.values[self.text_mdp.index_of(state)?])
    }

    /// `Q^pi(state, action) = E[r + gamma V^pi(s')]`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownObservation`] for a state the MDP does not have;
    /// [`Error::InvalidAction`] for an action outside the vocabulary.
    pub fn q_value(&self, state: &TokenState, action: TokenId) -> Result<f64> {
        let s = self.text_mdp.index_of(state)?;
        let mdp = self.text_mdp.mdp();
        if action >= mdp.num_actions() {
            return Err(Error::action(action, 0..mdp.num_actions()));
        }
        Ok(mdp
            .transitions(s, action)
            .iter()
            .map(|t| {
                let next = if t.terminal {
                    0.0
                } else {
                    self.values[t.next_state]
                };
                t.probability * (t.reward + self.gamma * next)
            })
            .sum())
    }

    /// `A^pi(state, action) = Q^pi(state, action) - V^pi(state)`.
    ///
    /// # Errors
    ///
    /// As [`ExactAdvantages::q_value`].
    pub fn advantage(&self, state: &TokenState, action: TokenId) -> Result<f64> {
        Ok(self.q_value(state, action)? - self.value(state)?)
    }

    /// `A^pi(s_t, a_t)` of each generated token of `episode` (`s_t` the prompt and the first
    /// `t` generated tokens).
    ///
    /// # Errors
    ///
    /// As [`ExactAdvantages::advantage`]: an episode of a prompt or length the MDP does not have.
    ///
    /// # Panics
    ///
    /// As [`TokenEpisode::completion`].
    pub fn episode_advantages(&self, episode: &TokenEpisode) -> Result<Vec<f64>> {
        let mut state = TokenState::new(episode.tokens[..episode.prompt_len].into());
        episode
            .completion()
            .iter()
            .map(|&token| {
                let a = self.advantage(&state, token)?;
                state.generated.push(token);
                Ok(a)
            })
            .collect()
    }
}

/// How far per-token advantage estimates `Â` are from the exact `A^pi` on the same tokens:
/// with errors `e = Â - A^pi`,
///
/// - `bias`: the mean error;
/// - `error_std`: the errors' standard deviation (the estimator's noise around its bias);
/// - `rmse`: `sqrt(mean e^2)`, both together;
/// - `correlation`: Pearson's between `Â` and `A^pi` (0 when either is constant);
/// - `scale`: the least-squares slope of `Â` on `A^pi` (how much the estimate stretches or
///   shrinks the truth; GRPO's division by the group's spread shows here).
///
/// A per-token estimate may be off by a term that depends only on the state (a sequence-level
/// baseline gives every token the whole episode's advantage): such a term does not bias the
/// policy gradient, but it shows in `bias` and `rmse`. `correlation` and `scale` are what the
/// gradient feels.
///
/// # Example
///
/// ```
/// use valuefn::lm::AdvantageErrors;
///
/// let exact = [1.0, -1.0, 0.5, -0.5];
/// let doubled: Vec<f64> = exact.iter().map(|a| 2.0 * a).collect();
/// let errors = AdvantageErrors::between(&doubled, &exact)?;
/// assert!((errors.correlation - 1.0).abs() < 1e-12 && (errors.scale - 2.0).abs() < 1e-12);
/// assert_eq!(errors.bias, 0.0);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AdvantageErrors {
    /// Tokens compared.
    pub tokens: usize,
    /// Mean of `Â - A^pi`.
    pub bias: f64,
    /// Standard deviation of `Â - A^pi`.
    pub error_std: f64,
    /// Root mean square of `Â - A^pi`.
    pub rmse: f64,
    /// Pearson correlation of `Â` and `A^pi`.
    pub correlation: f64,
    /// Least-squares slope of `Â` on `A^pi`.
    pub scale: f64,
}

impl AdvantageErrors {
    /// Compares `estimates` with `exact`, token by token.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for lengths that differ; [`Error::Empty`] for none;
    /// [`Error::NonFinite`] for a value that is not finite.
    pub fn between(estimates: &[f64], exact: &[f64]) -> Result<Self> {
        if estimates.len() != exact.len() {
            return Err(Error::ShapeMismatch {
                what: "advantage estimates (one per exact advantage)",
                expected: vec![exact.len()],
                actual: vec![estimates.len()],
            });
        }
        if exact.is_empty() {
            return Err(Error::Empty {
                what: "advantages to compare",
            });
        }
        for &x in estimates.iter().chain(exact) {
            crate::error::check_finite("advantage", x)?;
        }
        let n = exact.len() as f64;
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / n;
        let errors: Vec<f64> = estimates.iter().zip(exact).map(|(e, a)| e - a).collect();
        let bias = mean(&errors);
        let error_std = (errors.iter().map(|e| (e - bias).powi(2)).sum::<f64>() / n).sqrt();
        let rmse = (errors.iter().map(|e| e * e).sum::<f64>() / n).sqrt();
        let (me, ma) = (mean(estimates), mean(exact));
        let cov: f64 = estimates
            .iter()
            .zip(exact)
            .map(|(e, a)| (e - me) * (a - ma))
            .sum::<f64>()
            / n;
        let var = |xs: &[f64], m: f64| xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
        let (ve, va) = (var(estimates, me), var(exact, ma));
        let correlation = if ve > 0.0 && va > 0.0 {
            cov / (ve * va).sqrt()
        } else {
            0.0
        };
        let scale = if va > 0.0 { cov / va } else { 0.0 };
        Ok(Self {
            tokens: exact.len(),
            bias,
            error_std,
            rmse,
            correlation,
            scale,
        })
    }
}
