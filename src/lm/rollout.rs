//! Token rollouts: episodes of the text MDP played by a token model with incremental decoding,
//! laid out for [`crate::algo::actor_critic::ActorCritic`].

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use serde::Serialize;

use crate::algo::TrainRun;
use crate::algo::actor_critic::RolloutSource;
use crate::batch::TokenBatch;
use crate::batch::{RolloutBatch, RolloutScores};
use crate::checkpoint::{ChaCha12Rng, RngState};
use crate::encode::ObservationEncoder;
use crate::encode::PaddedTokens;
use crate::env::text::{Stop, TextEnvSnapshot, TextGenerationEnv, TextReward, TokenState};
use crate::env::{Environment, Snapshot, restore_all};
use crate::error::{Error, Result, check_count};
use crate::lm::generate::choose;
use crate::lm::{LmBody, Sampling, TokenDecoder, TokenModel, TokenPositions, ValueDecoder};
use crate::policy::ActorCriticModel;
use crate::returns::{Groups, Rollout};
use crate::tensor_ops::{host_log_softmax_at, index_tensor, to_vec_f32};
use crate::text::{TokenId, TokenTask, Vocabulary};

/// Episodes played in lockstep: what [`play`] returns.
struct Played {
    /// Each row's prompt length.
    prompts: Vec<usize>,
    /// Each row's final sequence (prompt and generated tokens).
    states: Vec<TokenState>,
    /// Per step `t` and row `b` (time-major): the token, reward, whether the episode ended
    /// there (a text environment never truncates: its horizon is part of the state), and
    /// whether the row was still playing.
    actions: Vec<TokenId>,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    mask: Vec<bool>,
    steps: usize,
    /// What a [`ValueDecoder`] said, when the player had one.
    scores: Option<PlayedScores>,
}

/// `V(s_t)` and `log pi(a_t | s_t)` per step and row (time-major).
#[derive(Default)]
struct PlayedScores {
    values: Vec<f32>,
    log_probs: Vec<f32>,
}

/// How [`play`] reads a model: logits, and values when it has them.
trait Player {
    type State;
    fn decoder_vocab(&self) -> usize;
    fn begin(&self, prompts: &TokenBatch) -> Result<(Tensor<2>, Option<Tensor<1>>, Self::State)>;
    fn next(
        &self,
        tokens: &[TokenId],
        state: &mut Self::State,
    ) -> Result<(Tensor<2>, Option<Tensor<1>>)>;
}

/// Any decoder, logits only.
struct Plain<'a, D>(&'a D);

impl<D: TokenDecoder> Player for Plain<'_, D> {
    type State = D::State;
    fn decoder_vocab(&self) -> usize {
        self.0.vocab_size()
    }
    fn begin(&self, prompts: &TokenBatch) -> Result<(Tensor<2>, Option<Tensor<1>>, D::State)> {
        let (logits, state) = self.0.start(prompts)?;
        Ok((logits, None, state))
    }
    fn next(
        &self,
        tokens: &[TokenId],
        state: &mut D::State,
    ) -> Result<(Tensor<2>, Option<Tensor<1>>)> {
        Ok((self.0.advance(tokens, state)?, None))
    }
}

/// A decoder with values: the rollout keeps them.
struct Scored<'a, D>(&'a D);

impl<D: ValueDecoder> Player for Scored<'_, D> {
    type State = D::State;
    fn decoder_vocab(&self) -> usize {
        self.0.vocab_size()
    }
    fn begin(&self, prompts: &TokenBatch) -> Result<(Tensor<2>, Option<Tensor<1>>, D::State)> {
        let (out, state) = self.0.start_scored(prompts)?;
        Ok((out.logits, Some(out.values), state))
    }
    fn next(
        &self,
        tokens: &[TokenId],
        state: &mut D::State,
    ) -> Result<(Tensor<2>, Option<Tensor<1>>)> {
        let out = self.0.advance_scored(tokens, state)?;
        Ok((out.logits, Some(out.values)))
    }
}

/// Logits `[B, V]` and values `[B]` read back in one transfer.
fn read_step(logits: Tensor<2>, values: Option<Tensor<1>>) -> (Vec<f32>, Option<Vec<f32>>) {
    let [rows, vocab] = logits.dims();
    match values {
        None => (to_vec_f32(logits), None),
        Some(values) => {
            let mut read = to_vec_f32(Tensor::cat(vec![logits.reshape([rows * vocab]), values], 0));
            let values = read.split_off(rows * vocab);
            (read, Some(values))
        }
    }
}

