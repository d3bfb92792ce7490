//! The flat ring storage that the uniform and prioritized memories share.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::replay::{ReplayConfig, Transition, TransitionBatch};

/// Transitions in preallocated flat columns, written as a ring: slot `i` of the observation
/// columns is `observations[i * dim..(i + 1) * dim]`. Slots `0..len` are always the ones in
/// use (the ring fills `0, 1, ...` and then overwrites from slot 0 again).
#[derive(Debug, Clone)]
pub(crate) struct Storage {
    capacity: usize,
    observation_dim: usize,
    num_actions: usize,
    pub(super) observations: Vec<f32>,
    pub(super) next_observations: Vec<f32>,
    pub(super) actions: Vec<usize>,
    pub(super) rewards: Vec<f32>,
    pub(super) terminated: Vec<bool>,
    pub(super) discounts: Vec<f32>,
    /// Slot the next push writes.
    pub(super) next: usize,
    len: usize,
}

impl Storage {
    /// Validates `config`, then allocates every column at full size.
    pub(crate) fn new(config: &ReplayConfig) -> Result<Self> {
        config.validate()?;
        let ReplayConfig {
            capacity,
            observation_dim,
            num_actions,
            ..
        } = *config;
        // `validate` bounded capacity * (2 * observation_dim + 4), so these cannot overflow.
        let floats = capacity * observation_dim;
        Ok(Self {
            capacity,
            observation_dim,
            num_actions,
            observations: vec![0.0; floats],
            next_observations: vec![0.0; floats],
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            terminated: vec![false; capacity],
            discounts: vec![0.0; capacity],
            next: 0,
            len: 0,
        })
    }

    /// Forgets every row (the columns keep their allocation).
    pub(crate) fn clear_rows(&mut self) {
        (self.len, self.next) = (0, 0);
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn observation_dim(&self) -> usize {
        self.observation_dim
    }

    pub(crate) fn num_actions(&self) -> usize {
        self.num_actions
    }

    /// Validates and writes `transition`, returning the slot it went to.
    pub(crate) fn push(&mut self, transition: &Transition<'_>) -> Result<usize> {
        transition.validate(self.observation_dim, self.num_actions)?;
        let slot = self.next;
        let row = slot * self.observation_dim..(slot + 1) * self.observation_dim;
        self.observations[row.clone()].copy_from_slice(transition.observation);
        self.next_observations[row].copy_from_slice(transition.next_observation);
        self.actions[slot] = transition.action;
        self.rewards[slot] = transition.reward as f32;
        self.terminated[slot] = transition.terminated;
        self.discounts[slot] = transition.discount as f32;
        self.next = (slot + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
        Ok(slot)
    }

    /// The transition in `slot`, or `None` when the slot is not in use.
    pub(crate) fn get(&self, slot: usize) -> Option<Transition<'_>> {
        if slot >= self.len {
            return None;
        }
        let row = slot * self.observation_dim..(slot + 1) * self.observation_dim;
        Some(Transition {
            observation: &self.observations[row.clone()],
            action: self.actions[slot],
            reward: f64::from(self.rewards[slot]),
            next_observation: &self.next_observations[row],
            terminated: self.terminated[slot],
            discount: f64::from(self.discounts[slot]),
        })
    }

    /// Refuses a batch size of 0 or one larger than the number stored.
    pub(crate) fn check_batch_size(&self, batch_size: usize) -> Result<()> {
        if batch_size == 0 {
            return Err(Error::config("batch_size", "at least 1", 0));
        }
        if batch_size > self.len {
            return Err(Error::config(
                "batch_size",
                "at most the number of stored transitions",
                format!("{batch_size} with {} stored", self.len),
            ));
        }
        Ok(())
    }

    /// Checks a priority update: equal lengths, slots in use, finite errors.
    pub(crate) fn check_priority_update(&self, indices: &[usize], td_errors: &[f32]) -> Result<()> {
        if indices.len() != td_errors.len() {
            return Err(Error::ShapeMismatch {
                what: "td_errors",
                expected: vec![indices.len()],
                actual: vec![td_errors.len()],
            });
        }
        if let Some(&slot) = indices.iter().find(|&&i| i >= self.len) {
            return Err(Error::config(
                "indices",
                "below the number of stored transitions",
                format!("{slot} with {} stored", self.len),
            ));
        }
        if let Some(&bad) = td_errors.iter().find(|e| !e.is_finite()) {
            return Err(Error::NonFinite {
                what: "td_error",
                value: f64::from(bad),
            });
        }
        Ok(())
    }

    /// The rows in `slots` (which must be in use) as tensors on `device`: each column is
    /// gathered on the host and moved in one transfer.
    pub(crate) fn batch(
        &self,
        slots: &[usize],
        weights: Vec<f32>,
        device: &Device,
    ) -> TransitionBatch {
        let (batch, dim) = (slots.len(), self.observation_dim);
        debug_assert_eq!(weights.len(), batch);
        let mut observations = Vec::with_capacity(batch * dim);
        let mut next_observations = Vec::with_capacity(batch * dim);
        for &slot in slots {
            let row = slot * dim..(slot + 1) * dim;
            observations.extend_from_slice(&self.observations[row.clone()]);
            next_observations.extend_from_slice(&self.next_observations[row]);
        }
        let column =
            |values: Vec<f32>| Tensor::<1>::from_data(TensorData::new(values, [batch]), device);
        let actions: Vec<i64> = slots.iter().map(|&s| self.actions[s] as i64).collect();
        let terminated: Vec<bool> = slots.iter().map(|&s| self.terminated[s]).collect();
        TransitionBatch {
            observations: Tensor::from_data(TensorData::new(observations, [batch, dim]), device),
            actions: Tensor::<1, Int>::from_data(TensorData::new(actions, [batch]), device),
            rewards: column(slots.iter().map(|&s| self.rewards[s]).collect()),
            next_observations: Tensor::from_data(
                TensorData::new(next_observations, [batch, dim]),
                device,
            ),
            terminated: Tensor::from_data(TensorData::new(terminated, [batch]), device),
            discounts: column(slots.iter().map(|&s| self.discounts[s]).collect()),
            weights: column(weights),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_fills_then_overwrites_from_slot_zero() {
        let mut storage = Storage::new(&ReplayConfig::new(2, 1, 1)).unwrap();
        let slots: Vec<usize> = (0..5)
            .map(|i| {
                let x = [i as f32];
                storage
                    .push(&Transition::one_step(&x, 0, 0.0, &x, false, 1.0))
                    .unwrap()
            })
            .collect();
        assert_eq!(slots, vec![0, 1, 0, 1, 0]);
        assert_eq!(storage.len(), 2);
        assert_eq!(storage.get(0).unwrap().observation, &[4.0]);
        assert_eq!(storage.get(1).unwrap().observation, &[3.0]);
        assert!(storage.get(2).is_none());
    }
}
