//! Resumable on-policy runs: [`train_actor_critic_resumable`] (environment copies) and
//! [`train_on_policy_resumable`] (any [`RolloutSource`] with a [`Snapshot`], e.g. a token
//! collector) save the whole run after their updates and continue a run they find saved, bit
//! for bit as if it had never stopped.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::algo::actor_critic::on_policy::round;
use crate::algo::actor_critic::train::ActorCriticLoop;
use crate::algo::actor_critic::{
    ActorCritic, ActorCriticReport, ActorCriticTrainConfig, BatchRows, Evaluate, RolloutHooks,
    RolloutSource, UpdateRecord,
};
use crate::algo::resume::{
    ResumeConfig, SaveSchedule, SavedLoop, check_same_config, open_saved_run,
};
use crate::algo::run::{RunConfig, SavedRun, TrainRun};
use crate::checkpoint::{CheckpointReader, CheckpointWriter};
use crate::encode::ObservationEncoder;
use crate::env::{Environment, Snapshot, SyncVecEnv};
use crate::error::Result;
use crate::policy::{ActorCriticModel, LogitsPolicy};

/// The manifest's `kind` of an actor-critic training checkpoint.
const KIND: &str = "actor_critic_training";

/// The manifest's `kind` of a [`train_on_policy_resumable`] checkpoint.
const ON_POLICY_KIND: &str = "on_policy_training";

const VERSION: u32 = 1;

/// `run.json`: the loop's state beside the updater's files (`actor_critic.json`, `model.bpk`,
/// the optimiser states) and the best evaluated model (`best.bpk`).
#[derive(Serialize, Deserialize)]
#[serde(bound = "O: Serialize + DeserializeOwned, S: Serialize + DeserializeOwned")]
struct SavedActorCriticLoop<O, S> {
    version: u32,
    config: ActorCriticTrainConfig,
    common: SavedLoop<O, S, UpdateRecord>,
}

/// [`train_actor_critic`](super::train_actor_critic), saving the whole run into `resume.dir`
/// after the first update at or past every `resume.every` environment steps and at the end, and
/// continuing the run saved there when there is one.
///
/// Rollouts are collected whole between updates, so a checkpoint is taken between an update
/// (and its evaluation) and the next rollout. It holds the updater (model, both optimiser
/// states, counters: the minibatch order of update `k` follows from the seed and `k`), the
/// environments' states and current observations, the sampling generator, and the run's
/// bookkeeping (metrics, episode returns in progress, evaluation schedule, best model). A run
/// stopped at any point and resumed from its last checkpoint gives the same metrics,
/// evaluations and parameters as the uninterrupted run, bit for bit on the same backend; the
/// rollout that was in progress when it stopped is collected again. Saves are atomic
/// ([`crate::checkpoint`]).
///
/// On resume `updater` is replaced by the saved one (its model serves as the architecture
/// template) and `envs` by the saved states; `config` must equal the saved config except for
/// `progress_bar` and `metrics_path`.
///
/// # Errors
///
/// Those of [`train_actor_critic`](super::train_actor_critic);
/// [`crate::Error::InvalidConfig`] for a bad `resume` or a `config` other than the saved one;
/// [`crate::Error::Checkpoint`] and [`crate::Error::Decode`] for a checkpoint that is
/// incomplete, corrupt, or does not fit the model or the environments (nothing is changed
/// then); [`crate::Error::Io`] when a checkpoint cannot be written.
///
/// # Example
///
/// ```
/// use valuefn::algo::ResumeConfig;
/// use valuefn::algo::actor_critic::{
///     ActorCritic, ActorCriticConfig, ActorCriticTrainConfig, train_actor_critic_resumable,
/// };
/// use valuefn::encode::Features;
/// use valuefn::env::SyncVecEnv;
/// use valuefn::env::classic::CartPoleConfig;
/// use valuefn::nn::{CategoricalPolicyConfig, VNetworkConfig};
/// use valuefn::policy::PolicyAndValue;
///
/// let device = valuefn::device::default_device().autodiff();
/// let config = ActorCriticTrainConfig::new()
///     .with_total_steps(80)
///     .with_eval_episodes(0)
///     .with_progress_bar(false);
/// let dir = std::env::temp_dir().join("valuefn-doc-a2c-resume");
/// # std::fs::remove_dir_all(&dir).ok();
/// let resume = ResumeConfig::new(dir.display().to_string()).with_every(20);
/// let job = |stop_at: Option<u64>| -> valuefn::Result<_> {
///     let model = PolicyAndValue::new(
///         CategoricalPolicyConfig::new(4, 2).with_hidden(vec![16]).init(&device)?,
///         VNetworkConfig::new(4).with_hidden(vec![16]).init(&device)?,
///     );
///     let mut a2c = ActorCritic::new(ActorCriticConfig::new(), model)?;
///     let mut envs = SyncVecEnv::new(vec![CartPoleConfig::new().init()?])?;
///     train_actor_critic_resumable(
///         &config, &resume.clone().with_stop_at(stop_at), &mut a2c, &mut envs, None,
///         &Features::new(4), &device,
///     )
/// };
/// assert_eq!(job(Some(40))?.updates, 8); // rollouts of 5 steps
/// assert_eq!(job(None)?.updates, 16);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn train_actor_critic_resumable<E, Enc, M, I>(
    config: &ActorCriticTrainConfig,
    resume: &ResumeConfig,
    updater: &mut ActorCritic<M>,
    envs: &mut SyncVecEnv<E>,
    eval_env: Option<&mut E>,
    encoder: &Enc,
    device: &Device,
) -> Result<ActorCriticReport<M>>
where
    E: Environment<Action = usize> + Snapshot,
    E::Observation: Clone + Serialize + DeserializeOwned,
    E::ActionSpace: std::fmt::Debug,
    Enc: ObservationEncoder<E::Observation, Output = I>,
    M: Module + ActorCriticModel<Input = I> + LogitsPolicy<Input = I>,
    I: BatchRows,
{
    config.validate()?;
    resume.validate()?;
    let dir = Path::new(&resume.dir);
    let mut state = match load(dir, config, updater, envs)? {
        Some(state) => state,
        None => ActorCriticLoop::start(config, envs)?,
    };
    let mut schedule = SaveSchedule::new(resume, state.run.steps());
    if schedule.runs(&state.run) {
        state.run(
            config,
            updater,
            envs,
            eval_env,
            encoder,
            device,
            |state, updater, envs| {
                schedule.saved_at(state.run.steps(), state.run.done(), || {
                    save(dir, config, state, updater, envs)
                })
            },
        )?;
    }
    state.run.finish()
}

