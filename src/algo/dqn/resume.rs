//! [`train_dqn_resumable`]: [`train_dqn`] that saves the whole run as it goes and continues a
//! run it finds saved, bit for bit as if it had never stopped.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::algo::dqn::train::{DqnLoop, Memory, empty_memory};
use crate::algo::dqn::{Dqn, DqnReport, DqnTrainConfig, DqnUpdate};
use crate::algo::resume::{
    ResumeConfig, SaveSchedule, SavedLoop, check_same_config, open_saved_run,
};
use crate::checkpoint::{CheckpointWriter, ColumnReader, ColumnWriter};
use crate::encode::FeatureEncoder;
use crate::env::{Environment, Snapshot, SyncVecEnv};
use crate::error::Result;
use crate::replay::{Pending, ReplayHeader};
use crate::value::QFunction;

/// The manifest's `kind` of a DQN training checkpoint.
const KIND: &str = "dqn_training";

const VERSION: u32 = 1;

/// `run.json`: the loop's state beside the updater's files (`dqn.json`, `online.bpk`, ...),
/// the replay memory's columns (`replay.bin`) and the best evaluated network (`best.bpk`).
#[derive(Serialize, Deserialize)]
#[serde(bound = "O: Serialize + DeserializeOwned, S: Serialize + DeserializeOwned")]
struct SavedDqnLoop<O, S> {
    version: u32,
    config: DqnTrainConfig,
    common: SavedLoop<O, S, DqnUpdate>,
    vec_steps: u64,
    windows: Vec<Vec<Pending>>,
    replay: ReplayHeader,
}

/// [`train_dqn`](crate::algo::dqn::train_dqn), saving the whole run into `resume.dir` every
/// `resume.every` environment steps and at the end, and continuing the run saved there when
/// there is one.
///
/// A checkpoint holds everything the next step depends on: the updater (networks, optimiser
/// state, step counter), the environments' states (random generators included, through
/// [`Snapshot`]), their current observations, the replay memory's contents (and priorities),
/// the n-step windows in flight, the loop's random generator and counters, and the run's
/// bookkeeping (metrics so far, episode returns in progress, evaluation schedule, best model).
/// A run stopped at any point (a crash, a killed job, `stop_at`) and resumed from its last
/// checkpoint gives the same metrics, evaluations and parameters as the uninterrupted run, bit
/// for bit on the same backend. Saves are atomic ([`crate::checkpoint`]): a crash during a save
/// leaves the previous checkpoint to resume from. Only wall-clock fields (`steps_per_second`,
/// `seconds`, `train_seconds`) differ.
///
/// On resume `dqn` is replaced by the saved updater (its online network serves as the
/// architecture template) and `envs` by the saved states; `config` must equal the saved
/// config except for `progress_bar` and `metrics_path`. The metrics file, when one is given,
/// is rewritten with every record up to the checkpoint and then continued.
///
/// # Errors
///
/// Those of [`train_dqn`](crate::algo::dqn::train_dqn);
/// [`crate::Error::InvalidConfig`] for a bad `resume` or a `config` other than the saved one;
/// [`crate::Error::Checkpoint`] and [`crate::Error::Decode`] for a checkpoint that is
/// incomplete, corrupt, or does not fit the network, the environments or the encoder (nothing
/// is changed then); [`crate::Error::Io`] when a checkpoint cannot be written.
///
/// # Example
///
/// ```
/// use valuefn::algo::dqn::{Dqn, DqnConfig, DqnTrainConfig, ResumeConfig, train_dqn_resumable};
/// use valuefn::encode::Features;
/// use valuefn::env::SyncVecEnv;
/// use valuefn::env::classic::CartPoleConfig;
/// use valuefn::nn::QNetworkConfig;
///
/// let device = valuefn::device::default_device().autodiff();
/// let config = DqnTrainConfig::new()
///     .with_total_steps(200)
///     .with_learning_starts(50)
///     .with_batch_size(16)
///     .with_eval_episodes(0)
///     .with_progress_bar(false);
/// let net = QNetworkConfig::new(4, 2).with_hidden(vec![16]);
/// let dir = std::env::temp_dir().join("valuefn-doc-dqn-resume");
/// # std::fs::remove_dir_all(&dir).ok();
/// let resume = ResumeConfig::new(dir.display().to_string()).with_every(50);
/// let envs = || SyncVecEnv::new(vec![CartPoleConfig::new().init()?, CartPoleConfig::new().init()?]);
///
/// // A job that may only run the first 100 steps...
/// let mut dqn = Dqn::new(DqnConfig::new(), net.init(&device)?)?;
/// let first = train_dqn_resumable(
///     &config, &resume.clone().with_stop_at(Some(100)), &mut dqn, &mut envs()?, None,
///     &Features::new(4), &device,
/// )?;
/// assert_eq!(first.steps, 100);
///
/// // ...and the next one, with fresh objects, continues from the checkpoint.
/// let mut dqn = Dqn::new(DqnConfig::new(), net.with_seed(9).init(&device)?)?;
/// let rest = train_dqn_resumable(
///     &config, &resume, &mut dqn, &mut envs()?, None, &Features::new(4), &device,
/// )?;
/// assert_eq!(rest.steps, 200);
/// assert_eq!(rest.episode_returns[..first.episode_returns.len()], first.episode_returns[..]);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn train_dqn_resumable<E, Enc, Q>(
    config: &DqnTrainConfig,
    resume: &ResumeConfig,
    dqn: &mut Dqn<Q>,
    envs: &mut SyncVecEnv<E>,
    eval_env: Option<&mut E>,
    encoder: &Enc,
    device: &Device,
) -> Result<DqnReport<Q>>
where
    E: Environment<Action = usize> + Snapshot,
    E::ActionSpace: std::fmt::Debug,
    E::Observation: Serialize + DeserializeOwned,
    Enc: FeatureEncoder<E::Observation>,
    Q: Module + QFunction<Input = Tensor<2>>,
{
    config.validate()?;
    resume.validate()?;
    let dir = Path::new(&resume.dir);
    let mut state = match load(dir, config, dqn, envs, encoder)? {
        Some(state) => state,
        None => DqnLoop::start(config, dqn, envs, encoder)?,
    };
    let mut schedule = SaveSchedule::new(resume, state.run.steps());
    if schedule.runs(&state.run) {
        state.run(
            config,
            dqn,
            envs,
            eval_env,
            encoder,
            device,
            |state, dqn, envs| {
                schedule.saved_at(state.run.steps(), state.run.done(), || {
                    save(dir, config, state, dqn, envs)
                })
            },
        )?;
    }
    state.run.finish()
}

