//! The ILQL updater: twin Q heads with Polyak targets, a V head by expectile regression, a
//! CQL penalty, generic over the networks.

use burn::optim::ModuleOptimizer;
use burn::tensor::Tensor;

use crate::algo::TargetUpdate;
use crate::algo::ilql::{IlqlConfig, IlqlModel, IlqlNetworks, cql_loss, expectile_loss};
use crate::algo::step::{Optimizer, PendingStep};
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::replay::TransitionBatch;
use crate::returns::value_targets_discounted;
use crate::tensor_ops::check_shape;

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
/// then one backward pass, global-norm clipping over the whole model, a step of the config's
/// optimiser (Adam by default) per parameter group, and the Polyak update
/// `Q_i' <- rate Q_i + (1 - rate) Q_i'` of the target Q heads. The
/// targets come from [`crate::returns::value_targets_discounted`], the losses are the public
/// [`expectile_loss`] and [`cql_loss`]. Decoding reads [`Ilql::target_q_values`] and the V head:
/// `log pi_ref + beta (min Q' - V)` ([`crate::lm::ValueGuided`]); policy extraction by
/// advantage-weighted regression is [`crate::algo::ilql::awac_loss`].
///
/// The model `M` is any [`IlqlModel`]: a [`crate::lm::TokenModel`], whose twin Q heads and V
/// head share one trunk (one body pass per step reads the states and the next states; the
/// targets copy the Q heads only), or three separate networks through [`IlqlNetworks`] (any
/// [`crate::value::QFunction`] twice and a [`crate::value::VFunction`] on the same input:
/// feature networks, or three token models, whose targets are then whole copies: the
/// authors' separate target trunk). Build the model on an autodiff device.
///
/// # Example
///
/// ```
/// use burn::tensor::{Bool, Int, Tensor, TensorData};
/// use valuefn::algo::ilql::{Ilql, IlqlConfig, IlqlNetworks};
/// use valuefn::nn::{QNetworkConfig, VNetworkConfig};
/// use valuefn::replay::TransitionBatch;
///
/// let device = valuefn::device::default_device();
/// let train = device.clone().autodiff();
/// let q = |seed| QNetworkConfig::new(2, 3).with_hidden(vec![16]).with_seed(seed).init(&train);
/// let v = VNetworkConfig::new(2).with_hidden(vec![16]).init(&train)?;
/// let mut ilql = Ilql::new(IlqlConfig::new(), IlqlNetworks::new(q(1)?, q(2)?, v)?)?;
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
pub struct Ilql<M: IlqlModel> {
    config: IlqlConfig,
    model: M,
    targets: M::Targets,
    /// One per parameter group ([`IlqlModel::GROUPS`]).
    optimizers: Vec<Optimizer>,
    gradient_steps: u64,
}

impl<M: IlqlModel + std::fmt::Debug> std::fmt::Debug for Ilql<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ilql")
            .field("config", &self.config)
            .field("model", &self.model)
            .field("gradient_steps", &self.gradient_steps)
            .finish_non_exhaustive()
    }
}

impl<M: IlqlModel> Ilql<M> {
    /// An updater training `model`; the target Q heads start as copies of its Q heads.
    ///
    /// # Errors
    ///
    /// As [`IlqlConfig::validate`].
    pub fn new(config: IlqlConfig, model: M) -> Result<Self> {
        config.validate()?;
        let optimizers = M::GROUPS.iter().map(|_| config.optimizer.init()).collect();
        let targets = model.online_targets();
        Ok(Self::from_parts(config, model, targets, optimizers, 0))
    }

    pub(crate) fn from_parts(
        config: IlqlConfig,
        model: M,
        targets: M::Targets,
        optimizers: Vec<ModuleOptimizer>,
        gradient_steps: u64,
    ) -> Self {
        Self {
            optimizers: optimizers
                .into_iter()
                .map(|state| Optimizer::with_state(config.learning_rate, state))
                .collect(),
            config,
            model,
            targets,
            gradient_steps,
        }
    }

