//! The text-generation MDP: a language model writing a completion is an agent.
//!
//! State = the prompt plus the tokens generated so far ([`TokenState`]); action = the next
//! token id; reward = a [`TextReward`] of the step ([`TokenMatch`] by default: 1 when the
//! token equals the target's token at that position). An episode *terminates* when the agent
//! emits `<eos>`, or (with [`Stop::TargetLength`]) once it has generated as many tokens as the
//! target has, and at the latest after `max_new_tokens` tokens: the tokens generated are part
//! of the state, so that horizon is an end of the MDP (as in its exact model, [`TextMdp`], and
//! as TRL's PPO treats a completion cut there), not a time limit to bootstrap past. For a budget
//! that should bootstrap, wrap the environment in [`crate::env::TimeLimit`], which truncates.
//!
//! - [`TextGenerationEnv`]: one episode at a time, an [`Environment`].
//! - [`BatchedTextEnv`]: many episodes in lockstep (their states become the padded token-id and
//!   mask tensors a language model reads through [`crate::encode::PaddedTokens`]).
//! - [`TextMdp`]: the exact model of a small instance, enumerated prefix by prefix into a
//!   [`crate::tabular::TabularMdp`], so the solvers give `Q*` and `V*` of every prefix and
//!   tabular learners run on the environment through its index map ([`IndexedTextEnv`]).
//!
//! The maths (closed forms of `V*` and `Q*` for the per-token reward) is in `docs/text-mdp.md`.

mod batched;
mod decoded;
mod enumerate;
mod reward;
mod snapshot;
mod state;

pub use batched::BatchedTextEnv;
pub use decoded::{DecodedReward, TextDecoder, text_scores};
pub use enumerate::{IndexedTextEnv, TextMdp, TextMdpConfig};
pub use reward::{ExactMatch, TextReward, TokenF1, TokenMatch, TokenStep};
pub use snapshot::{TextEnvSnapshot, TextEpisodeSnapshot};
pub use state::{TokenSequences, TokenState};

use std::sync::Arc;

use burn::config::Config;
use rand::{RngExt, SeedableRng};

use crate::checkpoint::ChaCha12Rng;
use crate::env::{Environment, Step};
use crate::error::{Error, Result};
use crate::space::Discrete;
use crate::text::{TokenId, TokenTask, TokenVocabulary};

/// When an episode terminates (besides `<eos>`, which always ends it).
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub enum Stop {
    /// After as many tokens as the target has: the horizon is the target length, and
    /// `<eos>` is only a (wrong) early stop.
    TargetLength,
    /// Only at `<eos>`: the reference output is the target followed by `<eos>`, so emitting
    /// it at the right position is part of the task.
    Eos,
}

/// Settings of a [`TextGenerationEnv`].
#[derive(Config, Debug, PartialEq)]
pub struct TextEnvConfig {
    /// Episodes end (terminate) after this many generated tokens at the latest (at least 1,
    /// at most [`TokenSequences::MAX_LEN`], 2^20).
    #[config(default = 16)]
    pub max_new_tokens: usize,
    /// What terminates an episode besides `<eos>`.
    #[config(default = "Stop::TargetLength")]
    pub stop: Stop,
}

impl TextEnvConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `max_new_tokens` is 0 or beyond
    /// [`TokenSequences::MAX_LEN`].
    pub fn validate(&self) -> Result<()> {
        if self.max_new_tokens == 0 || self.max_new_tokens > TokenSequences::MAX_LEN {
            return Err(Error::config(
                "max_new_tokens",
                "in [1, 2^20] (TokenSequences::MAX_LEN)",
                self.max_new_tokens,
            ));
        }
        Ok(())
    }

    /// The number of tokens an episode of `task` can last.
    pub fn horizon(&self, task: &TokenTask) -> usize {
        match self.stop {
            Stop::TargetLength => self.max_new_tokens.min(task.target().len()),
            Stop::Eos => self.max_new_tokens,
        }
    }
}

/// What a step would give: see [`TextGenerationEnv::outcome`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// The reward.
    pub reward: f64,
    /// Whether the episode would end (`<eos>`, the target's length under
    /// [`Stop::TargetLength`], or `max_new_tokens`): the text environment never truncates.
    pub terminated: bool,
}

