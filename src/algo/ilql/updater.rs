//! The ILQL updater: twin Q heads with Polyak targets, a V head by expectile regression, a
//! CQL penalty, generic over the networks.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

use crate::algo::TargetUpdate;
use crate::algo::dqn::check_transitions;
use crate::algo::ilql::{IlqlConfig, cql_loss, expectile_loss};
use crate::algo::step::{Optimizer, PendingStep};
use crate::error::{Error, Result};
use crate::replay::TransitionBatch;
use crate::returns::value_targets_discounted;
use crate::tensor_ops::check_shape;
use crate::value::{QFunction, VFunction};

/// What one [`Ilql::update`] did (losses before the step).
#[derive(Debug, Clone, PartialEq)]
pub struct IlqlStats {
    /// Both Q heads' weighted squared TD errors plus `cql_weight` times their CQL penalties.
    pub q_loss: f64,
    /// The CQL penalties of the two heads, summed (before the weight).
    pub cql_loss: f64,
    /// The V head's expectile loss.
    pub value_loss: f64,
    /// Mean `Q1(s, a)` over the batch.
    pub mean_q: f64,
    /// Mean `V(s)` over the batch.
    pub mean_value: f64,
    /// Global norm of the three networks' gradients before clipping (`None` when clipping is
    /// off).
    pub grad_norm: Option<f64>,
    /// The learning rate of this step.
    pub learning_rate: f64,
}

/// Implicit language Q-learning (Snell et al. 2022; IQL, Kostrikov et al. 2021) from a fixed
/// dataset of transitions: the value functions of the best behaviour the data supports, learned
/// without ever querying an action the data does not contain.
///
/// For a batch `(s, a, R, s', terminated, gamma^k, w)`:
///
/// ```text
/// y      = R + gamma^k (1 - terminated) V(s')                           (no gradient)
/// L_Q    = sum_i mean w (Q_i(s, a) - y)^2 + cql_weight * CQL(Q_i)       i = 1, 2
/// L_V    = expectile_tau(V(s), min(Q1'(s, a), Q2'(s, a)))               targets Q' (no gradient)
/// ```
///
/// then one Adam step per network (three optimisers, one backward pass, global-norm clipping
/// over the three jointly) and the Polyak update `Q_i' <- rate Q_i + (1 - rate) Q_i'`. The
/// targets come from [`crate::returns::value_targets_discounted`], the losses are the public
/// [`expectile_loss`] and [`cql_loss`]. Decoding reads [`Ilql::target_q_values`] and the V head:
/// `log pi_ref + beta (min Q' - V)` ([`crate::lm::ValueGuided`]); policy extraction by
/// advantage-weighted regression is [`crate::algo::ilql::awac_loss`].
///
/// `Q` is any burn [`Module`] that is a [`QFunction`], `V` any [`Module`] that is a
/// [`VFunction`] on the same input (feature networks, or token models' Q and V heads). Build
/// the three networks on an autodiff device and **apart**: a clone shares its parameters'
/// autodiff leaves with the original, so one of the two would receive no gradient ([`Ilql::update`]
/// refuses that); [`Module::fork`] a copy instead.
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Int, Tensor, TensorData};
/// use valuefn::algo::ilql::{Ilql, IlqlConfig};
/// use valuefn::nn::{QNetworkConfig, VNetworkConfig};
/// use valuefn::replay::TransitionBatch;
///
/// let device = valuefn::device::default_device();
/// let train = device.clone().autodiff();
/// let q = |seed| QNetworkConfig::new(2, 3).with_hidden(vec![16]).with_seed(seed).init(&train);
/// let v = VNetworkConfig::new(2).with_hidden(vec![16]).init(&train)?;
/// let mut ilql = Ilql::new(IlqlConfig::new(), q(1)?, q(2)?, v)?;
/// let batch = TransitionBatch {
///     observations: Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0]], &device),
///     actions: Tensor::<1, Int>::from_ints([2, 0], &device),
///     rewards: Tensor::from_floats([1.0, 0.0], &device),
///     next_observations: Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0]], &device),
///     terminated: Tensor::<1, Bool>::from_bool(TensorData::from([true, false]), &device),
///     discounts: Tensor::from_floats([0.99, 0.99], &device),
///     weights: Tensor::ones([2], &device),
/// };
/// let stats = ilql.update(&batch)?;
/// assert!(stats.cql_loss >= 0.0);
/// assert_eq!(ilql.gradient_steps(), 1);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub struct Ilql<Q, V> {
    config: IlqlConfig,
    q: [Q; 2],
    targets: [Q; 2],
    value: V,
    optimizers: [Optimizer; 3],
    gradient_steps: u64,
}

