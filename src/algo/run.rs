//! A training run's bookkeeping, written once for every loop (DQN's, actor-critic's, and the
//! token loops of the examples): episode returns as environments finish them, the learner's
//! statistics after each update, the evaluation schedule, the best evaluated model kept beside
//! the last one, the progress bar, the JSON-lines metrics log and the final report.
//!
//! A loop owns its collection and its updates (off-policy replay and on-policy rollouts
//! collect differently); everything it reports goes through one [`TrainRun`].

use std::time::Instant;

use burn::config::Config;
use burn::module::Module;
use indicatif::ProgressBar;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::algo::evaluation::EvalSchedule;
use crate::algo::metrics::{MetricsLog, progress_bar};
use crate::error::{Error, Result};

/// How long a training loop runs and what it reports: the settings every loop shares
/// ([`crate::algo::actor_critic::train_on_policy`] takes them whole). A step is whatever the
/// loop's source counts (see [`crate::algo::actor_critic::RolloutSource`]).
///
/// # Example
///
/// ```
/// use valuefn::algo::RunConfig;
///
/// let config = RunConfig::new(10_000).with_eval_every(1_000);
/// assert!(config.validate().is_ok());
/// assert!(RunConfig::new(0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct RunConfig {
    /// Steps to run (>= 1); the rollout that reaches them is completed.
    pub total_steps: u64,
    /// Evaluate every this many steps (0: only at the end).
    #[config(default = 0)]
    pub eval_every: u64,
    /// Draw a progress bar on stderr (it is hidden anyway when stderr is not a terminal).
    #[config(default = true)]
    pub progress_bar: bool,
    /// Write the metrics as JSON lines to this file.
    #[config(default = "None")]
    pub metrics_path: Option<String>,
}

impl RunConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `total_steps` is 0.
    pub fn validate(&self) -> Result<()> {
        if self.total_steps == 0 {
            return Err(Error::config("total_steps", "at least 1", 0));
        }
        Ok(())
    }
}

/// One line of a training run's metrics log: what happened at `step`. `S` is the learner's
/// record of one update ([`crate::algo::dqn::DqnUpdate`],
/// [`crate::algo::actor_critic::UpdateRecord`]); its fields are written inline. Fields that did
/// not happen at this step are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics<S> {
    /// Steps so far, as the loop counts them (environment transitions, or episodes of a
    /// token collector).
    pub step: u64,
    /// The exploration rate at this step (value-based learners).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub epsilon: Option<f64>,
    /// Return of an episode that ended at this step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub episode_return: Option<f64>,
    /// Length of that episode.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub episode_length: Option<u64>,
    /// The learner's statistics of the update (or training phase) that ended at this step.
    #[serde(
        flatten,
        skip_serializing_if = "Option::is_none",
        default = "Option::default"
    )]
    pub update: Option<S>,
    /// Mean return of an evaluation at this step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval_return: Option<f64>,
    /// Steps per second of wall-clock time so far, in this process (a resumed run counts the
    /// steps since its resume); the one field that differs between two runs with the same seed.
    pub steps_per_second: f64,
}

/// What a training run did. `M` is the model, `S` the learner's update record.
#[derive(Debug, Clone)]
pub struct TrainReport<M, S> {
    /// Every metrics record, in order (also written to the metrics file when one was given).
    pub metrics: Vec<TrainMetrics<S>>,
    /// Returns of the episodes that ended during training, in order.
    pub episode_returns: Vec<f64>,
    /// `(step, mean return)` of each evaluation; the last is at the end of training.
    pub evaluations: Vec<(u64, f64)>,
    /// The best evaluation, `(step, mean return)` (the first of equal ones).
    pub best: Option<(u64, f64)>,
    /// An inference copy of the model as it was at the best evaluation (Stable-Baselines3's
    /// `EvalCallback` keeps `best_model` the same way): the run's last model may have
    /// forgotten what this one knew.
    pub best_model: Option<M>,
    /// Steps run, as the loop counts them (see [`TrainMetrics::step`]).
    pub steps: u64,
    /// Updates (training phases, rollouts) applied during the run.
    pub updates: u64,
    /// Gradient steps taken during the run.
    pub gradient_steps: u64,
    /// Wall-clock seconds spent in updates (sampling from replay included).
    pub train_seconds: f64,
    /// Wall-clock seconds of this call (a resumed run's count starts at its resume, where
    /// `train_seconds` covers the whole run).
    pub seconds: f64,
}