/// One episode in progress: which task, and the state.
#[derive(Debug, Clone)]
struct Episode {
    task: usize,
    state: TokenState,
}

/// Generating a completion token by token, scored by a [`TextReward`].
///
/// `reset` draws a task uniformly from the task list (with the environment's seeded
/// generator), so repeated prompts weight the prompt distribution and a prompt listed with
/// several targets has a random target: the reward is then stochastic given the state.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?;
/// let task = TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?;
/// let mut env = TextGenerationEnv::new(vec![task], tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let start = env.reset(Some(0));
/// assert_eq!(tok.decode(&start.prompt)?, "ab");
/// let b = tok.vocabulary().id("b").unwrap();
/// let step = env.step(b)?;
/// assert_eq!((step.reward, step.terminated), (1.0, false));
/// assert!(matches!(env.step(99), Err(Error::InvalidAction { .. }))); // no token 99; nothing moved
/// let step = env.step(b)?; // wrong: the target's second token is "a"
/// assert_eq!((step.reward, step.terminated), (0.0, true)); // target length reached
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct TextGenerationEnv<R = TokenMatch> {
    tasks: Arc<[TokenTask]>,
    reward: R,
    config: TextEnvConfig,
    observation_space: TokenSequences,
    action_space: Discrete,
    eos: Option<TokenId>,
    rng: ChaCha12Rng,
    episode: Option<Episode>,
}

impl<R: TextReward> TextGenerationEnv<R> {
    /// An environment over `tasks` with token ids from `vocabulary` (the crate's
    /// [`crate::text::Vocabulary`], or a pretrained [`crate::text::HfTokenizer`]): its size is
    /// the action space and its `<eos>` ends an episode.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for no tasks or an empty vocabulary; [`Error::InvalidAction`] for a
    /// task id outside the vocabulary; [`Error::InvalidConfig`] for a bad config, an `<eos>`
    /// outside the vocabulary or a target that holds `<eos>` (the end of a target is
    /// implicit); [`Error::TooLarge`] for a prompt
    /// longer than [`TokenSequences::MAX_LEN`].
    pub fn new(
        tasks: Vec<TokenTask>,
        vocabulary: &impl TokenVocabulary,
        reward: R,
        config: &TextEnvConfig,
    ) -> Result<Self> {
        config.validate()?;
        if tasks.is_empty() {
            return Err(Error::Empty { what: "task list" });
        }
        let (size, eos) = (vocabulary.vocab_size(), vocabulary.eos_id());
        let action_space = Discrete::new(size).map_err(|_| Error::Empty { what: "vocabulary" })?;
        if let Some(eos) = eos
            && eos >= size
        {
            // An `<eos>` the policy can never emit would never end an episode.
            return Err(Error::config(
                "vocabulary eos_id",
                "an id of the vocabulary",
                format!("{eos} with {size} ids"),
            ));
        }
        for task in &tasks {
            for &id in task.prompt().iter().chain(task.target().iter()) {
                action_space.check_action(id)?;
            }
            if let Some(eos) = eos
                && task.target().contains(&eos)
            {
                return Err(Error::config(
                    "target",
                    "free of <eos> (the environment adds the end position)",
                    format!("{:?}", task.target()),
                ));
            }
        }
        let max_prompt = tasks.iter().map(|t| t.prompt().len()).max().unwrap_or(0);
        Ok(Self {
            tasks: tasks.into(),
            reward,
            config: config.clone(),
            observation_space: TokenSequences::new(size, max_prompt, config.max_new_tokens)?,
            action_space,
            eos,
            rng: ChaCha12Rng::seed_from_u64(0),
            episode: None,
        })
    }

    /// The state of the episode in progress, `None` between episodes.
    pub fn state(&self) -> Option<&TokenState> {
        self.episode.as_ref().map(|e| &e.state)
    }

    /// The task of the episode in progress, `None` between episodes.
    pub fn current_task(&self) -> Option<&TokenTask> {
        self.episode.as_ref().map(|e| &self.tasks[e.task])
    }

    /// The index (in [`TextGenerationEnv::tasks`]) of the episode in progress, `None` between
    /// episodes.
    pub fn current_task_index(&self) -> Option<usize> {
        self.episode.as_ref().map(|e| e.task)
    }

