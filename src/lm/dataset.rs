//! Datasets of scored completions (prompt, completion, reward) for offline learning, as JSON
//! lines.

use std::path::Path;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::env::text::{TextGenerationEnv, TextReward};
use crate::error::{Error, Result, check_count};
use crate::lm::{LmBody, TokenCollector, TokenEpisode, TokenModel, TokenReplay};
use crate::replay::Replay;
use crate::text::TokenId;
use crate::text::vocab::read_text;

/// How a completion was scored: one number for the whole completion (paid on its last token,
/// the usual case for a reward model or a pass/fail check), or one per generated token.
#[derive(Debug, Clone, PartialEq)]
pub enum CompletionReward {
    /// A reward for the whole completion.
    Total(f64),
    /// A reward per completion token.
    PerToken(Vec<f64>),
}

/// One scored completion: token ids of the prompt (including `<bos>` where the model reads
/// one) and of the completion, its reward, and whether it ended on its own (`<eos>` or the
/// task's length) rather than being cut at a token limit.
///
/// Serialised as one JSON object: `{"prompt": [1, 4], "completion": [5, 2], "reward": 1.0}`, or
/// `"rewards": [1.0, 0.0]` for per-token rewards; `"terminated"` defaults to `true`.
/// Deserialisation checks what [`ScoredCompletion::new`] checks.
///
/// # Example
///
/// ```
/// use valuefn::lm::{CompletionReward, ScoredCompletion};
///
/// let item = ScoredCompletion::new(vec![1, 4], vec![5, 2], CompletionReward::Total(1.0), true)?;
/// assert_eq!(item.token_rewards(), vec![0.0, 1.0]);
/// let json = serde_json::to_string(&item).unwrap();
/// assert_eq!(json, r#"{"prompt":[1,4],"completion":[5,2],"reward":1.0,"terminated":true}"#);
/// assert!(serde_json::from_str::<ScoredCompletion>(r#"{"prompt":[1],"completion":[],"reward":1}"#).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCompletion", into = "RawCompletion")]
pub struct ScoredCompletion {
    prompt: Vec<TokenId>,
    completion: Vec<TokenId>,
    reward: CompletionReward,
    terminated: bool,
}

/// The serialised form of [`ScoredCompletion`].
#[derive(Serialize, Deserialize)]
struct RawCompletion {
    prompt: Vec<TokenId>,
    completion: Vec<TokenId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reward: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rewards: Option<Vec<f64>>,
    #[serde(default = "ended")]
    terminated: bool,
}

fn ended() -> bool {
    true
}

impl TryFrom<RawCompletion> for ScoredCompletion {
    type Error = Error;

    fn try_from(raw: RawCompletion) -> Result<Self> {
        let reward = match (raw.reward, raw.rewards) {
            (Some(total), None) => CompletionReward::Total(total),
            (None, Some(per_token)) => CompletionReward::PerToken(per_token),
            (total, per_token) => {
                return Err(Error::config(
                    "scored completion reward",
                    "exactly one of \"reward\" and \"rewards\"",
                    format!(
                        "reward {}, rewards {}",
                        if total.is_some() { "given" } else { "absent" },
                        if per_token.is_some() {
                            "given"
                        } else {
                            "absent"
                        }
                    ),
                ));
            }
        };
        Self::new(raw.prompt, raw.completion, reward, raw.terminated)
    }
}

impl From<ScoredCompletion> for RawCompletion {
    fn from(item: ScoredCompletion) -> Self {
        let (reward, rewards) = match item.reward {
            CompletionReward::Total(total) => (Some(total), None),
            CompletionReward::PerToken(per_token) => (None, Some(per_token)),
        };
        Self {
            prompt: item.prompt,
            completion: item.completion,
            reward,
            rewards,
            terminated: item.terminated,
        }
    }
}