/// The bookkeeping of one run: feed it what happens, take the report at the end.
///
/// A step is whatever the loop counts: environment transitions in [`crate::algo::dqn::train_dqn`]
/// and [`crate::algo::actor_critic::train_actor_critic`], episodes (whole completions) when
/// [`crate::algo::actor_critic::train_on_policy`] runs on a [`crate::lm::TokenCollector`].
///
/// # Example
///
/// ```
/// use valuefn::algo::TrainRun;
/// use valuefn::nn::MlpConfig;
///
/// let device = valuefn::device::default_device();
/// let model = MlpConfig::new(2, 1).init(&device)?;
/// let mut run: TrainRun<_, ()> = TrainRun::new(100, 50, false, None)?;
/// // Two environment copies step once; the second ends an episode of return 3.
/// run.advance(2);
/// run.steps_taken(&[1.0, 3.0], &[false, true], &[false, false], None)?;
/// run.advance(48);
/// assert!(run.evaluation_due(false));
/// run.evaluated(12.0, &model)?;
/// run.advance(50);
/// assert!(run.evaluation_due(true));
/// run.evaluated(7.0, &model)?;
/// let report = run.finish()?;
/// assert_eq!(report.episode_returns, vec![3.0]);
/// assert_eq!(report.best, Some((50, 12.0)));
/// assert!(report.best_model.is_some());
/// # Ok::<(), valuefn::Error>(())
/// ```
pub struct TrainRun<M, S> {
    total_steps: u64,
    schedule: EvalSchedule,
    log: MetricsLog,
    progress: ProgressBar,
    start: Instant,
    /// Steps already taken when this process's clock started (those of a resumed run).
    steps_at_start: u64,
    episode_returns: Vec<f64>,
    episode_lengths: Vec<u64>,
    report: TrainReport<M, S>,
}

impl<M: Module, S: Serialize + Clone> TrainRun<M, S> {
    /// A run of `total_steps` environment steps, evaluating every `eval_every` steps (0: only
    /// at the end), with a progress bar when `progress` is set (hidden anyway when stderr is not
    /// a terminal) and the metrics written as JSON lines to `metrics_path` when given.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] when the metrics file cannot be created.
    pub fn new(
        total_steps: u64,
        eval_every: u64,
        progress: bool,
        metrics_path: Option<&str>,
    ) -> Result<Self> {
        Ok(Self {
            total_steps,
            schedule: EvalSchedule::new(eval_every),
            log: MetricsLog::open(metrics_path)?,
            progress: progress_bar(progress, total_steps),
            start: Instant::now(),
            steps_at_start: 0,
            episode_returns: Vec::new(),
            episode_lengths: Vec::new(),
            report: TrainReport {
                metrics: Vec::new(),
                episode_returns: Vec::new(),
                evaluations: Vec::new(),
                best: None,
                best_model: None,
                steps: 0,
                updates: 0,
                gradient_steps: 0,
                train_seconds: 0.0,
                seconds: 0.0,
            },
        })
    }

    /// Steps so far.
    pub fn steps(&self) -> u64 {
        self.report.steps
    }

    /// A run with `config`'s steps, evaluation schedule, progress bar and metrics file.
    ///
    /// # Errors
    ///
    /// As [`RunConfig::validate`]; [`Error::Io`] when the metrics file cannot be created.
    pub fn from_config(config: &RunConfig) -> Result<Self> {
        config.validate()?;
        Self::new(
            config.total_steps,
            config.eval_every,
            config.progress_bar,
            config.metrics_path.as_deref(),
        )
    }

    /// Updates (training phases, rollouts) recorded so far.
    pub fn updates(&self) -> u64 {
        self.report.updates
    }

    /// Whether the run has taken its `total_steps`.
    pub fn done(&self) -> bool {
        self.report.steps >= self.total_steps
    }

    /// Counts `steps` more environment steps.
    pub fn advance(&mut self, steps: u64) {
        self.report.steps += steps;
        self.progress
            .set_position(self.report.steps.min(self.total_steps));
    }

    fn record(&self) -> TrainMetrics<S> {
        TrainMetrics {
            step: self.report.steps,
            epsilon: None,
            episode_return: None,
            episode_length: None,
            update: None,
            eval_return: None,
            steps_per_second: (self.report.steps - self.steps_at_start) as f64
                / self.start.elapsed().as_secs_f64().max(1e-9),
        }
    }

