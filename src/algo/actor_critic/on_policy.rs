//! The on-policy training loop, written once: collect a rollout with the current model, update,
//! evaluate when due, repeat. Where the rollouts come from is a [`RolloutSource`] (copies of an
//! environment stepped with sampled actions, or a token collector playing whole episodes);
//! what else happens around an update (a KL penalty on the rewards, another learner reading
//! the same episodes, a checkpoint) is a [`RolloutHooks`].
//!
//! [`train_actor_critic`](super::train_actor_critic) is this loop over an environment source;
//! the token examples run it over [`crate::lm::TokenCollector`].

use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;

use crate::algo::actor_critic::{ActorCritic, ActorCriticReport, ActorCriticStats, UpdateRecord};
use crate::algo::run::{RunConfig, TrainRun};
use crate::batch::{BatchRows, RolloutBatch};
use crate::env::Snapshot;
use crate::error::{Error, Result};
use crate::policy::ActorCriticModel;

/// Where an on-policy loop's rollouts come from.
///
/// A source decides what a step is and tells the run: [`crate::env::SyncVecEnv`] copies count
/// environment transitions ([`TrainRun::advance`] and [`TrainRun::steps_taken`] after every
/// step of the copies); [`crate::lm::TokenCollector`] counts episodes, one completion each, as
/// TRL's `total_episodes` does ([`TrainRun::advance`] and [`TrainRun::episode_ended`] once the
/// batch of episodes is played).
pub trait RolloutSource<M: Module + ActorCriticModel> {
    /// What one rollout returns: the batch an update reads, and whatever else the source
    /// keeps (a token rollout's episodes on the host).
    type Rollout: AsRef<RolloutBatch<M::Input>> + AsMut<RolloutBatch<M::Input>>;

    /// Plays one rollout with `model`'s policy, counting its steps and the episodes that ended
    /// on `run`.
    ///
    /// # Errors
    ///
    /// The source's, the model's and the run's (a metrics file that cannot be written).
    fn rollout<S: Serialize + Clone>(
        &mut self,
        model: &M,
        run: &mut TrainRun<M, S>,
        device: &Device,
    ) -> Result<Self::Rollout>;
}

/// What happens around each update of [`train_on_policy`] besides the update itself. Both
/// methods do nothing by default; `()` is the hooks of a plain run.
///
/// # Example
///
/// Hooks that keep the mean reward of every rollout and stop the run once one reaches 1:
///
/// ```
/// use valuefn::algo::TrainRun;
/// use valuefn::algo::actor_critic::{
///     ActorCritic, ActorCriticStats, RolloutHooks, RolloutSource, UpdateRecord,
/// };
/// use valuefn::batch::BatchRows;
/// use valuefn::policy::ActorCriticModel;
///
/// #[derive(Default)]
/// struct Curve(Vec<f64>);
///
/// impl<M, S> RolloutHooks<M, S> for Curve
/// where
///     M: burn::module::Module + ActorCriticModel,
///     M::Input: BatchRows,
///     S: RolloutSource<M>,
/// {
///     fn after_update(
///         &mut self,
///         rollout: &S::Rollout,
///         _: &ActorCriticStats,
///         _: &ActorCritic<M>,
///         _: &S,
///         _: &TrainRun<M, UpdateRecord>,
///         _: &burn::tensor::Device,
///     ) -> valuefn::Result<bool> {
///         let rewards = rollout.as_ref().rollout.rewards();
///         let mean = rewards.iter().map(|&r| f64::from(r)).sum::<f64>() / rewards.len() as f64;
///         self.0.push(mean);
///         Ok(mean >= 1.0)
///     }
/// }
/// ```
pub trait RolloutHooks<M, S>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: RolloutSource<M>,
{
    /// Before the update of `rollout` (collected from `source`): may change its batch (a KL
    /// penalty on the rewards, Monte Carlo values as its scores).
    ///
    /// # Errors
    ///
    /// Whatever the hook returns; the run stops with it.
    fn before_update(
        &mut self,
        rollout: &mut S::Rollout,
        updater: &ActorCritic<M>,
        source: &S,
        device: &Device,
    ) -> Result<()> {
        let _ = (rollout, updater, source, device);
        Ok(())
    }