/// Plays one episode per environment of `envs` (already reset) with `model`: prefill the
/// prompts, then one cached step per token; a row that finished is fed `<pad>` while the
/// others go on. With a [`Scored`] player, also keeps the values and the log-probabilities of
/// the sampled tokens. (No episode bootstraps past its end, so no final state is scored.)
///
/// Tokens are drawn from the environment's ids only: a model whose vocabulary is larger (an
/// embedding table rounded up past its tokenizer's ids, as Qwen2's is) never emits an id the
/// environment would refuse; the log-probabilities kept are the model's (over all its ids), as
/// the learners compute them.
fn play<P: Player, R: TextReward>(
    model: &P,
    envs: &mut [TextGenerationEnv<R>],
    starts: Vec<TokenState>,
    sampling: Sampling,
    rng: &mut ChaCha12Rng,
    device: &Device,
) -> Result<Played> {
    let rows = envs.len();
    let vocab = model.decoder_vocab();
    let actions = envs.first().map_or(vocab, TextGenerationEnv::vocab_size);
    check_vocabularies(vocab, actions)?;
    let (mut logits, mut values, mut decoding) =
        model.begin(&PaddedTokens.encode(&starts, device)?)?;
    let mut played = Played {
        prompts: starts.iter().map(TokenState::len).collect(),
        states: starts,
        actions: Vec::new(),
        rewards: Vec::new(),
        terminated: Vec::new(),
        mask: Vec::new(),
        steps: 0,
        scores: values.as_ref().map(|_| PlayedScores::default()),
    };
    let mut playing = vec![true; rows];
    let mut scratch = Vec::with_capacity(vocab);
    loop {
        let (read, step_values) = read_step(logits, values);
        let mut next = vec![Vocabulary::PAD; rows];
        for (row, logits) in read.chunks(vocab).enumerate() {
            if !playing[row] {
                played.actions.push(Vocabulary::PAD);
                played.rewards.push(0.0);
                played.terminated.push(true);
                played.mask.push(false);
                if let Some(scores) = played.scores.as_mut() {
                    scores.values.push(0.0);
                    scores.log_probs.push(0.0);
                }
                continue;
            }
            let token = choose(&logits[..actions], sampling, rng, &mut scratch);
            let step = envs[row].step(token)?;
            if let (Some(scores), Some(step_values)) = (played.scores.as_mut(), &step_values) {
                scores.values.push(step_values[row]);
                scores.log_probs.push(host_log_softmax_at(logits, token));
            }
            played.states[row].generated.push(token);
            played.actions.push(token);
            played.rewards.push(step.reward);
            played.terminated.push(step.done());
            played.mask.push(true);
            playing[row] = !step.done();
            next[row] = token;
        }
        played.steps += 1;
        if !playing.contains(&true) {
            return Ok(played);
        }
        (logits, values) = model.next(&next, &mut decoding)?;
    }
}

/// Refuses a model whose vocabulary does not cover the environment's ids (it could never emit
/// some actions, and its Q head would have no value for them).
fn check_vocabularies(model: usize, environment: usize) -> Result<()> {
    if model < environment {
        return Err(Error::ShapeMismatch {
            what: "model vocabulary (at least the environment's ids)",
            expected: vec![environment],
            actual: vec![model],
        });
    }
    Ok(())
}

/// Plays `envs` (each already in the episode `starts` gives its state of) to their ends with
/// `model`'s `sampling`, in lockstep: the continuations Monte-Carlo value estimates average.
pub(crate) fn continue_episodes<D: TokenDecoder, R: TextReward>(
    model: &D,
    envs: &mut [TextGenerationEnv<R>],
    starts: Vec<TokenState>,
    sampling: Sampling,
    rng: &mut ChaCha12Rng,
    device: &Device,
) -> Result<Vec<TokenEpisode>> {
    Ok(play(&Plain(model), envs, starts, sampling, rng, device)?.episodes())
}