fn save<E, M>(
    dir: &Path,
    config: &ActorCriticTrainConfig,
    state: &ActorCriticLoop<M, E::Observation>,
    updater: &ActorCritic<M>,
    envs: &SyncVecEnv<E>,
) -> Result<()>
where
    E: Environment<Action = usize> + Snapshot,
    E::Observation: Clone + Serialize + DeserializeOwned,
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
{
    write_checkpoint(
        dir,
        KIND,
        updater,
        &state.run,
        &SavedActorCriticLoop {
            version: VERSION,
            config: config.clone(),
            common: SavedLoop::of(envs, &state.observations, &state.rng, &state.run),
        },
    )
}

/// Writes an actor-critic run's checkpoint: the updater's files, the best evaluated model
/// and the loop's own state (`run.json`).
fn write_checkpoint<M, T>(
    dir: &Path,
    kind: &str,
    updater: &ActorCritic<M>,
    run: &TrainRun<M, UpdateRecord>,
    saved: &T,
) -> Result<()>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    T: Serialize,
{
    let mut writer = CheckpointWriter::begin(dir, kind)?;
    updater.write_into(&mut writer)?;
    if let Some(best) = run.best_model() {
        writer.module("best.bpk", best)?;
    }
    writer.json("run.json", saved)?;
    writer.commit()
}

/// Reads the updater (on `template`'s architecture) and the best evaluated model of a
/// checkpoint; changes nothing.
fn read_updater<M>(
    reader: &CheckpointReader,
    template: &ActorCritic<M>,
) -> Result<(ActorCritic<M>, Option<M>)>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
{
    let loaded = ActorCritic::read_from(reader, template.model().clone())?;
    let best = if reader.has("best.bpk") {
        Some(reader.module("best.bpk", loaded.model().valid())?)
    } else {
        None
    };
    Ok((loaded, best))
}

