//! A replay memory's contents in a training checkpoint: a small header plus flat columns,
//! every row checked on the way back in as a push would check it.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{ColumnReader, ColumnWriter};
use crate::error::{Error, Result};
use crate::replay::storage::Storage;
use crate::replay::{PrioritizedReplay, ReplayBuffer, SumTree, Transition};

/// What a saved memory holds besides its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReplayHeader {
    /// Rows stored.
    pub len: usize,
    /// The slot the next push writes.
    pub next: usize,
    /// Prioritized replay's state, `None` for a uniform memory.
    pub prioritized: Option<PriorityHeader>,
}

/// The scalars of a [`PrioritizedReplay`] besides its priorities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PriorityHeader {
    pub max_priority: f64,
    pub progress: f64,
}

impl Storage {
    /// Writes the `len` stored rows, column by column.
    pub(crate) fn write_columns(&self, out: &mut ColumnWriter) -> ReplayHeader {
        let (len, dim) = (self.len(), self.observation_dim());
        out.f32s(&self.observations[..len * dim]);
        out.f32s(&self.next_observations[..len * dim]);
        out.u64s(self.actions[..len].iter().map(|&a| a as u64));
        out.f32s(&self.rewards[..len]);
        out.u64s(self.terminated[..len].iter().map(|&t| u64::from(t)));
        out.f32s(&self.discounts[..len]);
        ReplayHeader {
            len,
            next: self.next,
            prioritized: None,
        }
    }

    /// Fills this empty storage with `header.len` rows read from `columns`, each checked as
    /// [`Storage::push`] checks it. On an error the storage is left empty.
    pub(crate) fn read_columns(
        &mut self,
        header: &ReplayHeader,
        columns: &mut ColumnReader<'_>,
    ) -> Result<()> {
        let (len, next, capacity) = (header.len, header.next, self.capacity());
        // Checked before any column is read: the length bounds every allocation below.
        let next_ok = if len < capacity {
            next == len
        } else {
            len == capacity && next < capacity
        };
        if !next_ok {
            return Err(Error::config(
                "replay rows",
                "at most the capacity, with the next slot after the last row",
                format!("{len} rows, next slot {next}, capacity {capacity}"),
            ));
        }
        let dim = self.observation_dim();
        let observations = columns.f32s(len * dim)?;
        let next_observations = columns.f32s(len * dim)?;
        let actions = columns.u64s(len)?;
        let rewards = columns.f32s(len)?;
        let terminated = columns.u64s(len)?;
        let discounts = columns.f32s(len)?;
        let mut fill = || -> Result<()> {
            for slot in 0..len {
                let row = slot * dim..(slot + 1) * dim;
                let flag = terminated[slot];
                if flag > 1 {
                    return Err(Error::config("terminated", "0 or 1", flag));
                }
                self.push(&Transition {
                    observation: &observations[row.clone()],
                    action: usize::try_from(actions[slot]).unwrap_or(usize::MAX),
                    reward: f64::from(rewards[slot]),
                    next_observation: &next_observations[row],
                    terminated: flag == 1,
                    discount: f64::from(discounts[slot]),
                })?;
            }
            Ok(())
        };
        match fill() {
            Ok(()) => {
                self.next = next;
                Ok(())
            }
            Err(error) => {
                self.clear_rows();
                Err(error)
            }
        }
    }
}

impl ReplayBuffer {
    /// Writes the stored transitions (for a training checkpoint).
    pub(crate) fn write_columns(&self, out: &mut ColumnWriter) -> ReplayHeader {
        self.storage.write_columns(out)
    }

    /// Refills this empty buffer from [`ReplayBuffer::write_columns`]' output.
    pub(crate) fn read_columns(
        &mut self,
        header: &ReplayHeader,
        columns: &mut ColumnReader<'_>,
    ) -> Result<()> {
        if header.prioritized.is_some() {
            return Err(Error::config(
                "replay",
                "the kind of memory that was saved",
                "a prioritized memory's state for a uniform buffer",
            ));
        }
        self.storage.read_columns(header, columns)
    }
}

impl PrioritizedReplay {
    /// Writes the stored transitions and their priorities (for a training checkpoint).
    pub(crate) fn write_columns(&self, out: &mut ColumnWriter) -> ReplayHeader {
        let mut header = self.storage.write_columns(out);
        let priorities: Vec<f64> = (0..header.len)
            .map(|slot| self.tree.get(slot).unwrap_or(0.0))
            .collect();
        out.f64s(&priorities);
        header.prioritized = Some(PriorityHeader {
            max_priority: self.max_priority,
            progress: self.progress,
        });
        header
    }

    /// Refills this empty memory from [`PrioritizedReplay::write_columns`]' output. On an error
    /// it is left empty.
    pub(crate) fn read_columns(
        &mut self,
        header: &ReplayHeader,
        columns: &mut ColumnReader<'_>,
    ) -> Result<()> {
        let Some(PriorityHeader {
            max_priority,
            progress,
        }) = header.prioritized
        else {
            return Err(Error::config(
                "replay",
                "the kind of memory that was saved",
                "a uniform buffer's state for a prioritized memory",
            ));
        };
        if !(max_priority.is_finite() && max_priority > 0.0) {
            return Err(Error::config(
                "max_priority",
                "finite and > 0",
                max_priority,
            ));
        }
        crate::error::check_unit_interval("progress", progress)?;
        self.storage.read_columns(header, columns)?;
        let priorities = columns.f64s(header.len)?;
        let mut tree = SumTree::new(self.storage.capacity())?;
        for (slot, &priority) in priorities.iter().enumerate() {
            if let Err(error) = tree.update(slot, priority) {
                self.storage.clear_rows();
                return Err(error);
            }
        }
        (self.tree, self.max_priority, self.progress) = (tree, max_priority, progress);
        Ok(())
    }
}