impl<Q: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for Ilql<Q, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ilql")
            .field("config", &self.config)
            .field("q", &self.q)
            .field("value", &self.value)
            .field("gradient_steps", &self.gradient_steps)
            .finish_non_exhaustive()
    }
}

impl<Q, V> Ilql<Q, V>
where
    Q: Module + QFunction,
    Q::Input: Clone,
    V: Module + VFunction<Input = Q::Input>,
{
    /// An updater training the twin Q heads `q1`, `q2` (their targets start as copies) and the
    /// V head `value`.
    ///
    /// # Errors
    ///
    /// As [`IlqlConfig::validate`]; [`Error::ShapeMismatch`] when the two Q heads score
    /// different numbers of actions.
    pub fn new(config: IlqlConfig, q1: Q, q2: Q, value: V) -> Result<Self> {
        config.validate()?;
        if q1.num_actions() != q2.num_actions() {
            return Err(Error::ShapeMismatch {
                what: "second Q head's actions (as many as the first's)",
                expected: vec![q1.num_actions()],
                actual: vec![q2.num_actions()],
            });
        }
        let optimizers = [(); 3].map(|()| config.optimizer.init());
        let targets = [q1.valid(), q2.valid()];
        Ok(Self::from_parts(
            config,
            [q1, q2],
            targets,
            value,
            optimizers,
            0,
        ))
    }

    pub(crate) fn from_parts(
        config: IlqlConfig,
        q: [Q; 2],
        targets: [Q; 2],
        value: V,
        optimizers: [ModuleOptimizer; 3],
        gradient_steps: u64,
    ) -> Self {
        Self {
            optimizers: optimizers.map(|state| Optimizer::with_state(config.learning_rate, state)),
            config,
            q,
            targets,
            value,
            gradient_steps,
        }
    }

    /// The three optimiser states (Q1, Q2, V).
    pub(crate) fn optimizer_states(&self) -> [&ModuleOptimizer; 3] {
        self.optimizers.each_ref().map(Optimizer::state)
    }

    /// The settings.
    pub fn config(&self) -> &IlqlConfig {
        &self.config
    }

    /// The two online Q heads.
    pub fn q_heads(&self) -> &[Q; 2] {
        &self.q
    }

    /// The two target Q heads (inference copies, Polyak-averaged).
    pub fn target_q_heads(&self) -> &[Q; 2] {
        &self.targets
    }

    /// The V head.
    pub fn value(&self) -> &V {
        &self.value
    }

    /// Gradient steps taken so far.
    pub fn gradient_steps(&self) -> u64 {
        self.gradient_steps
    }

    /// `min(Q1'(s, .), Q2'(s, .))` of the target heads, `[B, A]`: the pessimistic values that
    /// the V head is fitted to and that decoding reads.
    ///
    /// # Errors
    ///
    /// Errors of the networks on `states`.
    pub fn target_q_values(&self, states: Q::Input) -> Result<Tensor<2>> {
        let first = self.targets[0].q_values(states.clone())?;
        let second = self.targets[1].q_values(states)?;
        check_shape("second target Q values", second.dims(), first.dims())?;
        Ok(first.min_pair(second))
    }

    /// One step on `batch` (see the type's docs).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty batch; [`Error::ShapeMismatch`] for columns of different
    /// lengths or states the networks refuse; [`Error::InvalidAction`] for an action outside
    /// `0..num_actions`; [`Error::NonFinite`] for a NaN reward or weight, or a loss or gradient
    /// that is not finite; [`Error::InvalidConfig`] for a discount outside `[0, 1]`, a
    /// negative weight, or a network none of whose parameters received a gradient (built
    /// without autodiff, or sharing another's parameters). On error, nothing has changed.
    pub fn update(&mut self, batch: &TransitionBatch<Q::Input>) -> Result<IlqlStats> {
        let num_actions = self.q[0].num_actions();
        let len = check_transitions(batch, num_actions)?;
        let next_values = self.value.valid().values(batch.next_observations.clone())?;
        check_shape("next-state values", next_values.dims(), [len])?;
        let targets = value_targets_discounted(
            batch.rewards.clone(),
            next_values,
            batch.terminated.clone(),
            batch.discounts.clone(),
        )?;
        let taken = batch.actions.clone().unsqueeze_dim::<2>(1);
        let at_taken = |q: Tensor<2>| q.gather(1, taken.clone()).squeeze_dim::<1>(1);

        let mut td = Vec::with_capacity(2);
        let mut cql = Vec::with_capacity(2);
        let mut first_taken = None;
        for q in &self.q {
            let all = q.q_values(batch.observations.clone())?;
            check_shape("Q values", all.dims(), [len, num_actions])?;
            let q_taken = at_taken(all.clone());
            let error = q_taken.clone() - targets.clone();
            td.push((error.square() * batch.weights.clone()).mean());
            cql.push(cql_loss(all, q_taken.clone())?);
            first_taken.get_or_insert(q_taken);
        }
        let cql_total = cql[0].clone() + cql[1].clone();
        let q_loss =
            td[0].clone() + td[1].clone() + cql_total.clone().mul_scalar(self.config.cql_weight);
        let pessimistic = at_taken(self.target_q_values(batch.observations.clone())?);
        let values = self.value.values(batch.observations.clone())?;
        check_shape("values", values.dims(), [len])?;
        let value_loss = expectile_loss(values.clone(), pessimistic, self.config.expectile)?;

        // The three networks as one module: one backward pass, one global norm, a group and
        // an optimiser each.
        let networks = (self.q[0].clone(), self.q[1].clone(), self.value.clone());
        let pending = PendingStep::new(
            &(q_loss.clone() + value_loss.clone()),
            &networks,
            self.config.max_grad_norm,
            &["first Q head", "second Q head", "V head"],
            |mut grads| {
                vec![
                    GradientsParams::from_module(&mut grads, &networks.0),
                    GradientsParams::from_module(&mut grads, &networks.1),
                    GradientsParams::from_module(&mut grads, &networks.2),
                ]
            },
        )?;
        // One read-back for the statistics and the checks.
        let (read, grad_norm) = pending.read_back(
            vec![
                q_loss.without_autodiff(),
                cql_total.without_autodiff(),
                value_loss.without_autodiff(),
                first_taken.expect("two Q heads").without_autodiff().mean(),
                values.without_autodiff().mean(),
            ],
            &[(0, "Q loss"), (2, "value loss")],
        )?;
        let rate = self.optimizers[0].rate(self.gradient_steps);
        let (q1, q2, value) = pending.apply(networks, &mut self.optimizers, self.gradient_steps);
        self.q = [q1, q2];
        self.value = value;
        let polyak = TargetUpdate::Polyak {
            tau: self.config.target_rate,
        };
        for (target, online) in self.targets.iter_mut().zip(&self.q) {
            *target = polyak.apply(target.clone(), online, self.gradient_steps + 1);
        }
        self.gradient_steps += 1;
        Ok(IlqlStats {
            q_loss: read[0],
            cql_loss: read[1],
            value_loss: read[2],
            mean_q: read[3],
            mean_value: read[4],
            grad_norm,
            learning_rate: rate,
        })
    }
}
