//! [`QFromReplay`]: deep Q-learning of a token Q model beside an on-policy run, from a replay
//! of the run's episodes.

use burn::module::Module;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::algo::TrainRun;
use crate::algo::actor_critic::{
    ActorCritic, ActorCriticStats, RolloutHooks, RolloutSource, UpdateRecord,
};
use crate::algo::dqn::{Dqn, DqnStats};
use crate::error::{Error, Result};
use crate::lm::{TokenPositions, TokenReplay, TokenRollout};
use crate::policy::ActorCriticModel;
use crate::replay::Replay;
use crate::value::QFunction;

/// A hook of [`crate::algo::actor_critic::train_on_policy`] over a
/// [`crate::lm::TokenCollector`]: after
/// every on-policy update it stores the rollout's episodes in a [`TokenReplay`] and takes
/// `updates_per_rollout` [`Dqn`] steps on batches of `batch_size` transitions sampled from it,
/// so a Q head (on its own trunk or a frozen shared one) learns from the same text the policy
/// generates.
///
/// # Example
///
/// ```
/// use valuefn::algo::RunConfig;
/// use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, train_on_policy};
/// use valuefn::algo::dqn::{Dqn, DqnConfig};
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
/// use valuefn::lm::{GruBodyConfig, QFromReplay, TokenCollector, TokenModel, TokenReplay};
/// use valuefn::replay::Replay;
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?;
/// let tasks = vec![TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?];
/// let env = TextGenerationEnv::new(tasks, tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let device = valuefn::device::default_device().autodiff();
/// let model = |seed| -> valuefn::Result<_> {
///     let body = GruBodyConfig::new(env.vocab_size()).with_hidden(16).with_seed(seed);
///     Ok(TokenModel::new(body.init(&device)?, seed, &device))
/// };
/// let mut a2c = ActorCritic::new(ActorCriticConfig::new().with_gamma(1.0), model(0)?)?;
/// let dqn = Dqn::new(DqnConfig::new().with_gamma(1.0), model(1)?)?;
/// let mut q = QFromReplay::new(dqn, TokenReplay::new(1_000, 1.0)?, 16, 2, 0)?;
/// let config = RunConfig::new(12).with_progress_bar(false);
/// let mut collector = TokenCollector::new(&env, 4, 0)?;
/// let report = train_on_policy(&config, &mut a2c, &mut collector, None, &mut q, &device)?;
/// // Every token of the 3 rollouts of 4 episodes is in the replay; 2 Q steps per rollout.
/// let tokens: u64 = report.metrics.iter().filter_map(|m| m.episode_length).sum();
/// assert_eq!(q.replay().len() as u64, tokens);
/// assert_eq!(q.dqn().gradient_steps(), 6);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug)]
pub struct QFromReplay<Q> {
    dqn: Dqn<Q>,
    replay: TokenReplay,
    batch_size: usize,
    updates_per_rollout: usize,
    rng: StdRng,
    last: Option<DqnStats>,
}

impl<Q> QFromReplay<Q>
where
    Q: Module + QFunction<Input = TokenPositions>,
{
    /// `dqn` learning from `replay`: `updates_per_rollout` steps on batches of `batch_size`
    /// after every rollout, the batches drawn with a generator seeded with `seed`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `batch_size` is 0 or above [`TokenReplay::MAX_BATCH`].
    pub fn new(
        dqn: Dqn<Q>,
        replay: TokenReplay,
        batch_size: usize,
        updates_per_rollout: usize,
        seed: u64,
    ) -> Result<Self> {
        if batch_size == 0 || batch_size > TokenReplay::MAX_BATCH {
            return Err(Error::config(
                "batch_size",
                "in [1, 2^24] (TokenReplay::MAX_BATCH)",
                batch_size,
            ));
        }
        Ok(Self {
            dqn,
            replay,
            batch_size,
            updates_per_rollout,
            rng: StdRng::seed_from_u64(seed),
            last: None,
        })
    }

    /// The Q learner.
    pub fn dqn(&self) -> &Dqn<Q> {
        &self.dqn
    }

    /// The Q learner, given back.
    pub fn into_dqn(self) -> Dqn<Q> {
        self.dqn
    }

    /// The replay of the run's episodes.
    pub fn replay(&self) -> &TokenReplay {
        &self.replay
    }

    /// What the last Q step did; `None` before the first.
    pub fn last(&self) -> Option<&DqnStats> {
        self.last.as_ref()
    }
}

/// The hook of any source of token rollouts ([`crate::lm::TokenCollector`], or one wrapping it).
impl<Q, M, S> RolloutHooks<M, S> for QFromReplay<Q>
where
    Q: Module + QFunction<Input = TokenPositions>,
    M: Module + ActorCriticModel<Input = TokenPositions>,
    S: RolloutSource<M, Rollout = TokenRollout>,
{
    fn after_update(
        &mut self,
        rollout: &TokenRollout,
        _: &ActorCriticStats,
        _: &ActorCritic<M>,
        _: &S,
        _: &TrainRun<M, UpdateRecord>,
        device: &Device,
    ) -> Result<bool> {
        self.replay.push_all(&rollout.episodes)?;
        for _ in 0..self.updates_per_rollout {
            let batch = self
                .replay
                .sample(self.batch_size, device, &mut self.rng)?
                .batch;
            self.last = Some(self.dqn.update(&batch)?);
        }
        Ok(false)
    }
}
