//! [`train_actor_critic_resumable`]: [`train_actor_critic`](super::train_actor_critic) that
//! saves the whole run after its updates and continues a run it finds saved, bit for bit as if
//! it had never stopped.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::algo::actor_critic::train::ActorCriticLoop;
use crate::algo::actor_critic::{
    ActorCritic, ActorCriticReport, ActorCriticTrainConfig, BatchRows, UpdateRecord,
};
use crate::algo::resume::{ResumeConfig, SaveSchedule, SavedLoop, check_same_config};
use crate::checkpoint::{CheckpointReader, CheckpointWriter, MANIFEST};
use crate::encode::ObservationEncoder;
use crate::env::{Environment, Snapshot, SyncVecEnv};
use crate::error::Result;
use crate::policy::{ActorCriticModel, LogitsPolicy};

/// The manifest's `kind` of an actor-critic training checkpoint.
const KIND: &str = "actor_critic_training";

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
    let mut writer = CheckpointWriter::begin(dir, KIND)?;
    updater.write_into(&mut writer)?;
    if let Some(best) = state.run.best_model() {
        writer.module("best.bpk", best)?;
    }
    writer.json(
        "run.json",
        &SavedActorCriticLoop {
            version: VERSION,
            config: config.clone(),
            common: SavedLoop::of(envs, &state.observations, &state.rng, &state.run),
        },
    )?;
    writer.commit()
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
    // As for DQN: no manifest means no complete save yet.
    if !dir.join(MANIFEST).exists() {
        return Ok(None);
    }
    let reader = CheckpointReader::open(dir, KIND)?;
    let saved: SavedActorCriticLoop<E::Observation, <SyncVecEnv<E> as Snapshot>::Snapshot> = reader
        .header(
            "run.json",
            "actor-critic training checkpoint",
            |saved: &SavedActorCriticLoop<_, _>| saved.version,
            VERSION,
        )?;
    check_same_config(&saved.config, config, |c| {
        c.clone().with_progress_bar(false).with_metrics_path(None)
    })?;
    let loaded = ActorCritic::read_from(&reader, updater.model().clone())?;
    let best = if reader.has("best.bpk") {
        Some(reader.module("best.bpk", loaded.model().valid())?)
    } else {
        None
    };
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