/// One played episode on the host: its whole sequence and what each generated token earned.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEpisode {
    /// The prompt's tokens followed by the generated ones.
    pub tokens: Vec<TokenId>,
    /// How many of `tokens` are the prompt (>= 1).
    pub prompt_len: usize,
    /// The reward of each generated token.
    pub rewards: Vec<f64>,
    /// Whether the episode ended at its last token: always, for an episode of a
    /// [`TextGenerationEnv`] (`<eos>`, the target's length and `max_new_tokens` all end its
    /// MDP). `false` marks one stopped short of its end by something else (a dataset's
    /// budget), which a [`crate::lm::TokenReplay`] bootstraps past.
    pub terminated: bool,
}

impl TokenEpisode {
    /// The generated tokens.
    ///
    /// # Panics
    ///
    /// When `prompt_len > tokens.len()`: an episode built by hand with fields that do not fit
    /// (the crate's rollouts never make one).
    pub fn completion(&self) -> &[TokenId] {
        &self.tokens[self.prompt_len..]
    }

    /// The total reward.
    pub fn total_reward(&self) -> f64 {
        self.rewards.iter().sum()
    }

    /// The final state: the whole sequence as a [`TokenState`] (what
    /// [`PaddedTokens`] encodes).
    pub fn state(&self) -> TokenState {
        TokenState {
            prompt: self.tokens[..self.prompt_len].into(),
            generated: self.completion().to_vec(),
        }
    }
}

/// Lockstep rows all grow to the longest episode, so the body's context must hold the longest
/// prompt plus the longest possible episode of the environment's tasks; and the model must
/// have a logit for every id of the environment. Checked before anything is played (and
/// whatever tasks were drawn), so a context that is too short is an error up front, every time.
fn check_context<D: TokenDecoder, R: TextReward>(
    model: &D,
    env: &TextGenerationEnv<R>,
) -> Result<()> {
    check_vocabularies(model.vocab_size(), env.vocab_size())?;
    let Some(limit) = model.max_len() else {
        return Ok(());
    };
    let tasks = env.tasks();
    let longest_prompt = tasks.iter().map(|t| t.prompt().len()).max().unwrap_or(0);
    let longest_episode = tasks
        .iter()
        .map(|t| env.config().horizon(t))
        .max()
        .unwrap_or(0);
    let needed = longest_prompt + longest_episode;
    if needed > limit {
        return Err(Error::TooLarge {
            what: "token sequence (the body's context length must hold the longest prompt \
                   plus the longest episode)",
            size: needed as u128,
            limit: limit as u128,
        });
    }
    Ok(())
}

/// What [`TokenCollector::collect`] returns: a rollout for
/// [`crate::algo::actor_critic::ActorCritic::update`] and what the episodes scored.
#[derive(Debug, Clone)]
pub struct TokenRollout {
    /// `T` steps of `B` episodes (time-major), states as positions in the episodes' final
    /// sequences; steps after an episode's end are masked out.
    pub batch: RolloutBatch<TokenPositions>,
    /// The episodes on the host (what [`crate::lm::TokenReplay`]'s `push` stores).
    pub episodes: Vec<TokenEpisode>,
    /// Tokens generated (transitions that count).
    pub tokens: usize,
}

impl AsRef<RolloutBatch<TokenPositions>> for TokenRollout {
    fn as_ref(&self) -> &RolloutBatch<TokenPositions> {
        &self.batch
    }
}

impl AsMut<RolloutBatch<TokenPositions>> for TokenRollout {
    fn as_mut(&mut self) -> &mut RolloutBatch<TokenPositions> {
        &mut self.batch
    }
}

