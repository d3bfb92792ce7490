//! Exact model of a small text MDP: every reachable prefix as a state of a `TabularMdp`.

use std::collections::HashMap;
use std::sync::Arc;

use burn::config::Config;

use crate::env::text::{TextEnvConfig, TextGenerationEnv, TextReward, TokenState, TokenStep};
use crate::env::{Environment, Step};
use crate::error::{Error, Result};
use crate::space::Discrete;
use crate::tabular::{TabularMdp, Transition};
use crate::text::{TokenId, TokenTask};

/// `states * actions` may be at most this multiple of `max_states`.
const MAX_ACTIONS_PER_STATE_BUDGET: u128 = 64;

/// Settings of [`TextMdp::enumerate`].
#[derive(Config, Debug, PartialEq)]
pub struct TextMdpConfig {
    /// Refuse to enumerate more states than this, or more than 64 times this many
    /// state-action pairs (both counted before anything is built).
    #[config(default = 200_000)]
    pub max_states: usize,
}

/// The prefixes of one prompt.
#[derive(Debug, Clone)]
struct PromptTree {
    /// Tokens an episode of this prompt can last.
    horizon: usize,
    /// Generated ids -> state index.
    index: HashMap<Vec<TokenId>, usize>,
}

/// A text-generation environment enumerated into a finite MDP, with an index map between
/// token states and state indices both ways.
///
/// States are the reachable prefixes of every distinct prompt: the start state (nothing
/// generated), every prefix that can still continue, and every prefix at which an episode
/// ends (after `<eos>`, at the target length, or at `max_new_tokens`). An ended prefix is
/// absorbing with value 0; the transition into it is terminal. Every token id is an action.
///
/// What is random in the environment is random here too: the prompt distribution (tasks are
/// drawn uniformly, so a repeated prompt weighs more) is the initial distribution, and a
/// prompt with several targets gives each `(prefix, token)` one outcome per distinct reward,
/// with the probability of the targets that pay it. For policies that act on the prefix (the
/// observation), this is exact: the target is drawn once at reset and the prefixes reached do
/// not depend on it, so given a prefix the target is distributed as given the prompt, and
/// `Q*`/`V*` are the best such a policy can do. (An agent that also remembered the rewards it
/// received could infer the target and do better; the prefix alone does not tell it.) It
/// stops being exact if the *length* of an episode depended on the target, so
/// [`crate::env::text::Stop::TargetLength`] needs all targets of a prompt to have one length.
///
/// Memory grows with states x actions (one transition list per pair), so
/// `TextMdpConfig::max_states` also bounds `states * actions` at 64 times itself.
///
/// An episode that reaches `max_new_tokens` ends with a terminal transition, as the
/// environment reports it: the tokens left are part of the state.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch};
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?; // 4 specials + 2 letters = 6 actions
/// let task = TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?;
/// let mut env = TextGenerationEnv::new(vec![task], tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new())?;
/// assert_eq!(text_mdp.num_states(), 1 + 6 + 5 * 6); // start, one token, two tokens (none after <eos>)
///
/// let best = value_iteration(&text_mdp, &SolverConfig::new().with_gamma(1.0))?;
/// let start = text_mdp.index_of(&env.reset(Some(0)))?;
/// assert!((best.values[start] - 2.0).abs() < 1e-9); // two target tokens ahead
/// assert!(TextMdp::enumerate(&env, &TextMdpConfig::new().with_max_states(10)).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TextMdp {
    mdp: TabularMdp,
    prefixes: Vec<TokenState>,
    prompts: HashMap<Arc<[TokenId]>, PromptTree>,
    env_config: TextEnvConfig,
    vocab_size: usize,
}

impl AsRef<TabularMdp> for TextMdp {
    fn as_ref(&self) -> &TabularMdp {
        &self.mdp
    }
}

/// The tasks of one prompt.
struct PromptGroup<'a> {
    prompt: Arc<[TokenId]>,
    tasks: Vec<&'a TokenTask>,
    horizon: usize,
}