    /// One step of every environment copy (`rewards[i]`, and whether copy `i`'s episode
    /// terminated or was truncated there): adds the rewards to the copies' running returns and
    /// logs every episode that ended. `epsilon` is written beside each.
    ///
    /// # Errors
    ///
    /// [`crate::Error::ShapeMismatch`] when the three slices differ in length (nothing is
    /// counted then); [`crate::Error::Io`] when the metrics file cannot be written.
    pub fn steps_taken(
        &mut self,
        rewards: &[f64],
        terminated: &[bool],
        truncated: &[bool],
        epsilon: Option<f64>,
    ) -> Result<()> {
        for (what, len) in [
            ("terminated flags (one per reward)", terminated.len()),
            ("truncated flags (one per reward)", truncated.len()),
        ] {
            if len != rewards.len() {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![rewards.len()],
                    actual: vec![len],
                });
            }
        }
        if self.episode_returns.len() < rewards.len() {
            self.episode_returns.resize(rewards.len(), 0.0);
            self.episode_lengths.resize(rewards.len(), 0);
        }
        for (i, &reward) in rewards.iter().enumerate() {
            self.episode_returns[i] += reward;
            self.episode_lengths[i] += 1;
            if terminated[i] || truncated[i] {
                let (total, length) = (self.episode_returns[i], self.episode_lengths[i]);
                self.episode_ended(total, length, epsilon)?;
                self.episode_returns[i] = 0.0;
                self.episode_lengths[i] = 0;
            }
        }
        Ok(())
    }

    /// An episode that ended with return `total` after `length` steps (what a loop that plays
    /// whole episodes, like a token rollout, reports for each).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] when the metrics file cannot be written.
    pub fn episode_ended(&mut self, total: f64, length: u64, epsilon: Option<f64>) -> Result<()> {
        let mut record = self.record();
        record.epsilon = epsilon;
        record.episode_return = Some(total);
        record.episode_length = Some(length);
        self.report.episode_returns.push(total);
        self.log.write(&record, &mut self.report.metrics)
    }

    /// An update (or a training phase of several) that took `gradient_steps` steps in
    /// `seconds`, summarised by `stats`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] when the metrics file cannot be written.
    pub fn updated(
        &mut self,
        stats: S,
        gradient_steps: u64,
        seconds: f64,
        epsilon: Option<f64>,
    ) -> Result<()> {
        self.report.updates += 1;
        self.report.gradient_steps += gradient_steps;
        self.report.train_seconds += seconds;
        let mut record = self.record();
        record.epsilon = epsilon;
        record.update = Some(stats);
        self.log.write(&record, &mut self.report.metrics)
    }

    /// Whether an evaluation is due now (`last`: the loop ends after this step); advances the
    /// schedule when it is.
    pub fn evaluation_due(&mut self, last: bool) -> bool {
        self.schedule.due(self.report.steps, last)
    }

    /// The mean return of an evaluation of `model`: logged, and `model` kept (as an inference
    /// copy) when it beats every earlier evaluation.
    ///
    /// # Errors
    ///
    /// [`crate::Error::NonFinite`] for a mean that is NaN or infinite (it could never be
    /// beaten, nor saved in a checkpoint's JSON): nothing is recorded then;
    /// [`crate::Error::Io`] when the metrics file cannot be written.
    pub fn evaluated(&mut self, mean_return: f64, model: &M) -> Result<()> {
        if !mean_return.is_finite() {
            return Err(Error::NonFinite {
                what: "evaluation mean return",
                value: mean_return,
            });
        }
        let step = self.report.steps;
        self.report.evaluations.push((step, mean_return));
        if self.report.best.is_none_or(|(_, best)| mean_return > best) {
            self.report.best = Some((step, mean_return));
            self.report.best_model = Some(model.valid());
        }
        let mut record = self.record();
        record.eval_return = Some(mean_return);
        self.log.write(&record, &mut self.report.metrics)?;
        self.progress.set_message(format!("eval {mean_return:.3}"));
        Ok(())
    }

    /// Prints `line` on stdout above the progress bar (a plain `println!` would be drawn
    /// over by it).
    pub fn println(&self, line: impl AsRef<str>) {
        self.progress.suspend(|| println!("{}", line.as_ref()));
    }

    /// Ends the run: flushes the metrics file, clears the bar, and returns the report.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] when the metrics file cannot be written.
    pub fn finish(mut self) -> Result<TrainReport<M, S>> {
        self.progress.finish_and_clear();
        self.log.flush()?;
        self.report.seconds = self.start.elapsed().as_secs_f64();
        Ok(self.report)
    }
}

