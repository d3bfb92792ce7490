//! Tables as trainable parameters: the actor and critic of tabular actor-critic.

use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result, check_size};
use crate::policy::LogitsPolicy;
use crate::tabular::PolicyTable;
use crate::tensor_ops::{check_state_indices, to_vec_f32};
use crate::value::{VFunction, VTable};

/// The most entries a table accepts (2^28): a typo in a size is an error, not an abort.
const MAX_ENTRIES: usize = 1 << 28;

fn table_size(num_states: usize, num_actions: usize) -> Result<usize> {
    if num_states == 0 || num_actions == 0 {
        let field = if num_states == 0 {
            "num_states"
        } else {
            "num_actions"
        };
        return Err(Error::config(field, "at least 1", 0));
    }
    check_size(
        "table entries (states x actions)",
        num_states,
        num_actions,
        MAX_ENTRIES,
    )
}

fn check_entries(what: &'static str, entries: &[f32], len: usize, shape: &[usize]) -> Result<()> {
    if entries.len() != len {
        return Err(Error::ShapeMismatch {
            what,
            expected: shape.to_vec(),
            actual: vec![entries.len()],
        });
    }
    match entries.iter().find(|x| !x.is_finite()) {
        Some(&bad) => Err(Error::NonFinite {
            what,
            value: f64::from(bad),
        }),
        None => Ok(()),
    }
}

/// A softmax policy over a finite state space: one trainable logit per state and action,
/// `pi(a | s) = softmax(theta[s, .])[a]`. States are `[B]` index tensors.
///
/// # Example
///
/// ```
/// use valuefn::nn::SoftmaxTable;
/// use valuefn::prelude::*;
/// use valuefn::tensor_ops::{index_tensor, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// let table = SoftmaxTable::zeros(3, 2, &device)?; // uniform
/// let p = table.action_probabilities(index_tensor(&[2], &device))?;
/// assert_eq!(to_vec_f32(p), vec![0.5, 0.5]);
/// assert!(table.action_probabilities(index_tensor(&[3], &device)).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Module, Debug)]
pub struct SoftmaxTable {
    logits: Param<Tensor<2>>,
}

impl SoftmaxTable {
    /// All logits zero: the uniform policy.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero size; [`Error::TooLarge`] beyond 2^28 entries.
    pub fn zeros(num_states: usize, num_actions: usize, device: &Device) -> Result<Self> {
        table_size(num_states, num_actions)?;
        Ok(Self {
            logits: Param::from_tensor(Tensor::zeros([num_states, num_actions], device)),
        })
    }

    /// A table of given logits, `[state][action]` row-major.
    ///
    /// # Errors
    ///
    /// As [`SoftmaxTable::zeros`]; [`Error::ShapeMismatch`] when `logits` is not
    /// `num_states * num_actions` long; [`Error::NonFinite`] for a NaN or infinite logit.
    pub fn from_logits(
        num_states: usize,
        num_actions: usize,
        logits: &[f32],
        device: &Device,
    ) -> Result<Self> {
        let len = table_size(num_states, num_actions)?;
        check_entries(
            "softmax table logits",
            logits,
            len,
            &[num_states, num_actions],
        )?;
        Ok(Self {
            logits: Param::from_data(
                TensorData::new(logits.to_vec(), [num_states, num_actions]),
                device,
            ),
        })
    }

    /// Number of states.
    pub fn num_states(&self) -> usize {
        self.logits.val().dims()[0]
    }

    /// The logits, `[state][action]` row-major.
    pub fn to_logits(&self) -> Vec<f32> {
        to_vec_f32(self.logits.val())
    }

    /// The softmax probabilities of every state, as an exact-solver policy.
    pub fn to_policy_table(&self) -> PolicyTable {
        let [states, actions] = self.logits.val().dims();
        let p = to_vec_f32(softmax(self.logits.val(), 1));
        let mut probabilities: Vec<f64> = p.into_iter().map(f64::from).collect();
        // Renormalise each row in f64: PolicyTable wants sums within 1e-9 of one.
        for row in probabilities.chunks_mut(actions) {
            let sum: f64 = row.iter().sum();
            row.iter_mut().for_each(|x| *x /= sum);
        }
        PolicyTable::new(states, actions, probabilities).expect("softmax rows are distributions")
    }
}

impl LogitsPolicy for SoftmaxTable {
    type Input = Tensor<1, Int>;

    fn num_actions(&self) -> usize {
        self.logits.val().dims()[1]
    }

    fn logits(&self, states: Tensor<1, Int>) -> Result<Tensor<2>> {
        check_state_indices(&states, self.num_states())?;
        Ok(self.logits.val().select(0, states))
    }
}

/// A state-value table whose entries are trainable parameters (the critic of tabular
/// actor-critic); [`VTable`] is the one the tabular TD updaters write to.
///
/// # Example
///
/// ```
/// use valuefn::nn::TrainableVTable;
///
/// let device = valuefn::device::default_device();
/// let v = TrainableVTable::zeros(4, &device)?;
/// assert_eq!(v.to_vtable().to_vec(), vec![0.0; 4]);
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Module, Debug)]
pub struct TrainableVTable {
    values: Param<Tensor<1>>,
}

impl TrainableVTable {
    /// All values zero.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for zero states; [`Error::TooLarge`] beyond 2^28 entries.
    pub fn zeros(num_states: usize, device: &Device) -> Result<Self> {
        table_size(num_states, 1)?;
        Ok(Self {
            values: Param::from_data(
                TensorData::new(vec![0.0f32; num_states], [num_states]),
                device,
            ),
        })
    }

    /// A table of given values.
    ///
    /// # Errors
    ///
    /// As [`TrainableVTable::zeros`]; [`Error::NonFinite`] for a NaN or infinite value.
    pub fn from_values(values: &[f32], device: &Device) -> Result<Self> {
        let len = table_size(values.len(), 1)?;
        check_entries("value table", values, len, &[len])?;
        Ok(Self {
            values: Param::from_data(TensorData::new(values.to_vec(), [len]), device),
        })
    }

    /// Number of states.
    pub fn num_states(&self) -> usize {
        self.values.val().dims()[0]
    }

    /// A copy as a plain [`VTable`] (without autodiff).
    pub fn to_vtable(&self) -> VTable {
        VTable::from_tensor(self.values.val().without_autodiff())
    }
}

impl VFunction for TrainableVTable {
    type Input = Tensor<1, Int>;

    fn values(&self, states: Tensor<1, Int>) -> Result<Tensor<1>> {
        check_state_indices(&states, self.num_states())?;
        Ok(self.values.val().select(0, states))
    }
}