impl TextMdp {
    /// Enumerates `env`'s prefixes and transitions.
    ///
    /// # Errors
    ///
    /// [`Error::TooManyStates`] when there would be more than `config.max_states` states
    /// (nothing is allocated first); [`Error::InvalidMdp`] when a prompt's targets differ in
    /// length under `Stop::TargetLength`; [`Error::NonFinite`] when the reward function
    /// returns NaN or an infinity somewhere.
    pub fn enumerate<R: TextReward>(
        env: &TextGenerationEnv<R>,
        config: &TextMdpConfig,
    ) -> Result<Self> {
        let groups = group_by_prompt(env)?;
        let num_actions = env.vocab_size();
        // `<eos>` ends a branch only when the vocabulary has it (an environment's `eos_id` is
        // always one of its actions).
        let ending = usize::from(env.eos_id().is_some());
        let count = groups.iter().fold(0u128, |sum, g| {
            sum.saturating_add(tree_size(g.horizon, num_actions, ending))
        });
        // Each state holds one transition list per action: bound the pairs too.
        let pairs = count.saturating_mul(num_actions as u128);
        if count > config.max_states as u128
            || pairs > (config.max_states as u128).saturating_mul(MAX_ACTIONS_PER_STATE_BUDGET)
        {
            return Err(Error::TooManyStates {
                what: "text MDP",
                states: count,
                limit: config.max_states,
            });
        }
        let count = count as usize;
        let mut prefixes = Vec::with_capacity(count);
        let mut transitions = Vec::with_capacity(count * num_actions);
        let mut prompts = HashMap::with_capacity(groups.len());
        let mut initial = Vec::with_capacity(groups.len());
        // Whether the episode is over at each prefix (absorbing, value 0).
        let mut ended = Vec::with_capacity(count);
        for group in &groups {
            let root = prefixes.len();
            initial.push((root, group.tasks.len() as f64 / env.tasks().len() as f64));
            let mut index = HashMap::new();
            index.insert(Vec::new(), root);
            prefixes.push(TokenState::new(group.prompt.clone()));
            ended.push(false);
            // Breadth first: the prefixes vector is the queue.
            let mut next = root;
            while next < prefixes.len() {
                if ended[next] {
                    let stay = vec![Transition::certain(next, 0.0, true)];
                    transitions.extend(std::iter::repeat_n(stay, num_actions));
                } else {
                    let state = prefixes[next].clone();
                    for token in 0..num_actions {
                        let child = prefixes.len();
                        let (outcomes, done) = outcomes(env, group, &state, token, child)?;
                        let mut generated = state.generated.clone();
                        generated.push(token);
                        index.insert(generated.clone(), child);
                        prefixes.push(TokenState {
                            prompt: group.prompt.clone(),
                            generated,
                        });
                        ended.push(done);
                        transitions.push(outcomes);
                    }
                }
                next += 1;
            }
            prompts.insert(
                group.prompt.clone(),
                PromptTree {
                    horizon: group.horizon,
                    index,
                },
            );
        }
        let num_states = prefixes.len();
        debug_assert_eq!(num_states, count, "the count matches the enumeration");
        Ok(Self {
            mdp: TabularMdp::new(num_states, num_actions, transitions, initial)?,
            prefixes,
            prompts,
            env_config: env.config().clone(),
            vocab_size: num_actions,
        })
    }

    /// Number of states (prefixes).
    pub fn num_states(&self) -> usize {
        self.prefixes.len()
    }

    /// The enumerated model.
    pub fn mdp(&self) -> &TabularMdp {
        &self.mdp
    }

    /// The state index of `state`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownObservation`] when the prompt was not enumerated or the prefix cannot
    /// be reached (longer than the horizon, or continuing after the episode ended).
    pub fn index_of(&self, state: &TokenState) -> Result<usize> {
        self.prompts
            .get(&state.prompt)
            .and_then(|tree| tree.index.get(&state.generated))
            .copied()
            .ok_or_else(|| {
                Error::UnknownObservation(format!(
                    "prompt {:?} with generated {:?} is not a state of this text MDP",
                    state.prompt, state.generated
                ))
            })
    }