/// The run saved in `dir`, or `None` when `dir` holds no checkpoint yet. Everything is read
/// and checked before `updater` and `envs` are replaced.
fn load<E, M>(
    dir: &Path,
    config: &ActorCriticTrainConfig,
    updater: &mut ActorCritic<M>,
    envs: &mut SyncVecEnv<E>,
) -> Result<Option<ActorCriticLoop<M, E::Observation>>>
where
    E: Environment<Action = usize> + Snapshot,
    E::Observation: Clone + Serialize + DeserializeOwned,
    E::ActionSpace: std::fmt::Debug,
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
{
    let Some((reader, saved)) = open_saved_run(
        dir,
        KIND,
        "actor-critic training checkpoint",
        |saved: &SavedActorCriticLoop<E::Observation, <SyncVecEnv<E> as Snapshot>::Snapshot>| {
            saved.version
        },
        VERSION,
    )?
    else {
        return Ok(None);
    };
    check_same_config(&saved.config, config, |c| {
        c.clone().with_progress_bar(false).with_metrics_path(None)
    })?;
    let (loaded, best) = read_updater(&reader, updater)?;
    let restored = saved.common.restore(
        envs,
        best,
        config.eval_every,
        config.progress_bar,
        config.metrics_path.as_deref(),
    )?;
    *updater = loaded;
    Ok(Some(ActorCriticLoop {
        run: restored.run,
        rng: restored.rng,
        observations: restored.observations,
    }))
}

/// `run.json` of [`train_on_policy_resumable`]: the loop's state beside the updater's files
/// and the best evaluated model. `S` is the source's snapshot, `H` the hooks'.
#[derive(Serialize, Deserialize)]
#[serde(bound = "S: Serialize + DeserializeOwned, H: Serialize + DeserializeOwned")]
struct SavedOnPolicyRun<S, H> {
    version: u32,
    config: RunConfig,
    source: S,
    hooks: H,
    run: SavedRun<UpdateRecord>,
    /// A hook stopped the run: it has ended, short of its steps.
    stopped: bool,
}

/// [`train_on_policy`](super::train_on_policy), saving the whole run into `resume.dir` after
/// the first update at or past every `resume.every` steps (as the source counts them: episodes
/// for a [`crate::lm::TokenCollector`]) and at the end, and continuing the run saved there
/// when there is one.
///
/// A checkpoint is taken between an update (with its evaluation and hooks) and the next
/// rollout. It holds the updater (model, both optimiser states, counters), the source's
/// [`Snapshot`] (a token collector's environments and sampling generator), the hooks'
/// [`Snapshot`] (an adaptive [`crate::algo::actor_critic::KlPenaltyHook`]'s `beta`; nothing for
/// `()` or [`crate::algo::actor_critic::AfterUpdate`]; a pair saves both), the run's
/// bookkeeping (metrics, evaluation schedule) and the best evaluated model. A run stopped at any
/// point and resumed from its last checkpoint gives the same metrics, evaluations and
/// parameters as the uninterrupted run, bit for bit on the same backend; the rollout in
/// progress when it stopped is played again. Saves are atomic ([`crate::checkpoint`]).
///
/// On resume `updater` is replaced by the saved one (its model serves as the architecture
/// template), and `source` and `hooks` restored in place; `config` must equal the saved config
/// except for `progress_bar` and `metrics_path`. What a snapshot does not hold is the caller's
/// to bring back as it was: the evaluation closure, a KL hook's reference model, the state a
/// closure hook keeps. Hooks without a [`Snapshot`] (a [`crate::lm::QFromReplay`], which would
/// have to save its replay memory) cannot run here. When a hook stops the run, the run is saved
/// as stopped and returned; calling again returns its report without training further, as for
/// a run that reached its steps.
///
/// # Errors
///
/// Those of [`train_on_policy`](super::train_on_policy); [`crate::Error::InvalidConfig`] for a
/// bad `resume` or a `config` other than the saved one; [`crate::Error::Checkpoint`] and
/// [`crate::Error::Decode`] for a checkpoint that is incomplete, corrupt, or does not fit the
/// model, the source or the hooks, and the source's and the hooks' own refusals of their saved
/// state ([`crate::Error::ShapeMismatch`] for a collector of another size,
/// [`crate::Error::NonFinite`] for a `beta` that is not finite, ...): nothing is changed then;
/// [`crate::Error::Io`] when a checkpoint cannot be written.
///
/// # Example
///
/// A token model's run cut in two: the second call continues from the checkpoint.
///
/// ```
/// use valuefn::algo::{ResumeConfig, RunConfig};
/// use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, train_on_policy_resumable};
/// use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
/// use valuefn::lm::{GruBodyConfig, TokenCollector, TokenModel};
/// use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};
///
/// let tok = CharTokenizer::fit(["ab"])?;
/// let tasks = vec![TokenTask::encode(&TextPair::new("ab", "ba"), &tok)?];
/// let env = TextGenerationEnv::new(tasks, tok.vocabulary(), TokenMatch, &TextEnvConfig::new())?;
/// let device = valuefn::device::default_device().autodiff();
/// let config = RunConfig::new(40).with_progress_bar(false);
/// let dir = std::env::temp_dir().join("valuefn-doc-token-resume");
/// # std::fs::remove_dir_all(&dir).ok();
/// let resume = ResumeConfig::new(dir.display().to_string()).with_every(8);
/// let job = |stop_at: Option<u64>| -> valuefn::Result<_> {
///     let body = GruBodyConfig::new(env.vocab_size()).with_hidden(16);
///     let model = TokenModel::new(body.init(&device)?, 0, &device);
///     let mut a2c = ActorCritic::new(ActorCriticConfig::new(), model)?;
///     let mut collector = TokenCollector::new(&env, 4, 0)?;
///     let resume = resume.clone().with_stop_at(stop_at);
///     train_on_policy_resumable(&config, &resume, &mut a2c, &mut collector, None, &mut (), &device)
/// };
/// assert_eq!(job(Some(20))?.updates, 5); // 4 episodes a rollout
/// let report = job(None)?;
/// assert_eq!((report.steps, report.updates, report.episode_returns.len()), (40, 10, 40));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn train_on_policy_resumable<M, S, H>(
    config: &RunConfig,
    resume: &ResumeConfig,
    updater: &mut ActorCritic<M>,
    source: &mut S,
    mut evaluate: Option<Evaluate<'_, M>>,
    hooks: &mut H,
    device: &Device,
) -> Result<ActorCriticReport<M>>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: RolloutSource<M> + Snapshot,
    H: RolloutHooks<M, S> + Snapshot,
{
    config.validate()?;
    resume.validate()?;
    let dir = Path::new(&resume.dir);
    let (mut run, mut stopped) = match load_on_policy(dir, config, updater, source, hooks)? {
        Some(loaded) => loaded,
        None => (TrainRun::from_config(config)?, false),
    };
    let mut schedule = SaveSchedule::new(resume, run.steps());
    while !stopped && schedule.runs(&run) {
        stopped = round(&mut run, updater, source, &mut evaluate, hooks, device)?;
        let paused = schedule.saved_at(run.steps(), run.done() || stopped, || {
            let saved = SavedOnPolicyRun {
                version: VERSION,
                config: config.clone(),
                source: source.snapshot(),
                hooks: hooks.snapshot(),
                run: run.saved(),
                stopped,
            };
            write_checkpoint(dir, ON_POLICY_KIND, updater, &run, &saved)
        })?;
        if paused {
            break;
        }
    }
    run.finish()
}