    /// Starts an episode on task `index` (evaluation on a fixed prompt).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `index` is not a task index.
    pub fn reset_to_task(&mut self, index: usize) -> Result<TokenState> {
        if index >= self.tasks.len() {
            return Err(Error::config(
                "task index",
                "below the number of tasks",
                format!("{index} (of {} tasks)", self.tasks.len()),
            ));
        }
        let state = TokenState::new(self.tasks[index].prompt().clone());
        self.episode = Some(Episode {
            task: index,
            state: state.clone(),
        });
        Ok(state)
    }

    /// What stepping with `token` would give, computed without changing anything: `step`
    /// applies it, and [`BatchedTextEnv`] checks every copy with it before moving any.
    ///
    /// # Errors
    ///
    /// As [`Environment::step`]: no episode in progress, a token outside the vocabulary, or a
    /// reward that is NaN or infinite.
    pub fn outcome(&self, token: TokenId) -> Result<StepOutcome> {
        let episode = self.episode.as_ref().ok_or(Error::EpisodeFinished)?;
        let token = self.action_space.check_action(token)?;
        let task = &self.tasks[episode.task];
        let terminated = self.ends(task, episode.state.generated.len(), token);
        let reward = self.reward.reward(&TokenStep {
            prompt: task.prompt(),
            generated: &episode.state.generated,
            token,
            target: task.target(),
            done: terminated,
            eos: self.eos,
        });
        if !reward.is_finite() {
            return Err(Error::NonFinite {
                what: "reward",
                value: reward,
            });
        }
        Ok(StepOutcome { reward, terminated })
    }

    /// Whether emitting `token` after `generated` tokens of `task` ends the episode: `<eos>`,
    /// the target's length under [`Stop::TargetLength`], or the horizon `max_new_tokens`.
    fn ends(&self, task: &TokenTask, generated: usize, token: TokenId) -> bool {
        let length = generated + 1;
        Some(token) == self.eos
            || (self.config.stop == Stop::TargetLength && length >= task.target().len())
            || length >= self.config.max_new_tokens
    }
}

impl<R> TextGenerationEnv<R> {
    /// The id that ends an episode (`<eos>`), `None` when the vocabulary has none.
    pub fn eos_id(&self) -> Option<TokenId> {
        self.eos
    }

    /// The tasks.
    pub fn tasks(&self) -> &[TokenTask] {
        &self.tasks
    }

    /// The settings.
    pub fn config(&self) -> &TextEnvConfig {
        &self.config
    }

    /// The reward function.
    pub fn reward_fn(&self) -> &R {
        &self.reward
    }

    /// Number of token ids (the size of the action space).
    pub fn vocab_size(&self) -> usize {
        self.action_space.n()
    }

    /// A copy with the same tasks (shared), reward and config, no episode in progress, and a
    /// generator seeded with 0: reset it with a seed of its own. (Not `Clone`: two copies of one
    /// random stream would silently play identical episodes.)
    pub fn replica(&self) -> Self
    where
        R: Clone,
    {
        Self {
            tasks: self.tasks.clone(),
            reward: self.reward.clone(),
            config: self.config.clone(),
            observation_space: self.observation_space,
            action_space: self.action_space,
            eos: self.eos,
            rng: ChaCha12Rng::seed_from_u64(0),
            episode: None,
        }
    }
}

impl<R: TextReward> Environment for TextGenerationEnv<R> {
    type Observation = TokenState;
    type Action = TokenId;
    type ObservationSpace = TokenSequences;
    type ActionSpace = Discrete;

    fn observation_space(&self) -> &TokenSequences {
        &self.observation_space
    }

    fn action_space(&self) -> &Discrete {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> TokenState {
        if let Some(seed) = seed {
            self.rng = ChaCha12Rng::seed_from_u64(seed);
        }
        let index = self.rng.random_range(0..self.tasks.len());
        self.reset_to_task(index).expect("index drawn in range")
    }

    fn step(&mut self, token: TokenId) -> Result<Step<TokenState>> {
        let StepOutcome { reward, terminated } = self.outcome(token)?;
        let mut episode = self.episode.take().expect("checked above");
        episode.state.generated.push(token);
        let observation = episode.state.clone();
        if !terminated {
            self.episode = Some(episode);
        }
        Ok(Step {
            observation,
            reward,
            terminated,
            truncated: false,
        })
    }
}