fn save<E, Q>(
    dir: &Path,
    config: &DqnTrainConfig,
    state: &DqnLoop<Q, E::Observation>,
    dqn: &Dqn<Q>,
    envs: &SyncVecEnv<E>,
) -> Result<()>
where
    E: Environment<Action = usize> + Snapshot,
    E::ActionSpace: std::fmt::Debug,
    E::Observation: Serialize + DeserializeOwned,
    Q: Module + QFunction<Input = Tensor<2>>,
{
    let mut writer = CheckpointWriter::begin(dir, KIND)?;
    dqn.write_into(&mut writer)?;
    let mut columns = ColumnWriter::default();
    let replay = match &state.memory {
        Memory::Uniform(memory) => memory.write_columns(&mut columns),
        Memory::Prioritized(memory) => memory.write_columns(&mut columns),
    };
    writer.bytes("replay.bin", &columns.into_bytes())?;
    if let Some(best) = state.run.best_model() {
        writer.module("best.bpk", best)?;
    }
    writer.json(
        "run.json",
        &SavedDqnLoop {
            version: VERSION,
            config: config.clone(),
            common: SavedLoop::of(envs, &state.observations, &state.rng, &state.run),
            vec_steps: state.vec_steps,
            windows: state.collector.windows(),
            replay,
        },
    )?;
    writer.commit()
}

/// The run saved in `dir`, or `None` when `dir` holds no checkpoint yet. Everything is read
/// and checked before `dqn` and `envs` are replaced.
fn load<E, Enc, Q>(
    dir: &Path,
    config: &DqnTrainConfig,
    dqn: &mut Dqn<Q>,
    envs: &mut SyncVecEnv<E>,
    encoder: &Enc,
) -> Result<Option<DqnLoop<Q, E::Observation>>>
where
    E: Environment<Action = usize> + Snapshot,
    E::ActionSpace: std::fmt::Debug,
    E::Observation: Serialize + DeserializeOwned,
    Enc: FeatureEncoder<E::Observation>,
    Q: Module + QFunction<Input = Tensor<2>>,
{
    let Some((reader, saved)) = open_saved_run(
        dir,
        KIND,
        "DQN training checkpoint",
        |saved: &SavedDqnLoop<E::Observation, <SyncVecEnv<E> as Snapshot>::Snapshot>| saved.version,
        VERSION,
    )?
    else {
        return Ok(None);
    };
    check_same_config(&saved.config, config, |c| {
        c.clone().with_progress_bar(false).with_metrics_path(None)
    })?;
    let loaded = Dqn::read_from(&reader, dqn.online().clone())?;
    let (mut memory, mut collector) = empty_memory(config, &loaded, envs.len(), encoder.dim())?;
    let bytes = reader.bytes("replay.bin")?;
    let mut columns = ColumnReader::new("replay memory", &bytes);
    match &mut memory {
        Memory::Uniform(memory) => memory.read_columns(&saved.replay, &mut columns)?,
        Memory::Prioritized(memory) => memory.read_columns(&saved.replay, &mut columns)?,
    }
    columns.finish()?;
    collector.restore_windows(saved.windows, encoder.dim(), loaded.online().num_actions())?;
    let best = if reader.has("best.bpk") {
        Some(reader.module("best.bpk", loaded.online().valid())?)
    } else {
        None
    };
    // The last step: it restores the environments and rewrites the metrics file.
    let restored = saved.common.restore(
        envs,
        best,
        config.eval_every,
        config.progress_bar,
        config.metrics_path.as_deref(),
    )?;
    *dqn = loaded;
    Ok(Some(DqnLoop {
        memory,
        collector,
        run: restored.run,
        rng: restored.rng,
        observations: restored.observations,
        vec_steps: saved.vec_steps,
    }))
}
