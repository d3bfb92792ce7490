//! The deep Q-learning updater, generic over the Q-network.

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Tensor;

use crate::algo::dqn::{Bootstrap, DqnConfig, TdLoss};
use crate::algo::gradients::parameter_shapes;
use crate::algo::step::{Optimizer, PendingStep};
use crate::batch::BatchRows;
use crate::error::{Error, Result};
use crate::replay::TransitionBatch;
use crate::returns::{double_q_targets_discounted, q_learning_targets_discounted};
use crate::tensor_ops::check_shape;
use crate::value::QFunction;

/// What one [`Dqn::update`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct DqnStats {
    /// The minimised loss: the importance-weighted mean of the per-transition loss.
    pub loss: f64,
    /// Mean of `Q(s, a)` over the batch, before the step.
    pub mean_q: f64,
    /// TD errors `Q(s, a) - y` before the step, one per transition (for prioritized replay).
    pub td_errors: Vec<f32>,
    /// Global L2 norm of the gradient before clipping (`None` when clipping is off: it is
    /// not computed then).
    pub grad_norm: Option<f64>,
    /// The learning rate of this step.
    pub learning_rate: f64,
}

/// Deep Q-learning (Mnih et al. 2015) with the usual extensions: double DQN, n-step targets
/// (through the batch's per-row discounts), Huber or squared loss, importance weights for
/// prioritized replay, global-norm gradient clipping, hard or Polyak target updates.
///
/// For a batch of transitions `(s, a, R, s', terminated, gamma^k, w)`:
///
/// ```text
/// y     = R + gamma^k (1 - terminated) Q_target(s', a*)   a* = argmax Q_target(s', .)  (DQN)
///                                                          a* = argmax Q_online(s', .)  (double)
/// delta = Q_online(s, a) - y
/// loss  = mean_i w_i l(delta_i)                            l = Huber or squared error
/// ```
///
/// then one step of the config's optimiser (Adam by default) on the online network, and the
/// target update. The targets come from
/// [`crate::returns::q_learning_targets_discounted`] and
/// [`crate::returns::double_q_targets_discounted`].
///
/// `Q` is any burn [`Module`] that is a [`QFunction`]: a [`crate::nn::QNetwork`] on
/// observation features, or a language model's Q head on tokens. Build it on an autodiff
/// device (`device.autodiff()`); the target network is an inference copy of it.
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Int, Tensor, TensorData};
/// use valuefn::algo::dqn::{Dqn, DqnConfig};
/// use valuefn::nn::QNetworkConfig;
/// use valuefn::replay::TransitionBatch;
///
/// let device = valuefn::device::default_device();
/// let q = QNetworkConfig::new(2, 3).with_hidden(vec![16]).init(&device.clone().autodiff())?;
/// let mut dqn = Dqn::new(DqnConfig::new(), q)?;
/// let batch = TransitionBatch {
///     observations: Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0]], &device),
///     actions: Tensor::<1, Int>::from_ints([2, 0], &device),
///     rewards: Tensor::from_floats([1.0, 0.0], &device),
///     next_observations: Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0]], &device),
///     terminated: Tensor::<1, Bool>::from_bool(TensorData::from([true, false]), &device),
///     discounts: Tensor::from_floats([0.99, 0.99], &device),
///     weights: Tensor::ones([2], &device),
/// };
/// let stats = dqn.update(&batch)?;
/// assert_eq!(stats.td_errors.len(), 2);
/// assert_eq!(dqn.gradient_steps(), 1);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub struct Dqn<Q> {
    config: DqnConfig,
    online: Q,
    target: Q,
    optimizer: Optimizer,
    gradient_steps: u64,
}

impl<Q: std::fmt::Debug> std::fmt::Debug for Dqn<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dqn")
            .field("config", &self.config)
            .field("online", &self.online)
            .field("gradient_steps", &self.gradient_steps)
            .finish_non_exhaustive()
    }
}