/// Collects on-policy token rollouts: `B` episodes of a [`TextGenerationEnv`] in lockstep,
/// each token drawn from the model's policy (`softmax` of its logits) with incremental
/// decoding, so a `T`-token rollout costs one prefill and `T` cached steps.
///
/// The states of the returned batch are [`TokenPositions`] in the episodes' final sequences:
/// step `t` of an episode is the prefix ending at its prompt's last token plus `t`, its next
/// state one position further, so [`crate::algo::actor_critic::ActorCritic`] scores all the
/// states (and next states) of an episode with one pass of the body. No episode bootstraps
/// past its last step: the environment's `max_new_tokens` is part of its state, an end of the
/// MDP (as TRL's PPO treats a completion cut there).
///
/// Copy `i` draws its tasks from its own generator, seeded with `seed + i`.
///
/// # Example
///
/// ```
/// use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig};
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
/// use valuefn::lm::{GruBodyConfig, TokenModel, TokenCollector};
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?;
/// let tasks = vec![TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?];
/// let env = TextGenerationEnv::new(tasks, tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let device = valuefn::device::default_device();
/// let train = device.clone().autodiff();
/// let body = GruBodyConfig::new(env.vocab_size()).with_hidden(16);
/// // Policy and value heads on one trunk.
/// let model = TokenModel::new(body.init(&train)?, 0, &train);
/// let mut a2c = ActorCritic::new(ActorCriticConfig::new(), model)?;
/// let mut rollouts = TokenCollector::new(&env, 4, 0)?;
/// let rollout = rollouts.collect(a2c.model(), &device)?;
/// assert_eq!(rollout.tokens, 8); // 4 episodes of the target's 2 tokens
/// // The values and log-probabilities of collection come along: the update runs the body
/// // once forward and once backward.
/// assert!(rollout.batch.scores.is_some());
/// a2c.update(&rollout.batch)?;
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct TokenCollector<R> {
    envs: Vec<TextGenerationEnv<R>>,
    /// Episodes per prompt when grouped: copies `g * size ..` play group `g`'s prompt.
    group_size: Option<usize>,
    /// The task index each copy played last.
    tasks: Vec<usize>,
    seed: Option<u64>,
    rng: ChaCha12Rng,
}

/// The saved state of a [`TokenCollector`] (its [`Snapshot`]): what a hand-written token
/// training loop saves beside its updater, so that a resumed run samples the same episodes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenCollectorSnapshot {
    /// The seed the first rollout resets its copies with (`None` once used).
    pub seed: Option<u64>,
    /// The generator of the sampled tokens.
    pub rng: RngState,
    /// Each environment copy's state.
    pub envs: Vec<TextEnvSnapshot>,
}

impl<R: TextReward + Clone> Snapshot for TokenCollector<R> {
    type Snapshot = TokenCollectorSnapshot;

    fn snapshot(&self) -> TokenCollectorSnapshot {
        TokenCollectorSnapshot {
            seed: self.seed,
            rng: RngState::of(&self.rng),
            envs: self.envs.iter().map(Snapshot::snapshot).collect(),
        }
    }

    /// Restores every copy or none (a copy that refuses its state puts the others back).
    fn restore(&mut self, snapshot: TokenCollectorSnapshot) -> Result<()> {
        let rng = snapshot.rng.restore()?;
        restore_all(
            "environment snapshots (one per episode of a rollout)",
            &mut self.envs,
            snapshot.envs,
        )?;
        (self.seed, self.rng) = (snapshot.seed, rng);
        Ok(())
    }
}

impl<R: TextReward + Clone> TokenCollector<R> {
    /// The most episodes one rollout plays, `2^20`.
    pub const MAX_EPISODES: usize = 1 << 20;

    /// `episodes` copies of `env` per rollout, seeded from `seed`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `episodes` is 0; [`Error::TooLarge`] above
    /// [`TokenCollector::MAX_EPISODES`] (checked before any copy is made).
    pub fn new(env: &TextGenerationEnv<R>, episodes: usize, seed: u64) -> Result<Self> {
        if episodes == 0 {
            return Err(Error::config("episodes", "at least 1", episodes));
        }
        check_count("episodes per token rollout", episodes, Self::MAX_EPISODES)?;
        Ok(Self {
            envs: (0..episodes).map(|_| env.replica()).collect(),
            group_size: None,
            tasks: vec![0; episodes],
            seed: Some(seed),
            rng: ChaCha12Rng::seed_from_u64(seed ^ 0x5EED_0F70_CE55),
        })
    }