impl ScoredCompletion {
    /// A scored completion.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty prompt or completion; [`Error::NonFinite`] for a reward
    /// that is not finite; [`Error::ShapeMismatch`] for per-token rewards of another length
    /// than the completion.
    pub fn new(
        prompt: Vec<TokenId>,
        completion: Vec<TokenId>,
        reward: CompletionReward,
        terminated: bool,
    ) -> Result<Self> {
        if prompt.is_empty() {
            return Err(Error::Empty {
                what: "scored completion prompt",
            });
        }
        if completion.is_empty() {
            return Err(Error::Empty {
                what: "scored completion",
            });
        }
        let values: &[f64] = match &reward {
            CompletionReward::Total(total) => std::slice::from_ref(total),
            CompletionReward::PerToken(per_token) => {
                if per_token.len() != completion.len() {
                    return Err(Error::ShapeMismatch {
                        what: "per-token rewards (one per completion token)",
                        expected: vec![completion.len()],
                        actual: vec![per_token.len()],
                    });
                }
                per_token
            }
        };
        if let Some(&bad) = values.iter().find(|r| !r.is_finite()) {
            return Err(Error::NonFinite {
                what: "completion reward",
                value: bad,
            });
        }
        Ok(Self {
            prompt,
            completion,
            reward,
            terminated,
        })
    }

    /// A played episode with its per-token rewards.
    ///
    /// # Errors
    ///
    /// As [`ScoredCompletion::new`].
    pub fn from_episode(episode: &TokenEpisode) -> Result<Self> {
        if episode.prompt_len > episode.tokens.len() {
            return Err(Error::ShapeMismatch {
                what: "episode prompt length (at most its tokens)",
                expected: vec![episode.tokens.len()],
                actual: vec![episode.prompt_len],
            });
        }
        Self::new(
            episode.tokens[..episode.prompt_len].to_vec(),
            episode.completion().to_vec(),
            CompletionReward::PerToken(episode.rewards.clone()),
            episode.terminated,
        )
    }

    /// The prompt's ids.
    pub fn prompt(&self) -> &[TokenId] {
        &self.prompt
    }

    /// The completion's ids.
    pub fn completion(&self) -> &[TokenId] {
        &self.completion
    }

    /// The reward as given.
    pub fn reward(&self) -> &CompletionReward {
        &self.reward
    }

    /// Whether the completion ended on its own.
    pub fn terminated(&self) -> bool {
        self.terminated
    }

    /// The reward of each completion token (a total is paid on the last token).
    pub fn token_rewards(&self) -> Vec<f64> {
        match &self.reward {
            CompletionReward::PerToken(per_token) => per_token.clone(),
            CompletionReward::Total(total) => {
                let mut rewards = vec![0.0; self.completion.len()];
                rewards[self.completion.len() - 1] = *total;
                rewards
            }
        }
    }

    /// The total reward.
    pub fn total_reward(&self) -> f64 {
        match &self.reward {
            CompletionReward::Total(total) => *total,
            CompletionReward::PerToken(per_token) => per_token.iter().sum(),
        }
    }

    /// As an episode (what [`TokenReplay::push`] stores).
    pub fn to_episode(&self) -> TokenEpisode {
        TokenEpisode {
            tokens: self
                .prompt
                .iter()
                .chain(&self.completion)
                .copied()
                .collect(),
            prompt_len: self.prompt.len(),
            rewards: self.token_rewards(),
            terminated: self.terminated,
        }
    }
}

/// A dataset of [`ScoredCompletion`]s: what offline learners ([`crate::algo::ilql::Ilql`])
/// learn from. Build it from a model's own samples scored by an environment's
/// [`TextReward`] ([`ScoredCompletions::sample`]), or from any source as JSON lines (one
/// [`ScoredCompletion`] per line); [`ScoredCompletions::replay`] lays it out for sampling.
///
/// # Example
///
/// ```
/// use valuefn::lm::{CompletionReward, ScoredCompletion, ScoredCompletions};
///
/// let lines = "{\"prompt\":[1,4],\"completion\":[5,2],\"reward\":1.0}\n\
///              {\"prompt\":[1,5],\"completion\":[4],\"rewards\":[0.5],\"terminated\":false}\n";
/// let data = ScoredCompletions::from_json_lines(lines, "inline")?;
/// assert_eq!(data.len(), 2);
/// assert_eq!(data.mean_reward(), 0.75);
/// assert_eq!(ScoredCompletions::from_json_lines(&data.to_json_lines()?, "again")?, data);
/// let err = ScoredCompletions::from_json_lines("{\"prompt\":[1]}\n", "bad.jsonl").unwrap_err();
/// assert!(err.to_string().contains("bad.jsonl, line 1"));
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoredCompletions {
    items: Vec<ScoredCompletion>,
}