impl<Q> Dqn<Q>
where
    Q: Module + QFunction,
    Q::Input: BatchRows,
{
    /// An updater training `online`; the target network starts as a copy of it.
    ///
    /// # Errors
    ///
    /// As [`DqnConfig::validate`].
    pub fn new(config: DqnConfig, online: Q) -> Result<Self> {
        config.validate()?;
        let optimizer = Self::optimizer(&config);
        Ok(Self {
            target: online.valid(),
            online,
            optimizer,
            config,
            gradient_steps: 0,
        })
    }

    /// A fresh optimiser of the config's kind and schedule.
    fn optimizer(config: &DqnConfig) -> Optimizer {
        Optimizer::new(config.optimizer, config.learning_rate)
    }

    /// An updater training `online` whose target network starts as `target` (for instance a
    /// frozen copy of a pretrained network) rather than as a copy of `online`.
    ///
    /// # Errors
    ///
    /// As [`DqnConfig::validate`]; [`Error::ShapeMismatch`] when the two networks differ in
    /// their number of actions or in their architecture (the parameters' count or shapes: a
    /// Polyak update blends them one by one).
    pub fn with_target(config: DqnConfig, online: Q, target: Q) -> Result<Self> {
        if online.num_actions() != target.num_actions() {
            return Err(Error::ShapeMismatch {
                what: "target network actions",
                expected: vec![online.num_actions()],
                actual: vec![target.num_actions()],
            });
        }
        let (ours, theirs) = (parameter_shapes(&online), parameter_shapes(&target));
        if ours != theirs {
            let differs = ours.iter().zip(&theirs).position(|(a, b)| a != b);
            return Err(match differs {
                Some(i) => Error::ShapeMismatch {
                    what: "target network parameter (the online network's architecture)",
                    expected: ours[i].clone(),
                    actual: theirs[i].clone(),
                },
                None => Error::ShapeMismatch {
                    what: "target network parameter count (the online network's architecture)",
                    expected: vec![ours.len()],
                    actual: vec![theirs.len()],
                },
            });
        }
        let mut dqn = Self::new(config, online)?;
        dqn.target = target.valid();
        Ok(dqn)
    }

    /// Restores an updater from its parts (see [`crate::algo::dqn::DqnCheckpoint`]).
    pub(crate) fn from_parts(
        config: DqnConfig,
        online: Q,
        target: Q,
        optimizer: ModuleOptimizer,
        gradient_steps: u64,
    ) -> Self {
        Self {
            optimizer: Optimizer::with_state(config.learning_rate, optimizer),
            config,
            online,
            target,
            gradient_steps,
        }
    }

    pub(crate) fn optimizer_state(&self) -> &ModuleOptimizer {
        self.optimizer.state()
    }

    /// The settings.
    pub fn config(&self) -> &DqnConfig {
        &self.config
    }

    /// The network being trained.
    pub fn online(&self) -> &Q {
        &self.online
    }

    /// The target network (an inference copy).
    pub fn target(&self) -> &Q {
        &self.target
    }

    /// Gradient steps taken so far.
    pub fn gradient_steps(&self) -> u64 {
        self.gradient_steps
    }

    /// One gradient step on `batch` (see the type's docs for the equations), then the target
    /// network update.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the batch's columns disagree in length or the
    /// observations do not fit the network; [`Error::InvalidAction`] for an action outside
    /// `0..num_actions`; [`Error::NonFinite`] for a NaN or infinite reward, weight, or a loss
    /// or gradient that is not finite (NaN observations end there);
    /// [`Error::InvalidConfig`] for a discount outside `[0, 1]` or a negative weight. On
    /// error, nothing has changed.
    pub fn update(&mut self, batch: &TransitionBatch<Q::Input>) -> Result<DqnStats> {
        let len = self.check_batch(batch)?;
        let targets = self.targets(batch)?;
        self.step(batch, targets, len)
    }

    /// One gradient step regressing `Q(s, a)` of `batch` on `targets` (one per transition,
    /// computed by the caller without gradients: soft Q-learning's soft backup, for instance),
    /// with the config's loss, clipping and learning rate, then the target network update. The
    /// batch's rewards, discounts and next observations are not read here.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty batch; [`Error::ShapeMismatch`] for columns or targets of
    /// another length, or observations the network refuses; [`Error::InvalidAction`] for an
    /// action outside `0..num_actions`; [`Error::InvalidConfig`] for a negative weight or a
    /// network that receives no gradient; [`Error::NonFinite`] for a NaN weight, or a loss or
    /// gradient that is not finite (NaN targets end there). On error, nothing has changed.
    pub fn update_toward(
        &mut self,
        batch: &TransitionBatch<Q::Input>,
        targets: Tensor<1>,
    ) -> Result<DqnStats> {
        let len = self.check_batch(batch)?;
        check_shape("targets (one per transition)", targets.dims(), [len])?;
        self.step(batch, targets.detach().without_autodiff(), len)
    }

    /// The gradient step of a checked batch toward `targets`.
    fn step(
        &mut self,
        batch: &TransitionBatch<Q::Input>,
        targets: Tensor<1>,
        len: usize,
    ) -> Result<DqnStats> {
        let q = self.online.q_values(batch.observations.clone())?;
        check_shape("Q values", q.dims(), [len, self.online.num_actions()])?;
        let q_taken = q
            .gather(1, batch.actions.clone().unsqueeze_dim(1))
            .squeeze_dim(1);
        let td = q_taken.clone() - targets;
        let per_transition = elementwise_loss(self.config.loss, td.clone());
        let loss = (per_transition * batch.weights.clone()).mean();

        let pending = PendingStep::single(
            &loss,
            &self.online,
            self.config.max_grad_norm,
            "online Q-network",
        )?;
        // One read-back for everything the caller (and the checks) need.
        let (mut read, grad_norm) = pending.read_back(
            vec![
                td.without_autodiff(),
                loss.without_autodiff().reshape([1]),
                q_taken.without_autodiff().mean(),
            ],
            &[(len, "loss")],
        )?;
        let mean_q = read.pop().expect("mean Q read back");
        let loss_value = read.pop().expect("loss read back");
        let learning_rate = self.optimizer.rate(self.gradient_steps);
        self.online = pending.apply(
            self.online.clone(),
            std::slice::from_mut(&mut self.optimizer),
            self.gradient_steps,
        );
        self.gradient_steps += 1;
        self.target =
            self.config
                .target_update
                .apply(self.target.clone(), &self.online, self.gradient_steps);
        let read = read.into_iter().map(|x| x as f32).collect();
        Ok(DqnStats {
            loss: loss_value,
            mean_q,
            td_errors: read,
            grad_norm,
            learning_rate,
        })
    }

    /// The bootstrap targets `y` of a batch, from the target (and for double DQN, the online)
    /// network, without gradients.
    ///
    /// # Errors
    ///
    /// As [`Dqn::update`].
    pub fn targets(&self, batch: &TransitionBatch<Q::Input>) -> Result<Tensor<1>> {
        let next_q_target = self.target.q_values(batch.next_observations.clone())?;
        match self.config.bootstrap {
            Bootstrap::Max => q_learning_targets_discounted(
                batch.rewards.clone(),
                next_q_target,
                batch.terminated.clone(),
                batch.discounts.clone(),
            ),
            Bootstrap::Double => {
                let next_q_online = self
                    .online
                    .q_values(batch.next_observations.clone())?
                    .detach()
                    .without_autodiff();
                double_q_targets_discounted(
                    batch.rewards.clone(),
                    next_q_online,
                    next_q_target,
                    batch.terminated.clone(),
                    batch.discounts.clone(),
                )
            }
        }
    }

    /// Checks the batch's length, actions and weights; returns the length.
    fn check_batch(&self, batch: &TransitionBatch<Q::Input>) -> Result<usize> {
        batch.check(self.online.num_actions())
    }
}

/// The per-transition loss of TD errors `delta`.
///
/// # Shapes
///
/// - `delta`: `[B]`; output `[B]`.
pub fn elementwise_loss(loss: TdLoss, delta: Tensor<1>) -> Tensor<1> {
    match loss {
        TdLoss::Mse => delta.square(),
        TdLoss::Huber { kappa } => {
            let abs = delta.abs();
            let quadratic = abs.clone().clamp_max(kappa);
            let linear = abs - quadratic.clone();
            quadratic.square().mul_scalar(0.5) + linear.mul_scalar(kappa)
        }
    }
}