    /// Group sampling, as GRPO, RLOO and the other group baselines need: each rollout draws
    /// `prompts` tasks and plays `group_size` episodes of each (`prompts * group_size` in all,
    /// in lockstep, the tokens of each drawn independently). Group `g` is copies
    /// `g * group_size .. (g + 1) * group_size`, and the collected batch's rollout carries
    /// these [`Groups`] (also for a group size of 1). Group `g`'s task is drawn by copy
    /// `g * group_size`'s generator, seeded with `seed + g`, so the prompts drawn do not depend
    /// on the group size.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when either count is 0; [`Error::TooLarge`] when their product
    /// is above [`TokenCollector::MAX_EPISODES`] (checked before any copy is made).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
    /// use valuefn::lm::{GruBodyConfig, TokenModel, TokenCollector};
    /// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
    ///
    /// let tok = CharTokenizer::fit(["abc"])?;
    /// let tasks = vec![
    ///     TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?,
    ///     TokenTask::encode(&TextPair::new("c", "c"), &tok)?,
    /// ];
    /// let env = TextGenerationEnv::new(tasks, tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
    /// let device = valuefn::device::default_device();
    /// let model = TokenModel::new(GruBodyConfig::new(env.vocab_size()).init(&device)?, 0, &device);
    /// let mut rollouts = TokenCollector::grouped(&env, 3, 4, 0)?; // 3 prompts, 4 samples each
    /// let rollout = rollouts.collect(&model, &device)?;
    /// let groups = rollout.batch.rollout.groups().unwrap();
    /// assert_eq!(groups.sizes(), vec![4, 4, 4]);
    /// let prompts: Vec<_> = rollout.episodes.iter().map(|e| e.tokens[..e.prompt_len].to_vec()).collect();
    /// assert!((0..12).all(|i| prompts[i] == prompts[i / 4 * 4])); // one prompt per group
    /// assert!(TokenCollector::grouped(&env, 3, 0, 0).is_err());
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn grouped(
        env: &TextGenerationEnv<R>,
        prompts: usize,
        group_size: usize,
        seed: u64,
    ) -> Result<Self> {
        if prompts == 0 || group_size == 0 {
            return Err(Error::config(
                "groups",
                "at least one prompt and one episode per prompt",
                format!("{prompts} prompts of {group_size}"),
            ));
        }
        let episodes = crate::error::check_size(
            "episodes per token rollout (prompts x group size)",
            prompts,
            group_size,
            Self::MAX_EPISODES,
        )?;
        Ok(Self {
            group_size: Some(group_size),
            ..Self::new(env, episodes, seed)?
        })
    }

    /// The environment the copies were made from (its first copy).
    pub fn template(&self) -> &TextGenerationEnv<R> {
        &self.envs[0]
    }

    /// Episodes per prompt (1 unless [`TokenCollector::grouped`]).
    pub fn group_size(&self) -> usize {
        self.group_size.unwrap_or(1)
    }

    /// The task index (in the environment's [`TextGenerationEnv::tasks`]) of each copy's last
    /// episode: row `i` of the last collected rollout played task `tasks_played()[i]`.
    pub fn tasks_played(&self) -> &[usize] {
        &self.tasks
    }

    /// Episodes per rollout.
    pub fn episodes(&self) -> usize {
        self.envs.len()
    }

    /// Plays one episode per copy with `model`'s policy (its inference copy: no autodiff
    /// graph is built) and lays the steps out for an actor-critic update, with the values and
    /// log-probabilities the model gave while decoding ([`RolloutScores`]: a
    /// [`crate::lm::TokenModel`] reads its value head from the same body pass as its policy).
    /// Update the same model with the batch right away: the scores are its current ones. The
    /// batch's tensors are on `device`.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] when the body's context cannot hold the longest prompt plus the
    /// longest episode of the environment's tasks, [`Error::ShapeMismatch`] for a model whose
    /// vocabulary does not cover the environment's ids (both checked before anything is
    /// played; a larger vocabulary is fine: only the environment's ids are drawn); as
    /// [`TokenModel::prefill`] and [`TokenModel::step`] (ids outside the model's vocabulary) and
    /// [`TextGenerationEnv::outcome`] (a reward that is not finite). Episodes interrupted by an
    /// error are abandoned; the next call starts new ones.
    pub fn collect<M: Module + ValueDecoder>(
        &mut self,
        model: &M,
        device: &Device,
    ) -> Result<TokenRollout> {
        check_context(model, &self.envs[0])?;
        let seed = self.seed.take();
        let size = self.group_size();
        let mut starts = Vec::with_capacity(self.envs.len());
        for (i, env) in self.envs.iter_mut().enumerate() {
            let start = if i % size == 0 {
                // Copy i of an ungrouped rollout, the leader of group i / size of a grouped one.
                env.reset(seed.map(|s| s.wrapping_add((i / size) as u64)))
            } else {
                env.reset_to_task(self.tasks[i - i % size])?
            };
            self.tasks[i] = env
                .current_task_index()
                .expect("an episode was just started");
            starts.push(start);
        }
        let sampling = Sampling::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: None,
        };
        let played = play(
            &Scored(&model.valid()),
            &mut self.envs,
            starts,
            sampling,
            &mut self.rng,
            device,
        )?;
        let mut rollout = rollout_batch(played, device)?;
        if self.group_size.is_some() {
            let groups = Groups::contiguous(self.envs.len() / size, size)?;
            rollout.batch.rollout = rollout.batch.rollout.clone().with_groups(groups)?;
        }
        Ok(rollout)
    }
}

