//! What ILQL trains: twin Q heads and a V head, read from one forward pass of a shared trunk,
//! with Polyak copies of the Q heads; and the adapter that presents three separate networks as
//! one such model.

use burn::module::{Module, ModuleDisplay};
use burn::optim::GradientsParams;
use burn::tensor::{Gradients, Tensor};

use crate::batch::BatchRows;
use crate::error::{Error, Result};
use crate::tensor_ops::check_shape;
use crate::value::{QFunction, VFunction};

/// What an [`IlqlModel`] says about a batch of transitions, from one forward pass.
#[derive(Debug, Clone)]
pub struct IlqlOutputs {
    /// `Q1(s, .)` and `Q2(s, .)` of the online heads, `[B, A]` each (tracked).
    pub q: [Tensor<2>; 2],
    /// `V(s)`, `[B]` (tracked).
    pub values: Tensor<1>,
    /// `V(s')`, `[B]`, without gradient (the bootstrap of the Q targets).
    pub next_values: Tensor<1>,
    /// `min(Q1'(s, .), Q2'(s, .))` of the target heads, `[B, A]`, without gradient (what the V
    /// head is fitted to).
    pub target_q: Tensor<2>,
}

/// The model [`crate::algo::ilql::Ilql`] trains: twin Q heads and a V head, and target copies
/// of the Q heads that follow them by Polyak averaging.
///
/// A language model implements it on **one trunk** ([`crate::lm::TokenModel`]: its two Q
/// heads and its V head read the hidden states of one body pass over the states and the next
/// states, and the targets are copies of the Q heads only, as in the ILQL authors' code);
/// three separate networks become one model through [`IlqlNetworks`] (their targets are whole
/// copies of the Q networks: the "separate target trunk" of the authors' code, for token models).
pub trait IlqlModel: Module {
    /// A batch of states.
    type Input: BatchRows;

    /// The target Q heads: what the Polyak update averages.
    type Targets: Module;

    /// The parameter groups, each stepped by an optimiser of its own (all of the config's
    /// kind and rate), by name: a group that receives no gradient is an error naming it.
    const GROUPS: &'static [&'static str] = &["model"];

    /// Number of actions (the width of each Q head).
    fn num_actions(&self) -> usize;

    /// The online Q heads as inference copies: the first targets, and what each Polyak update
    /// blends into them.
    fn online_targets(&self) -> Self::Targets;

    /// The online heads on `states`, `V` of `next_states` and the target heads on `states`,
    /// from one forward pass where the model has one trunk.
    ///
    /// # Errors
    ///
    /// When the inputs do not fit the model.
    fn ilql_outputs(
        &self,
        states: Self::Input,
        next_states: Self::Input,
        targets: &Self::Targets,
    ) -> Result<IlqlOutputs>;

    /// `min(Q1'(s, .), Q2'(s, .))` of `targets` on `states`, `[B, A]`: the pessimistic values
    /// decoding reads.
    ///
    /// # Errors
    ///
    /// When the input does not fit the model.
    fn target_q_values(&self, states: Self::Input, targets: &Self::Targets) -> Result<Tensor<2>>;

    /// The backward pass split into [`IlqlModel::GROUPS`], in order; the provided method keeps
    /// every parameter in one group.
    fn gradient_groups(&self, grads: Gradients) -> Vec<GradientsParams> {
        vec![GradientsParams::from_grads(grads, self)]
    }
}

/// Three separate networks as one [`IlqlModel`]: twin Q networks `Q` and a V network `V` on
/// the same input. Their targets are inference copies of the two whole Q networks.
///
/// # Example
///
/// ```
/// use valuefn::algo::ilql::{IlqlModel, IlqlNetworks};
/// use valuefn::nn::{QNetworkConfig, VNetworkConfig};
///
/// let device = valuefn::device::default_device().autodiff();
/// let q = |seed| QNetworkConfig::new(2, 3).with_seed(seed).init(&device);
/// let model = IlqlNetworks::new(q(1)?, q(2)?, VNetworkConfig::new(2).init(&device)?)?;
/// assert_eq!(model.num_actions(), 3);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Module, Debug)]
pub struct IlqlNetworks<Q, V> {
    q1: Q,
    q2: Q,
    value: V,
}

impl<Q: QFunction, V> IlqlNetworks<Q, V> {
    /// The three networks. Build them **apart** (a clone shares its parameters' autodiff
    /// leaves with the original, so one of the two would receive no gradient and the update
    /// refuses it; [`Module::fork`] a copy instead).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the two Q networks score different numbers of actions.
    pub fn new(q1: Q, q2: Q, value: V) -> Result<Self> {
        if q1.num_actions() != q2.num_actions() {
            return Err(Error::ShapeMismatch {
                what: "second Q head's actions (as many as the first's)",
                expected: vec![q1.num_actions()],
                actual: vec![q2.num_actions()],
            });
        }
        Ok(Self { q1, q2, value })
    }

    /// The two Q networks.
    pub fn q_heads(&self) -> [&Q; 2] {
        [&self.q1, &self.q2]
    }

    /// The V network.
    pub fn value(&self) -> &V {
        &self.value
    }
}

impl<Q, V> IlqlModel for IlqlNetworks<Q, V>
where
    Q: Module + ModuleDisplay + QFunction,
    Q::Input: BatchRows,
    V: Module + ModuleDisplay + VFunction<Input = Q::Input>,
{
    type Input = Q::Input;
    type Targets = (Q, Q);

    const GROUPS: &'static [&'static str] = &["first Q head", "second Q head", "V head"];

    fn num_actions(&self) -> usize {
        self.q1.num_actions()
    }

    fn online_targets(&self) -> (Q, Q) {
        (self.q1.valid(), self.q2.valid())
    }

    fn ilql_outputs(
        &self,
        states: Q::Input,
        next_states: Q::Input,
        targets: &(Q, Q),
    ) -> Result<IlqlOutputs> {
        let next_values = self.value.valid().values(next_states)?;
        let q = [
            self.q1.q_values(states.clone())?,
            self.q2.q_values(states.clone())?,
        ];
        let target_q = self.target_q_values(states.clone(), targets)?;
        let values = self.value.values(states)?;
        Ok(IlqlOutputs {
            q,
            values,
            next_values,
            target_q,
        })
    }

    fn target_q_values(&self, states: Q::Input, targets: &(Q, Q)) -> Result<Tensor<2>> {
        let first = targets.0.q_values(states.clone())?;
        let second = targets.1.q_values(states)?;
        check_shape("second target Q values", second.dims(), first.dims())?;
        Ok(first.min_pair(second))
    }

    fn gradient_groups(&self, mut grads: Gradients) -> Vec<GradientsParams> {
        vec![
            GradientsParams::from_module(&mut grads, &self.q1),
            GradientsParams::from_module(&mut grads, &self.q2),
            GradientsParams::from_module(&mut grads, &self.value),
        ]
    }
}