    /// After the update (`stats`) and its evaluation: another learner reading the same
    /// episodes, a checkpoint (the updater and the source's state, e.g.
    /// [`crate::lm::TokenCollector`]'s snapshot), a line of output (through
    /// [`TrainRun::println`]). Returns whether to stop the run here; a run stopped so ends
    /// without the evaluation that closes a run that reaches its steps.
    ///
    /// # Errors
    ///
    /// Whatever the hook returns; the run stops with it.
    fn after_update(
        &mut self,
        rollout: &S::Rollout,
        stats: &ActorCriticStats,
        updater: &ActorCritic<M>,
        source: &S,
        run: &TrainRun<M, UpdateRecord>,
        device: &Device,
    ) -> Result<bool> {
        let _ = (rollout, stats, updater, source, run, device);
        Ok(false)
    }
}

impl<M, S> RolloutHooks<M, S> for ()
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: RolloutSource<M>,
{
}

/// Hooks lent to a run (kept by the caller, read after it).
impl<M, S, H> RolloutHooks<M, S> for &mut H
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: RolloutSource<M>,
    H: RolloutHooks<M, S> + ?Sized,
{
    fn before_update(
        &mut self,
        rollout: &mut S::Rollout,
        updater: &ActorCritic<M>,
        source: &S,
        device: &Device,
    ) -> Result<()> {
        (**self).before_update(rollout, updater, source, device)
    }

    fn after_update(
        &mut self,
        rollout: &S::Rollout,
        stats: &ActorCriticStats,
        updater: &ActorCritic<M>,
        source: &S,
        run: &TrainRun<M, UpdateRecord>,
        device: &Device,
    ) -> Result<bool> {
        (**self).after_update(rollout, stats, updater, source, run, device)
    }
}

/// Two hooks in turn: `A`'s `before_update` then `B`'s; after the update both run, and the
/// run stops when either asks.
impl<M, S, A, B> RolloutHooks<M, S> for (A, B)
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: RolloutSource<M>,
    A: RolloutHooks<M, S>,
    B: RolloutHooks<M, S>,
{
    fn before_update(
        &mut self,
        rollout: &mut S::Rollout,
        updater: &ActorCritic<M>,
        source: &S,
        device: &Device,
    ) -> Result<()> {
        self.0.before_update(rollout, updater, source, device)?;
        self.1.before_update(rollout, updater, source, device)
    }

    fn after_update(
        &mut self,
        rollout: &S::Rollout,
        stats: &ActorCriticStats,
        updater: &ActorCritic<M>,
        source: &S,
        run: &TrainRun<M, UpdateRecord>,
        device: &Device,
    ) -> Result<bool> {
        let first = self
            .0
            .after_update(rollout, stats, updater, source, run, device)?;
        let second = self
            .1
            .after_update(rollout, stats, updater, source, run, device)?;
        Ok(first || second)
    }
}

/// A closure as the `after_update` hook: called with the rollout, the update's statistics and
/// the run; returns whether to stop.
///
/// # Example
///
/// ```
/// use valuefn::algo::TrainRun;
/// use valuefn::algo::actor_critic::{ActorCriticStats, AfterUpdate, UpdateRecord};
/// use valuefn::lm::{GruBody, TokenModel, TokenRollout};
///
/// // Print every tenth update's value loss above the progress bar.
/// let mut hooks = AfterUpdate(
///     |_: &TokenRollout, stats: &ActorCriticStats, run: &TrainRun<TokenModel<GruBody>, UpdateRecord>| {
///         if run.updates().is_multiple_of(10) {
///             run.println(format!("update {}: value loss {:.4}", run.updates(), stats.value_loss));
///         }
///         Ok::<_, valuefn::Error>(false)
///     },
/// );
/// # let _ = &mut hooks;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AfterUpdate<F>(pub F);

impl<M, S, F> RolloutHooks<M, S> for AfterUpdate<F>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: RolloutSource<M>,
    F: FnMut(&S::Rollout, &ActorCriticStats, &TrainRun<M, UpdateRecord>) -> Result<bool>,
{
    fn after_update(
        &mut self,
        rollout: &S::Rollout,
        stats: &ActorCriticStats,
        _: &ActorCritic<M>,
        _: &S,
        run: &TrainRun<M, UpdateRecord>,
        _: &Device,
    ) -> Result<bool> {
        (self.0)(rollout, stats, run)
    }
}

/// What [`train_on_policy_resumable`](super::train_on_policy_resumable) saves of a closure
/// hook: nothing. A closure that keeps state of its own (a curve it appends to) starts from
/// where the caller left it after a resume.
impl<F> Snapshot for AfterUpdate<F> {
    type Snapshot = ();

    fn snapshot(&self) {}

    fn restore(&mut self, (): ()) -> Result<()> {
        Ok(())
    }
}