impl ScoredCompletions {
    /// A dataset of `items`.
    pub fn new(items: Vec<ScoredCompletion>) -> Self {
        Self { items }
    }

    /// `count` completions sampled from `model`'s policy on `env`'s tasks (episodes of
    /// [`TokenCollector`], 64 at a time, seeded from `seed`), each scored per token by the
    /// environment's reward.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `count` is 0; [`Error::TooLarge`] above `2^32`; as
    /// [`TokenCollector::collect`]. Episodes that
    /// generated nothing (none can: every episode takes at least one step) are an error too.
    pub fn sample<B: LmBody, R: TextReward + Clone>(
        model: &TokenModel<B>,
        env: &TextGenerationEnv<R>,
        count: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        if count == 0 {
            return Err(Error::config("count", "at least 1", 0));
        }
        check_count("scored completions to sample", count, 1 << 32)?;
        let mut rollouts = TokenCollector::new(env, count.min(64), seed)?;
        let mut items = Vec::with_capacity(count.min(1 << 12));
        while items.len() < count {
            for episode in rollouts.collect(model, device)?.episodes {
                if items.len() < count {
                    items.push(ScoredCompletion::from_episode(&episode)?);
                }
            }
        }
        Ok(Self { items })
    }

    /// Number of completions.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The completions.
    pub fn items(&self) -> &[ScoredCompletion] {
        &self.items
    }

    /// Mean total reward per completion (0 for an empty dataset).
    pub fn mean_reward(&self) -> f64 {
        let total: f64 = self.items.iter().map(ScoredCompletion::total_reward).sum();
        total / self.items.len().max(1) as f64
    }

    /// Every completion token as a transition in a [`TokenReplay`] discounting with `gamma`
    /// (its capacity is the dataset's token count, so nothing is evicted).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty dataset; as [`TokenReplay::new`] (a dataset of more than
    /// [`TokenReplay::MAX_CAPACITY`] tokens, a bad `gamma`).
    pub fn replay(&self, gamma: f64) -> Result<TokenReplay> {
        let tokens: usize = self.items.iter().map(|c| c.completion.len()).sum();
        if tokens == 0 {
            return Err(Error::Empty {
                what: "scored completions",
            });
        }
        let mut replay = TokenReplay::new(tokens, gamma)?;
        for item in &self.items {
            replay.push(&item.to_episode())?;
        }
        Ok(replay)
    }

    /// The dataset as JSON lines.
    ///
    /// # Errors
    ///
    /// Never in practice (every field serialises); typed for symmetry with loading.
    pub fn to_json_lines(&self) -> Result<String> {
        let mut out = String::new();
        for item in &self.items {
            let line = serde_json::to_string(item)
                .map_err(|e| Error::config("scored completion", "serialisable", e.to_string()))?;
            out.push_str(&line);
            out.push('\n');
        }
        Ok(out)
    }

    /// Parses JSON lines (blank lines are skipped); `source_name` names the text in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] naming the line of the first malformed or invalid completion;
    /// [`Error::Empty`] when there is none.
    pub fn from_json_lines(text: &str, source_name: &str) -> Result<Self> {
        let mut items = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let item = serde_json::from_str(line).map_err(|e| Error::Parse {
                source_name: source_name.to_string(),
                line: index + 1,
                message: e.to_string(),
            })?;
            items.push(item);
        }
        if items.is_empty() {
            return Err(Error::Empty {
                what: "scored completions file",
            });
        }
        Ok(Self { items })
    }

    /// Writes the dataset to `path` as JSON lines.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json_lines()?).map_err(|e| Error::io("write", path, e))
    }

    /// Reads a dataset written by [`ScoredCompletions::save`] (or any JSON lines of the same
    /// form).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read; as [`ScoredCompletions::from_json_lines`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_json_lines(&read_text(path)?, &path.display().to_string())
    }
}