    /// The optimiser states, one per parameter group.
    pub(crate) fn optimizer_states(&self) -> Vec<&ModuleOptimizer> {
        self.optimizers.iter().map(Optimizer::state).collect()
    }

    /// The settings.
    pub fn config(&self) -> &IlqlConfig {
        &self.config
    }

    /// The model being trained (online Q heads and V head).
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The target Q heads (inference copies, Polyak-averaged).
    pub fn targets(&self) -> &M::Targets {
        &self.targets
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
    /// Errors of the model on `states`.
    pub fn target_q_values(&self, states: M::Input) -> Result<Tensor<2>> {
        self.model.valid().target_q_values(states, &self.targets)
    }

    /// One step on `batch` (see the type's docs).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty batch; [`Error::ShapeMismatch`] for columns of different
    /// lengths or states the networks refuse; [`Error::InvalidAction`] for an action outside
    /// `0..num_actions`; [`Error::NonFinite`] for a NaN reward or weight, or a loss or gradient
    /// that is not finite; [`Error::InvalidConfig`] for a discount outside `[0, 1]`, a
    /// negative weight, or a parameter group none of whose parameters received a gradient
    /// (built without autodiff, or sharing another's parameters). On error, nothing has
    /// changed.
    pub fn update(&mut self, batch: &TransitionBatch<M::Input>) -> Result<IlqlStats> {
        let num_actions = self.model.num_actions();
        let len = batch.check(num_actions)?;
        let out = self.model.ilql_outputs(
            batch.observations.clone(),
            batch.next_observations.clone(),
            &self.targets,
        )?;
        check_shape("next-state values", out.next_values.dims(), [len])?;
        let targets = value_targets_discounted(
            batch.rewards.clone(),
            out.next_values,
            batch.terminated.clone(),
            batch.discounts.clone(),
        )?;
        let taken = batch.actions.clone().unsqueeze_dim::<2>(1);
        let at_taken = |q: Tensor<2>| q.gather(1, taken.clone()).squeeze_dim::<1>(1);

        let mut td = Vec::with_capacity(2);
        let mut cql = Vec::with_capacity(2);
        let mut first_taken = None;
        for all in out.q {
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
        check_shape("target Q values", out.target_q.dims(), [len, num_actions])?;
        let pessimistic = at_taken(out.target_q);
        let values = out.values;
        check_shape("values", values.dims(), [len])?;
        let value_loss = expectile_loss(values.clone(), pessimistic, self.config.expectile)?;

        let model = &self.model;
        let pending = PendingStep::new(
            &(q_loss.clone() + value_loss.clone()),
            model,
            self.config.max_grad_norm,
            M::GROUPS,
            |grads| model.gradient_groups(grads),
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
        self.model = pending.apply(
            self.model.clone(),
            &mut self.optimizers,
            self.gradient_steps,
        );
        self.gradient_steps += 1;
        let polyak = TargetUpdate::Polyak {
            tau: self.config.target_rate,
        };
        self.targets = polyak.apply(
            self.targets.clone(),
            &self.model.online_targets(),
            self.gradient_steps,
        );
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

/// Three separate networks trained as one model: their accessors.
impl<Q, V> Ilql<IlqlNetworks<Q, V>>
where
    IlqlNetworks<Q, V>: IlqlModel<Targets = (Q, Q)>,
    Q: crate::value::QFunction,
{
    /// The two online Q networks.
    pub fn q_heads(&self) -> [&Q; 2] {
        self.model.q_heads()
    }

    /// The two target Q networks (inference copies, Polyak-averaged).
    pub fn target_q_heads(&self) -> [&Q; 2] {
        [&self.targets.0, &self.targets.1]
    }

    /// The V network.
    pub fn value(&self) -> &V {
        self.model.value()
    }
}
