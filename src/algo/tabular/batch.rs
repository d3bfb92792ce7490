//! A batch of tabular transitions, as the tabular updaters read it.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::error::{Error, Result, check_finite_f32};
use crate::tensor_ops::index_tensor;

/// `B` transitions `(s, a, r, s', terminated)` of a tabular problem, on the host.
///
/// `next_states` must be the state each transition actually reached; a transition cut by a
/// time limit is *not* terminated (its target bootstraps from `next_states`), so there is no
/// `truncated` field here: truncation only matters to whoever decides when to reset.
///
/// # Example
///
/// ```
/// use valuefn::algo::TabularBatch;
///
/// let batch = TabularBatch::new(vec![0, 1], vec![1, 0], vec![0.0, 1.0], vec![1, 2], vec![false, true]).unwrap();
/// assert_eq!(batch.len(), 2);
/// assert!(batch.check(3, 2).is_ok());
/// assert!(batch.check(2, 2).is_err()); // next state 2 is out of range
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TabularBatch {
    /// `s`.
    pub states: Vec<usize>,
    /// `a`.
    pub actions: Vec<usize>,
    /// `r`.
    pub rewards: Vec<f64>,
    /// `s'`.
    pub next_states: Vec<usize>,
    /// Whether the transition ended the episode in a terminal state (no bootstrap).
    pub terminated: Vec<bool>,
}

impl TabularBatch {
    /// A batch from its columns.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the columns differ in length; [`Error::NonFinite`] for a
    /// NaN or infinite reward, or one beyond `f32::MAX` in size (the tables store `f32`).
    pub fn new(
        states: Vec<usize>,
        actions: Vec<usize>,
        rewards: Vec<f64>,
        next_states: Vec<usize>,
        terminated: Vec<bool>,
    ) -> Result<Self> {
        let batch = Self {
            states,
            actions,
            rewards,
            next_states,
            terminated,
        };
        batch.check_columns()?;
        Ok(batch)
    }

    /// The checks of [`TabularBatch::new`]: the fields are public, so [`TabularBatch::check`]
    /// runs them again.
    fn check_columns(&self) -> Result<()> {
        let n = self.states.len();
        for (what, len) in [
            ("actions", self.actions.len()),
            ("rewards", self.rewards.len()),
            ("next_states", self.next_states.len()),
            ("terminated", self.terminated.len()),
        ] {
            if len != n {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![n],
                    actual: vec![len],
                });
            }
        }
        // The tables are f32: a finite f64 beyond f32::MAX would be written as infinity.
        for &reward in &self.rewards {
            check_finite_f32("reward (as the f32 the tables store)", reward)?;
        }
        Ok(())
    }

    /// A batch of one transition.
    ///
    /// # Errors
    ///
    /// As [`TabularBatch::new`].
    pub fn single(
        state: usize,
        action: usize,
        reward: f64,
        next_state: usize,
        terminated: bool,
    ) -> Result<Self> {
        Self::new(
            vec![state],
            vec![action],
            vec![reward],
            vec![next_state],
            vec![terminated],
        )
    }

    /// Number of transitions.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Checks the batch as [`TabularBatch::new`] does (its fields are public, so they may have
    /// changed since), then every index against a table of `num_states x num_actions`
    /// (state-value tables pass `usize::MAX`: they ignore actions). Every updater calls this
    /// before it touches a table.
    ///
    /// # Errors
    ///
    /// As [`TabularBatch::new`]; [`Error::InvalidState`] or [`Error::InvalidAction`] for the
    /// first index out of range.
    pub fn check(&self, num_states: usize, num_actions: usize) -> Result<()> {
        self.check_columns()?;
        if let Some(&state) = self
            .states
            .iter()
            .chain(&self.next_states)
            .find(|&&s| s >= num_states)
        {
            return Err(Error::InvalidState { state, num_states });
        }
        if let Some(&action) = self.actions.iter().find(|&&a| a >= num_actions) {
            return Err(Error::action(action, format!("0..{num_actions}")));
        }
        Ok(())
    }

    /// Checks next actions `a'` given alongside the batch: one per transition, each in range.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] or [`Error::InvalidAction`].
    pub(crate) fn check_next_actions(
        &self,
        next_actions: &[usize],
        num_actions: usize,
    ) -> Result<()> {
        if next_actions.len() != self.len() {
            return Err(Error::ShapeMismatch {
                what: "next_actions",
                expected: vec![self.len()],
                actual: vec![next_actions.len()],
            });
        }
        match next_actions.iter().find(|&&a| a >= num_actions) {
            Some(&a) => Err(Error::action(a, format!("0..{num_actions}"))),
            None => Ok(()),
        }
    }

    /// The batch as tensors on `device`: flat `s * num_actions + a` indices (just `s` when
    /// `num_actions` is 0, for state-value tables), rewards, next states and terminated flags.
    pub(crate) fn tensors(&self, num_actions: usize, device: &Device) -> BatchTensors {
        let flat: Vec<usize> = self
            .states
            .iter()
            .zip(&self.actions)
            .map(|(s, a)| {
                if num_actions == 0 {
                    *s
                } else {
                    s * num_actions + a
                }
            })
            .collect();
        let rewards: Vec<f32> = self.rewards.iter().map(|&r| r as f32).collect();
        BatchTensors {
            flat_indices: index_tensor(&flat, device),
            rewards: Tensor::from_data(TensorData::new(rewards, [self.len()]), device),
            next_states: index_tensor(&self.next_states, device),
            terminated: Tensor::from_data(
                TensorData::new(self.terminated.clone(), [self.len()]),
                device,
            ),
        }
    }
}

/// A [`TabularBatch`] moved to a device.
pub(crate) struct BatchTensors {
    pub flat_indices: Tensor<1, Int>,
    pub rewards: Tensor<1>,
    pub next_states: Tensor<1, Int>,
    pub terminated: Tensor<1, Bool>,
}