/// A run's bookkeeping as a training checkpoint saves it: everything but the best model (a
/// record beside it) and the clocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "S: Serialize + DeserializeOwned")]
pub(crate) struct SavedRun<S> {
    total_steps: u64,
    next_evaluation: u64,
    running_returns: Vec<f64>,
    running_lengths: Vec<u64>,
    metrics: Vec<TrainMetrics<S>>,
    episode_returns: Vec<f64>,
    evaluations: Vec<(u64, f64)>,
    best: Option<(u64, f64)>,
    steps: u64,
    updates: u64,
    gradient_steps: u64,
    train_seconds: f64,
}

impl<M: Module, S: Serialize + DeserializeOwned + Clone> TrainRun<M, S> {
    /// What a checkpoint keeps of this run.
    pub(crate) fn saved(&self) -> SavedRun<S> {
        SavedRun {
            total_steps: self.total_steps,
            next_evaluation: self.schedule.next,
            running_returns: self.episode_returns.clone(),
            running_lengths: self.episode_lengths.clone(),
            metrics: self.report.metrics.clone(),
            episode_returns: self.report.episode_returns.clone(),
            evaluations: self.report.evaluations.clone(),
            best: self.report.best,
            steps: self.report.steps,
            updates: self.report.updates,
            gradient_steps: self.report.gradient_steps,
            train_seconds: self.report.train_seconds,
        }
    }

    /// The best evaluated model, as a checkpoint keeps it.
    pub(crate) fn best_model(&self) -> Option<&M> {
        self.report.best_model.as_ref()
    }

    /// A run continued from `saved` (with its best model), as [`TrainRun::new`] would have
    /// left it: the metrics file is written again with every saved record, so lines logged
    /// after the checkpoint by an interrupted process are replaced.
    pub(crate) fn resume(
        saved: SavedRun<S>,
        best_model: Option<M>,
        eval_every: u64,
        progress: bool,
        metrics_path: Option<&str>,
    ) -> Result<Self> {
        // (`steps` past `total_steps` is not checked: a run's last rollout may take it past its
        // total, 96 episodes of a run of 92 in rollouts of 8, and that is a finished run.)
        if saved.running_returns.len() != saved.running_lengths.len()
            || saved.best.is_some() != best_model.is_some()
        {
            return Err(Error::Decode {
                what: "training run state",
                message: format!(
                    "{} running returns, {} lengths, best {:?} with{} a model",
                    saved.running_returns.len(),
                    saved.running_lengths.len(),
                    saved.best,
                    if best_model.is_some() { "" } else { "out" },
                ),
            });
        }
        let mut run = Self::new(saved.total_steps, eval_every, progress, metrics_path)?;
        run.steps_at_start = saved.steps;
        run.schedule.next = saved.next_evaluation;
        run.episode_returns = saved.running_returns;
        run.episode_lengths = saved.running_lengths;
        let mut metrics = Vec::with_capacity(saved.metrics.len());
        for record in &saved.metrics {
            run.log.write(record, &mut metrics)?;
        }
        run.report = TrainReport {
            metrics,
            episode_returns: saved.episode_returns,
            evaluations: saved.evaluations,
            best: saved.best,
            best_model,
            steps: saved.steps,
            updates: saved.updates,
            gradient_steps: saved.gradient_steps,
            train_seconds: saved.train_seconds,
            seconds: 0.0,
        };
        run.advance(0);
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::MlpConfig;

    /// A non-finite evaluation and flags of another length than the rewards are refused, and
    /// nothing of them is recorded.
    #[test]
    fn bad_evaluations_and_step_flags_are_refused_before_anything_is_recorded() {
        let device = crate::device::default_device();
        let model = MlpConfig::new(2, 1).init(&device).unwrap();
        let mut run: TrainRun<_, ()> = TrainRun::new(10, 0, false, None).unwrap();
        run.evaluated(1.0, &model).unwrap();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(matches!(
                run.evaluated(bad, &model),
                Err(Error::NonFinite { .. })
            ));
        }
        assert!(matches!(
            run.steps_taken(&[1.0, 2.0], &[false], &[false, false], None),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            run.steps_taken(&[1.0], &[true], &[], None),
            Err(Error::ShapeMismatch { .. })
        ));
        run.steps_taken(&[1.0, 2.0], &[false, true], &[false, false], None)
            .unwrap();
        let report = run.finish().unwrap();
        assert_eq!(report.evaluations, vec![(0, 1.0)]);
        assert_eq!(report.best, Some((0, 1.0)));
        assert_eq!(report.episode_returns, vec![2.0]);
        assert_eq!(report.metrics.len(), 2);
    }
}
