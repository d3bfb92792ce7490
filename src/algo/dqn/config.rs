//! Settings of the [`crate::algo::dqn::Dqn`] updater.

use burn::config::Config;

use crate::algo::optim::{LearningRateSchedule, OptimizerConfig};
use crate::algo::target::TargetUpdate;
use crate::error::{Error, Result, check_gamma, check_positive};

/// The per-transition loss on the TD error `delta = Q(s, a) - y`.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum TdLoss {
    /// Huber loss: `delta^2 / 2` for `|delta| <= kappa`, `kappa (|delta| - kappa / 2)` beyond
    /// (PyTorch's `smooth_l1_loss` for `kappa = 1`, Stable-Baselines3's DQN loss).
    Huber {
        /// Where the loss turns from quadratic to linear (> 0).
        kappa: f64,
    },
    /// Squared error `delta^2` (PyTorch's `mse_loss`).
    Mse,
}

impl TdLoss {
    fn validate(&self) -> Result<()> {
        match *self {
            TdLoss::Huber { kappa } => check_positive("loss.kappa", kappa),
            TdLoss::Mse => Ok(()),
        }
    }
}

/// The bootstrap value of the next state.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Bootstrap {
    /// `max_a' Q_target(s', a')` (DQN).
    Max,
    /// `Q_target(s', argmax_a' Q_online(s', a'))` (double DQN, van Hasselt et al. 2016).
    Double,
}

/// Settings of the [`crate::algo::dqn::Dqn`] updater.
///
/// Defaults are Stable-Baselines3's DQN defaults where the two agree (gamma, Huber loss,
/// gradient norm 10, Adam with epsilon 1e-8); the target network is copied every 1000
/// gradient steps here, where Stable-Baselines3 counts environment steps.
///
/// # Example
///
/// ```
/// use valuefn::algo::dqn::{Bootstrap, DqnConfig, TargetUpdate};
///
/// let config = DqnConfig::new()
///     .with_bootstrap(Bootstrap::Double)
///     .with_target_update(TargetUpdate::Polyak { tau: 0.005 });
/// assert!(config.validate().is_ok());
/// assert!(config.with_gamma(1.5).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct DqnConfig {
    /// Discount factor, in `[0, 1]`. The updater itself reads each row's discount from the
    /// batch (`gamma^k` for k-step rows); [`crate::algo::dqn::train_dqn`] builds the replayed
    /// transitions from this value and `n_step` (the one place they are set).
    #[config(default = 0.99)]
    pub gamma: f64,
    /// Steps summed per transition (>= 1); 1 is one-step DQN.
    #[config(default = 1)]
    pub n_step: usize,
    /// The learning rate, by gradient step.
    #[config(default = "LearningRateSchedule::Constant { rate: 1e-4 }")]
    pub learning_rate: LearningRateSchedule,
    /// The optimiser (Adam with PyTorch's epsilon 1e-8 by default, which Stable-Baselines3
    /// keeps).
    #[config(default = "OptimizerConfig::ADAM")]
    pub optimizer: OptimizerConfig,
    /// The loss on TD errors.
    #[config(default = "TdLoss::Huber { kappa: 1.0 }")]
    pub loss: TdLoss,
    /// Clip the gradient to this global L2 norm over all parameters (as PyTorch's
    /// `clip_grad_norm_`); `None` leaves it unclipped.
    #[config(default = "Some(10.0)")]
    pub max_grad_norm: Option<f64>,
    /// How the target network follows the online one.
    #[config(default = "TargetUpdate::Hard { every: 1000 }")]
    pub target_update: TargetUpdate,
    /// Max (DQN) or double-DQN bootstrap.
    #[config(default = "Bootstrap::Max")]
    pub bootstrap: Bootstrap,
}

impl DqnConfig {
    /// rl-baselines3-zoo's tuned DQN updater for CartPole-v1 (pair it with
    /// [`crate::algo::dqn::DqnTrainConfig::zoo_cartpole`] and a `[256, 256]`
    /// [`crate::nn::QNetworkConfig`]): gamma 0.99, Adam at 2.3e-3, Huber loss, gradient norm 10,
    /// and the target copied every 128 gradient steps.
    ///
    /// The zoo's `target_update_interval = 10` counts *environment* steps: the target network
    /// is copied during collection, so it stays fixed through each phase of 128 gradient steps
    /// and equals the online network at the start of the next. [`TargetUpdate::Hard`] counts
    /// gradient steps, so the same schedule is `every: 128`. (Copying every 10 gradient steps
    /// instead makes the target chase the online network within a phase, and Q diverges.)
    ///
    /// # Example
    ///
    /// ```
    /// let config = valuefn::algo::dqn::DqnConfig::zoo_cartpole();
    /// assert_eq!((config.gamma, config.n_step), (0.99, 1));
    /// assert!(config.validate().is_ok());
    /// ```
    pub fn zoo_cartpole() -> Self {
        Self::new()
            .with_gamma(0.99)
            .with_learning_rate(LearningRateSchedule::Constant { rate: 2.3e-3 })
            .with_target_update(TargetUpdate::Hard { every: 128 })
            .with_max_grad_norm(Some(10.0))
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        check_gamma(self.gamma)?;
        if self.n_step == 0 {
            return Err(Error::config("n_step", "at least 1", 0));
        }
        self.learning_rate.validate()?;
        self.optimizer.validate()?;
        self.loss.validate()?;
        if let Some(norm) = self.max_grad_norm {
            check_positive("max_grad_norm", norm)?;
        }
        self.target_update.validate()
    }
}