    /// The token state of `index`, if in range.
    pub fn prefix(&self, index: usize) -> Option<&TokenState> {
        self.prefixes.get(index)
    }

    /// All prefixes, in index order.
    pub fn prefixes(&self) -> &[TokenState] {
        &self.prefixes
    }

    /// Wraps `env` so that its observations are this MDP's state indices: how tabular
    /// learners ([`crate::algo::train_tabular`]) run on a text environment.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `env` has another vocabulary size or config than the
    /// environment this MDP was enumerated from, or a prompt (or prompt horizon) it does not
    /// know, so that every observation `env` can produce has an index.
    pub fn indexed<R: TextReward>(
        &self,
        env: TextGenerationEnv<R>,
    ) -> Result<IndexedTextEnv<'_, R>> {
        if env.vocab_size() != self.vocab_size {
            return Err(Error::config(
                "env vocabulary size",
                "the size the MDP was enumerated with",
                env.vocab_size(),
            ));
        }
        if env.config() != &self.env_config {
            return Err(Error::config(
                "env config",
                "the config the MDP was enumerated with",
                format!("{:?}", env.config()),
            ));
        }
        for task in env.tasks() {
            let horizon = env.config().horizon(task);
            if self.prompts.get(task.prompt()).map(|t| t.horizon) != Some(horizon) {
                return Err(Error::config(
                    "env tasks",
                    "prompts (and horizons) the MDP was enumerated with",
                    format!("{:?}", task.prompt()),
                ));
            }
        }
        let observation_space = Discrete::new(self.num_states()).expect("at least one state");
        Ok(IndexedTextEnv {
            env,
            mdp: self,
            observation_space,
        })
    }
}

/// The prompts of `env` with their tasks, in first-seen order.
fn group_by_prompt<R>(env: &TextGenerationEnv<R>) -> Result<Vec<PromptGroup<'_>>> {
    let mut groups: Vec<PromptGroup<'_>> = Vec::new();
    let mut by_prompt: HashMap<&[TokenId], usize> = HashMap::new();
    for task in env.tasks() {
        let horizon = env.config().horizon(task);
        match by_prompt.get(&task.prompt()[..]) {
            Some(&g) => {
                let group = &mut groups[g];
                if group.horizon != horizon {
                    return Err(Error::InvalidMdp(format!(
                        "prompt {:?} has targets of lengths {} and {}: with Stop::TargetLength the episode length would reveal the target, so the prefixes are not Markov states; use Stop::Eos or one length per prompt",
                        task.prompt(),
                        group.tasks[0].target().len(),
                        task.target().len()
                    )));
                }
                group.tasks.push(task);
            }
            None => {
                by_prompt.insert(&task.prompt()[..], groups.len());
                groups.push(PromptGroup {
                    prompt: task.prompt().clone(),
                    tasks: vec![task],
                    horizon,
                });
            }
        }
    }
    Ok(groups)
}

/// The outcomes of emitting `token` in `state` (reaching prefix `child`): one transition per
/// distinct reward over the prompt's targets, and whether the episode ends there.
fn outcomes<R: TextReward>(
    env: &TextGenerationEnv<R>,
    group: &PromptGroup<'_>,
    state: &TokenState,
    token: TokenId,
    child: usize,
) -> Result<(Vec<Transition>, bool)> {
    let mut rewards: Vec<(f64, usize)> = Vec::new();
    let mut done = false;
    for task in &group.tasks {
        // Equal horizons within a group make `done` the same for every target.
        done = env.ends(task, state.generated.len(), token);
        let reward = env.reward_fn().reward(&TokenStep {
            prompt: &state.prompt,
            generated: &state.generated,
            token,
            target: task.target(),
            done,
            eos: env.eos_id(),
        });
        if !reward.is_finite() {
            return Err(Error::NonFinite {
                what: "reward",
                value: reward,
            });
        }
        match rewards.iter_mut().find(|(r, _)| *r == reward) {
            Some((_, n)) => *n += 1,
            None => rewards.push((reward, 1)),
        }
    }
    let total = group.tasks.len() as f64;
    let transitions = rewards
        .into_iter()
        .map(|(reward, n)| Transition {
            probability: n as f64 / total,
            next_state: child,
            reward,
            terminal: done,
        })
        .collect();
    Ok((transitions, done))
}