/// The token source of [`crate::algo::actor_critic::train_on_policy`]: each rollout is one
/// [`TokenCollector::collect`], and a step is one episode (one completion of a prompt, as TRL
/// counts `total_episodes`): the run advances by the collector's episodes and logs each one's
/// return and length in tokens.
impl<R, M> RolloutSource<M> for TokenCollector<R>
where
    R: TextReward + Clone,
    M: Module + ValueDecoder + ActorCriticModel<Input = TokenPositions>,
{
    type Rollout = TokenRollout;

    fn rollout<S: Serialize + Clone>(
        &mut self,
        model: &M,
        run: &mut TrainRun<M, S>,
        device: &Device,
    ) -> Result<TokenRollout> {
        let rollout = self.collect(model, device)?;
        run.advance(rollout.episodes.len() as u64);
        for episode in &rollout.episodes {
            run.episode_ended(episode.total_reward(), episode.rewards.len() as u64, None)?;
        }
        Ok(rollout)
    }
}

impl Played {
    /// Each row's episode on the host.
    fn episodes(&self) -> Vec<TokenEpisode> {
        let rows = self.states.len();
        (0..rows)
            .map(|row| {
                let steps: Vec<usize> = (0..self.steps)
                    .map(|t| t * rows + row)
                    .filter(|&i| self.mask[i])
                    .collect();
                let last = steps.last().copied();
                TokenEpisode {
                    tokens: self.states[row].tokens().collect(),
                    prompt_len: self.prompts[row],
                    rewards: steps.iter().map(|&i| self.rewards[i]).collect(),
                    terminated: last.is_some_and(|i| self.terminated[i]),
                }
            })
            .collect()
    }
}

/// Lays played episodes out as a [`TokenRollout`].
fn rollout_batch(played: Played, device: &Device) -> Result<TokenRollout> {
    let rows = played.states.len();
    let steps = played.steps;
    let mut states = Vec::with_capacity(steps * rows);
    let mut next = Vec::with_capacity(steps * rows);
    for t in 0..steps {
        for (row, state) in played.states.iter().enumerate() {
            let at = if played.mask[t * rows + row] {
                played.prompts[row] - 1 + t
            } else {
                state.len() - 1
            };
            states.push((row, at));
            next.push((row, (at + 1).min(state.len() - 1)));
        }
    }
    let episodes = played.episodes();
    let observations = TokenPositions::from_states(&played.states, states, device)?;
    let next_observations = observations.with_rows(next);
    let tokens = played.mask.iter().filter(|&&m| m).count();
    let rewards = played.rewards.iter().map(|&r| r as f32).collect();
    let scores = played.scores.map(|scores| {
        // V(s') is the next step's V(s) while the row plays on; at its last step (terminal)
        // and on padding it is never read.
        let next_values = (0..steps * rows)
            .map(|i| {
                let (t, row) = (i / rows, i % rows);
                match (played.mask[i], played.mask.get(i + rows)) {
                    (true, Some(true)) => scores.values[(t + 1) * rows + row],
                    _ => 0.0,
                }
            })
            .collect();
        RolloutScores {
            values: scores.values,
            next_values,
            log_probs: scores.log_probs,
        }
    });
    Ok(TokenRollout {
        batch: RolloutBatch {
            observations,
            actions: index_tensor(&played.actions, device),
            next_observations,
            rollout: Rollout::new(
                steps,
                rows,
                rewards,
                played.terminated,
                vec![false; steps * rows],
                device,
            )?,
            mask: Some(played.mask),
            scores,
        },
        episodes,
        tokens,
    })
}

/// Tasks [`evaluate_tasks`] plays in one lockstep batch (a longer list is played in batches of
/// this many, in order, with one generator).
const EVALUATION_BATCH: usize = 256;

