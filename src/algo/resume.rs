//! What every resumable training loop shares: where and how often it saves
//! ([`ResumeConfig`]), when ([`SaveSchedule`]), and the part of its state that is not the
//! learner's ([`SavedLoop`]: the environments, their observations, the loop's random generator
//! and the run's bookkeeping).

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::algo::run::{SavedRun, TrainRun};
use crate::checkpoint::{ChaCha12Rng, CheckpointReader, MANIFEST, RngState};
use crate::env::{Environment, Snapshot, SyncVecEnv};
use crate::error::{Error, Result};

/// Where a resumable training run ([`crate::algo::dqn::train_dqn_resumable`],
/// [`crate::algo::actor_critic::train_actor_critic_resumable`],
/// [`crate::algo::actor_critic::train_on_policy_resumable`]) keeps its checkpoint, and how
/// often it writes it.
///
/// # Example
///
/// ```
/// use valuefn::algo::ResumeConfig;
///
/// let resume = ResumeConfig::new("runs/cartpole".into()).with_every(5_000);
/// assert!(resume.validate().is_ok());
/// assert!(resume.with_every(0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct ResumeConfig {
    /// The checkpoint folder: created if missing; a run saved there is continued.
    pub dir: String,
    /// Save at the first point the loop can (after a vector step for DQN, after an update for
    /// actor-critic) at or past each multiple of this many steps (>= 1; environment steps, or
    /// what the loop's source counts: episodes for a token collector), and when the run ends.
    #[config(default = 10_000)]
    pub every: u64,
    /// Save and return once the run has taken this many steps, so that a job
    /// with a time slot runs part of the run and the next call goes on from there. The
    /// report then covers the steps so far (`report.steps < total_steps`).
    #[config(default = "None")]
    pub stop_at: Option<u64>,
}

impl ResumeConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for `every = 0` or an empty `dir`.
    pub fn validate(&self) -> Result<()> {
        if self.every == 0 {
            return Err(Error::config("every", "at least 1", 0));
        }
        if self.dir.is_empty() {
            return Err(Error::config("dir", "a folder path", "\"\""));
        }
        Ok(())
    }
}

/// When a resumable loop saves and when it stops.
pub(crate) struct SaveSchedule {
    every: u64,
    stop_at: u64,
    next: u64,
}

impl SaveSchedule {
    /// The schedule of a run that has taken `steps` steps.
    pub(crate) fn new(resume: &ResumeConfig, steps: u64) -> Self {
        let mut schedule = Self {
            every: resume.every,
            stop_at: resume.stop_at.unwrap_or(u64::MAX),
            next: 0,
        };
        schedule.next = schedule.after(steps);
        schedule
    }

    /// The first multiple of `every` above `steps`.
    fn after(&self, steps: u64) -> u64 {
        (steps / self.every)
            .saturating_add(1)
            .saturating_mul(self.every)
    }

    /// Whether a run at `steps` has anything left to do in this call.
    pub(crate) fn runs<M, S>(&self, run: &TrainRun<M, S>) -> bool
    where
        M: Module,
        S: Serialize + Clone,
    {
        !run.done() && run.steps() < self.stop_at
    }

    /// At a point where the loop can save, with the run at `steps` (`done`: it has ended):
    /// calls `save` when a save is due, and says whether the loop stops here.
    pub(crate) fn saved_at(
        &mut self,
        steps: u64,
        done: bool,
        save: impl FnOnce() -> Result<()>,
    ) -> Result<bool> {
        let stop = steps >= self.stop_at;
        if steps >= self.next || stop || done {
            save()?;
            self.next = self.after(steps);
        }
        Ok(stop)
    }
}

/// The part of a resumable loop's checkpoint that every loop has: the environments' states and
/// current observations, the loop's random generator, and the run's bookkeeping. `S` is the
/// environments' snapshot, `O` an observation, `R` the learner's metrics record.
#[derive(Debug, Serialize, Deserialize)]
#[serde(
    bound = "O: Serialize + DeserializeOwned, S: Serialize + DeserializeOwned, \
                 R: Serialize + DeserializeOwned"
)]
pub(crate) struct SavedLoop<O, S, R> {
    envs: S,
    observations: Vec<O>,
    rng: RngState,
    run: SavedRun<R>,
}