/// The mean return of an evaluation of a model (the greedy policy on held-out episodes, say).
pub type Evaluate<'a, M> = &'a mut dyn FnMut(&M) -> Result<f64>;

/// Trains `updater` on rollouts from `source` until `config.total_steps` steps (as the source
/// counts them; the last rollout is completed): each rollout is collected with the current
/// model, passed through `hooks.before_update`, used for one [`ActorCritic::update`], then the
/// model is evaluated with `evaluate` when due (every `config.eval_every` steps and at the
/// end; the best evaluated model is kept in the report) and `hooks.after_update` runs.
///
/// A run keeps its state in memory; [`train_on_policy_resumable`](super::train_on_policy_resumable)
/// is the same loop saving it to a checkpoint folder and continuing from there.
///
/// # Errors
///
/// [`crate::Error::InvalidConfig`] for a bad `config`; [`crate::Error::Empty`] for a rollout
/// that counted no steps (a source that would never end the run); [`crate::Error::Io`] when
/// the metrics file cannot be written; any error of the source, the hooks, the evaluation or
/// the updater stops the run and is returned.
///
/// # Example
///
/// A token model playing a one-task text environment, one step per episode:
///
/// ```
/// use valuefn::algo::RunConfig;
/// use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, train_on_policy};
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
/// use valuefn::lm::{GruBodyConfig, TokenCollector, TokenModel};
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?;
/// let tasks = vec![TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?];
/// let env = TextGenerationEnv::new(tasks, tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let device = valuefn::device::default_device().autodiff();
/// let body = GruBodyConfig::new(env.vocab_size()).with_hidden(16);
/// let model = TokenModel::new(body.init(&device)?, 0, &device);
/// let mut a2c = ActorCritic::new(ActorCriticConfig::new(), model)?;
/// let mut collector = TokenCollector::new(&env, 4, 0)?;
/// let config = RunConfig::new(40).with_eval_every(20).with_progress_bar(false);
/// let mut evaluations = 0;
/// let mut score = |_: &TokenModel<_>| {
///     evaluations += 1;
///     Ok(f64::from(evaluations))
/// };
/// let report = train_on_policy(&config, &mut a2c, &mut collector, Some(&mut score), &mut (), &device)?;
/// assert_eq!((report.steps, report.updates), (40, 10)); // 4 episodes a rollout
/// assert_eq!(report.episode_returns.len(), 40);
/// assert_eq!(report.evaluations, vec![(20, 1.0), (40, 2.0)]);
/// assert_eq!(report.best, Some((40, 2.0)));
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn train_on_policy<M, S, H>(
    config: &RunConfig,
    updater: &mut ActorCritic<M>,
    source: &mut S,
    mut evaluate: Option<Evaluate<'_, M>>,
    hooks: &mut H,
    device: &Device,
) -> Result<ActorCriticReport<M>>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: RolloutSource<M>,
    H: RolloutHooks<M, S>,
{
    let mut run = TrainRun::from_config(config)?;
    while !run.done() {
        if round(&mut run, updater, source, &mut evaluate, hooks, device)? {
            break;
        }
    }
    run.finish()
}

/// One round of the loop: collect, hooks, update, evaluation when due, hooks. Returns whether
/// the hooks stopped the run.
pub(super) fn round<M, S, H>(
    run: &mut TrainRun<M, UpdateRecord>,
    updater: &mut ActorCritic<M>,
    source: &mut S,
    evaluate: &mut Option<Evaluate<'_, M>>,
    hooks: &mut H,
    device: &Device,
) -> Result<bool>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: RolloutSource<M>,
    H: RolloutHooks<M, S>,
{
    let before = run.steps();
    let mut rollout = source.rollout(updater.model(), run, device)?;
    if run.steps() == before {
        // A source that counts no steps would never end the run.
        return Err(Error::Empty {
            what: "rollout (the source counted no steps on the run)",
        });
    }
    hooks.before_update(&mut rollout, updater, source, device)?;
    let started = Instant::now();
    let stats = updater.update(rollout.as_ref())?;
    run.updated(
        UpdateRecord::from(&stats),
        stats.gradient_steps,
        started.elapsed().as_secs_f64(),
        None,
    )?;
    if let Some(evaluate) = evaluate.as_mut()
        && run.evaluation_due(run.done())
    {
        let mean = evaluate(updater.model())?;
        run.evaluated(mean, updater.model())?;
    }
    hooks.after_update(&rollout, &stats, updater, source, run, device)
}