/// How a token model does on a list of tasks: see [`evaluate_tasks`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEvaluation {
    /// Each task's episode (task `i` in row `i`).
    pub episodes: Vec<TokenEpisode>,
    /// Total reward over the positions a per-token reward can pay for (each target's tokens,
    /// plus its `<eos>` under [`Stop::Eos`], within `max_new_tokens`): with
    /// [`crate::env::text::TokenMatch`], the fraction of target tokens produced at their
    /// position.
    pub reward_per_target_token: f64,
}

/// How many positions of `task`'s episode a per-token reward can pay for: the target's tokens,
/// and under [`Stop::Eos`] the `<eos>` after them (when the vocabulary has one), within
/// `max_new_tokens`.
fn payable_tokens<R>(env: &TextGenerationEnv<R>, task: &TokenTask) -> usize {
    let eos = usize::from(env.config().stop == Stop::Eos && env.eos_id().is_some());
    (task.target().len() + eos).min(env.config().max_new_tokens)
}

/// Plays every task of `env` once (task `i` in row `i`, in lockstep batches of up to 256 tasks,
/// with incremental decoding) choosing tokens by `sampling` (seeded with `seed`), and scores the
/// completions with the environment's reward.
///
/// # Errors
///
/// As [`TokenCollector::collect`]; [`Error::InvalidConfig`] for a sampling setting
/// [`crate::lm::GenerationConfig::validate`] refuses.
///
/// # Example
///
/// ```
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
/// use valuefn::lm::{GruBodyConfig, Sampling, TokenModel, evaluate_tasks};
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["abc"])?;
/// let tasks = vec![
///     TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?,
///     TokenTask::encode(&TextPair::new("c", "c"), &tok)?,
/// ];
/// let env = TextGenerationEnv::new(tasks, tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let device = valuefn::device::default_device();
/// let model = TokenModel::new(GruBodyConfig::new(env.vocab_size()).init(&device)?, 0, &device);
/// let eval = evaluate_tasks(&model, &env, Sampling::Greedy, 0, &device)?;
/// assert_eq!(eval.episodes.len(), 2);
/// assert!((0.0..=1.0).contains(&eval.reward_per_target_token));
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn evaluate_tasks<B: LmBody, R: TextReward + Clone>(
    model: &TokenModel<B>,
    env: &TextGenerationEnv<R>,
    sampling: Sampling,
    seed: u64,
    device: &Device,
) -> Result<TaskEvaluation> {
    evaluate_decoder(&model.valid(), env, sampling, seed, device)
}

/// [`evaluate_tasks`] with any [`TokenDecoder`]: a model's inference copy, or
/// [`crate::lm::ValueGuided`] decoding. Pass inference models (`.valid()`): an autodiff model
/// would record a graph nobody reads.
///
/// # Errors
///
/// As [`evaluate_tasks`].
pub fn evaluate_decoder<D: TokenDecoder, R: TextReward + Clone>(
    model: &D,
    env: &TextGenerationEnv<R>,
    sampling: Sampling,
    seed: u64,
    device: &Device,
) -> Result<TaskEvaluation> {
    crate::lm::GenerationConfig::new(1)
        .with_sampling(sampling)
        .validate()?;
    check_context(model, env)?;
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    let tasks = env.tasks().len();
    let mut episodes = Vec::with_capacity(tasks);
    // Batches of at most EVALUATION_BATCH tasks: a batch's logits come back to the host at
    // every step, and its cache stays on the device (10,000 tasks over GPT-2's 50,257 ids
    // would be 2 GB of logits a step).
    for first in (0..tasks).step_by(EVALUATION_BATCH) {
        let chunk = first..(first + EVALUATION_BATCH).min(tasks);
        let mut envs: Vec<_> = chunk.clone().map(|_| env.replica()).collect();
        let starts = envs
            .iter_mut()
            .zip(chunk)
            .map(|(env, i)| env.reset_to_task(i))
            .collect::<Result<Vec<_>>>()?;
        let played = play(&Plain(model), &mut envs, starts, sampling, &mut rng, device)?;
        episodes.extend(played.episodes());
    }
    let target_tokens: usize = env.tasks().iter().map(|t| payable_tokens(env, t)).sum();
    let total: f64 = episodes.iter().map(TokenEpisode::total_reward).sum();
    Ok(TaskEvaluation {
        reward_per_target_token: total / target_tokens.max(1) as f64,
        episodes,
    })
}