/// A loop's own state as [`SavedLoop`] restores it.
pub(crate) struct RestoredLoop<M, O, R> {
    pub(crate) run: TrainRun<M, R>,
    pub(crate) rng: ChaCha12Rng,
    pub(crate) observations: Vec<O>,
}

impl<O, S, R> SavedLoop<O, S, R>
where
    O: Clone + Serialize + DeserializeOwned,
    S: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Clone,
{
    /// What a loop at this point saves.
    pub(crate) fn of<E, M>(
        envs: &SyncVecEnv<E>,
        observations: &[O],
        rng: &ChaCha12Rng,
        run: &TrainRun<M, R>,
    ) -> Self
    where
        E: Environment<Observation = O> + Snapshot,
        SyncVecEnv<E>: Snapshot<Snapshot = S>,
        M: Module,
    {
        Self {
            envs: envs.snapshot(),
            observations: observations.to_vec(),
            rng: RngState::of(rng),
            run: run.saved(),
        }
    }

    /// Restores the environments in place and rebuilds the run (its metrics file rewritten)
    /// with `best_model`. This is the step that changes the caller's objects, so it comes
    /// last: on an error the environments are as they were.
    pub(crate) fn restore<E, M>(
        self,
        envs: &mut SyncVecEnv<E>,
        best_model: Option<M>,
        eval_every: u64,
        progress: bool,
        metrics_path: Option<&str>,
    ) -> Result<RestoredLoop<M, O, R>>
    where
        E: Environment<Observation = O> + Snapshot,
        E::Action: Clone + std::fmt::Debug,
        E::ActionSpace: std::fmt::Debug,
        SyncVecEnv<E>: Snapshot<Snapshot = S>,
        M: Module,
    {
        if self.observations.len() != envs.len() {
            return Err(Error::ShapeMismatch {
                what: "saved observations (one per environment copy)",
                expected: vec![envs.len()],
                actual: vec![self.observations.len()],
            });
        }
        let rng = self.rng.restore()?;
        let before = envs.snapshot();
        envs.restore(self.envs)?;
        match TrainRun::resume(self.run, best_model, eval_every, progress, metrics_path) {
            Ok(run) => Ok(RestoredLoop {
                run,
                rng,
                observations: self.observations,
            }),
            Err(error) => {
                envs.restore(before)?;
                Err(error)
            }
        }
    }
}

/// The checkpoint of a resumable run in `dir` (of `kind`) and its `run.json` (`what`, at
/// `version`), or `None` when `dir` has never held a complete save: a folder without a
/// manifest (a first save that crashed leaves only uncommitted files) starts afresh; a manifest
/// that cannot be read is an error.
pub(crate) fn open_saved_run<T: DeserializeOwned>(
    dir: &Path,
    kind: &str,
    what: &'static str,
    version_of: impl Fn(&T) -> u32,
    version: u32,
) -> Result<Option<(CheckpointReader, T)>> {
    if !dir.join(MANIFEST).exists() {
        return Ok(None);
    }
    let reader = CheckpointReader::open(dir, kind)?;
    let saved = reader.header("run.json", what, version_of, version)?;
    Ok(Some((reader, saved)))
}

/// Checks that a resumed run's config is the saved one, apart from the fields that only
/// change how it is shown (`cosmetic` clears them).
pub(crate) fn check_same_config<C: Config + PartialEq>(
    saved: &C,
    given: &C,
    cosmetic: impl Fn(&C) -> C,
) -> Result<()> {
    if cosmetic(saved) == cosmetic(given) {
        Ok(())
    } else {
        Err(Error::config(
            "config",
            "the config the checkpoint was saved with (progress_bar and metrics_path aside)",
            format!(
                "a different one; saved: {}",
                serde_json::to_string(saved).unwrap_or_default()
            ),
        ))
    }
}