/// Number of prefixes of a prompt with `horizon` and `num_actions` tokens, `ending` of which
/// (`<eos>`: 1, or 0 without one) end a branch: `sum_d live(d-1) * A` with
/// `live(d) = (A - ending)^d` below the horizon.
fn tree_size(horizon: usize, num_actions: usize, ending: usize) -> u128 {
    let a = num_actions as u128;
    let continuing = a - ending as u128;
    let (mut live, mut total) = (1u128, 1u128);
    for depth in 1..=horizon {
        total = total.saturating_add(live.saturating_mul(a));
        live = if depth < horizon {
            live.saturating_mul(continuing)
        } else {
            0
        };
        // Saturated (or nothing left to grow): more depth cannot change the answer, and a
        // huge horizon must not spin here.
        if total == u128::MAX || live == 0 {
            break;
        }
    }
    total
}

/// A [`TextGenerationEnv`] whose observations are the state indices of a [`TextMdp`]: the
/// bridge that lets tabular learners (which read `usize` states) learn `Q` over prefixes.
/// Built by [`TextMdp::indexed`], which checks that every observation has an index.
///
/// It steps exactly like the environment, and so like the [`TextMdp`] it indexes (an episode
/// that reaches `max_new_tokens` ends with `terminated = true`, the MDP's terminal
/// transition).
///
/// # Example
///
/// ```
/// use valuefn::algo::{train_tabular, StepSize, TabularControl, TabularControlConfig, TabularTdConfig};
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch};
/// use valuefn::prelude::*;
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?;
/// let task = TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?;
/// let env = TextGenerationEnv::new(vec![task], tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new())?;
/// let mut indexed = text_mdp.indexed(env)?;
/// let device = valuefn::device::default_device();
/// let mut q = QTable::zeros(text_mdp.num_states(), text_mdp.num_actions(), &device);
/// let td = TabularTdConfig::new().with_gamma(1.0).with_step_size(StepSize::Constant { alpha: 0.5 });
/// let config = TabularControlConfig::new(TabularControl::QLearning, td).with_episodes(10);
/// assert_eq!(train_tabular(&mut indexed, &mut q, &config)?.len(), 10);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct IndexedTextEnv<'a, R> {
    env: TextGenerationEnv<R>,
    mdp: &'a TextMdp,
    observation_space: Discrete,
}

impl<R: TextReward> IndexedTextEnv<'_, R> {
    /// The wrapped environment.
    pub fn inner(&self) -> &TextGenerationEnv<R> {
        &self.env
    }

    /// The wrapped environment, mutably (to `reset_to_task`, say).
    pub fn inner_mut(&mut self) -> &mut TextGenerationEnv<R> {
        &mut self.env
    }

    fn index(&self, state: &TokenState) -> usize {
        self.mdp
            .index_of(state)
            .expect("TextMdp::indexed checked that every reachable prefix has an index")
    }
}

impl<R: TextReward> Environment for IndexedTextEnv<'_, R> {
    type Observation = usize;
    type Action = TokenId;
    type ObservationSpace = Discrete;
    type ActionSpace = Discrete;

    fn observation_space(&self) -> &Discrete {
        &self.observation_space
    }

    fn action_space(&self) -> &Discrete {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> usize {
        let state = self.env.reset(seed);
        self.index(&state)
    }

    /// Steps the text environment (which never truncates: an episode that reaches
    /// `max_new_tokens` terminates, as in the enumerated MDP).
    fn step(&mut self, token: TokenId) -> Result<Step<usize>> {
        let step = self.env.step(token)?;
        Ok(Step {
            observation: self.index(&step.observation),
            reward: step.reward,
            terminated: step.done(),
            truncated: false,
        })
    }
}