/// The run saved in `dir` by [`train_on_policy_resumable`] and whether a hook stopped it, or
/// `None` when `dir` holds no checkpoint yet. Everything is read and checked before `updater`,
/// `source` and `hooks` change; when any of them refuses its state, all are as they were.
fn load_on_policy<M, S, H>(
    dir: &Path,
    config: &RunConfig,
    updater: &mut ActorCritic<M>,
    source: &mut S,
    hooks: &mut H,
) -> Result<Option<(TrainRun<M, UpdateRecord>, bool)>>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
    S: Snapshot,
    H: Snapshot,
{
    let Some((reader, saved)) = open_saved_run(
        dir,
        ON_POLICY_KIND,
        "on-policy training checkpoint",
        |saved: &SavedOnPolicyRun<S::Snapshot, H::Snapshot>| saved.version,
        VERSION,
    )?
    else {
        return Ok(None);
    };
    check_same_config(&saved.config, config, |c| {
        c.clone().with_progress_bar(false).with_metrics_path(None)
    })?;
    let (loaded, best) = read_updater(&reader, updater)?;
    // The source and the hooks as one pair: restored all or none.
    let mut parts = (&mut *source, &mut *hooks);
    let before = parts.snapshot();
    parts.restore((saved.source, saved.hooks))?;
    match TrainRun::resume(
        saved.run,
        best,
        config.eval_every,
        config.progress_bar,
        config.metrics_path.as_deref(),
    ) {
        Ok(run) => {
            *updater = loaded;
            Ok(Some((run, saved.stopped)))
        }
        Err(error) => {
            // Their own earlier states are ones they can be in.
            parts.restore(before)?;
            Err(error)
        }
    }
}
