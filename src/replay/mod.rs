//! Experience replay for deep Q-learning: uniform and prioritized memories, and n-step
//! transitions.
//!
//! A training loop pushes [`Transition`]s (borrowed host data) into a [`Replay`] memory,
//! samples a [`SampledBatch`] of tensors from it, and feeds the TD errors of the sampled rows
//! back with [`Replay::update_priorities`]. Every memory keeps its transitions in flat host
//! columns allocated once ([`ReplayConfig`], with a size cap), and a sample moves each column to
//! the device in one transfer.
//!
//! | type | role |
//! |---|---|
//! | [`Transition`] | `(s, a, R, s', terminated, discount = gamma^k)` as borrowed slices |
//! | [`Replay`] | the memory trait: push, sample, update priorities, set progress |
//! | [`ReplayBuffer`] | uniform sampling with replacement; weights 1 |
//! | [`PrioritizedReplay`] | proportional prioritized replay (Schaul et al. 2016) on a [`SumTree`] |
//! | [`NStepCollector`] | per-copy windows that turn [`EnvStep`]s into n-step transitions |
//! | [`TransitionBatch`], [`SampledBatch`] | a sample as tensors, with its slots |
//!
//! Each stored row's TD target is `R + discount * (1 - terminated) * V(s')`, so one-step and
//! n-step transitions (and the shortened windows at episode ends) share one update.
//!
//! # Example
//!
//! ```
//! use rand::{SeedableRng, rngs::StdRng};
//! use valuefn::replay::{EnvStep, NStepCollector, Replay, ReplayBuffer, ReplayConfig};
//!
//! let device = valuefn::device::default_device();
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut buffer = ReplayBuffer::new(&ReplayConfig::new(1_000, 2, 2))?;
//! let mut collector = NStepCollector::new(3, 0.99, 2)?; // two environment copies
//! for t in 0..10 {
//!     for env in 0..2 {
//!         let (s, s_next) = ([t as f32, env as f32], [t as f32 + 1.0, env as f32]);
//!         let step = EnvStep {
//!             observation: &s, action: t % 2, reward: 1.0, next_observation: &s_next,
//!             terminated: false, truncated: t == 9,
//!         };
//!         collector.push(env, step, &mut buffer)?;
//!     }
//! }
//! // Per copy: 7 full windows (t = 0..=6), then t = 7, 8, 9 flushed by the time limit.
//! assert_eq!(buffer.len(), 20);
//! let sampled = buffer.sample(8, &device, &mut rng)?;
//! assert_eq!(sampled.batch.observations.dims(), [8, 2]);
//! assert_eq!(sampled.indices.len(), 8);
//! # Ok::<(), valuefn::Error>(())
//! ```

mod config;
mod memory;
mod n_step;
mod prioritized;
mod saved;
mod storage;
mod sum_tree;
mod transition;
mod uniform;

pub use crate::batch::TransitionBatch;
pub use config::{PrioritizedConfig, ReplayConfig};
pub use memory::{Replay, RowReplay, SampledBatch};
pub(crate) use n_step::Pending;
pub use n_step::{EnvStep, NStepCollector};
pub use prioritized::PrioritizedReplay;
pub(crate) use saved::ReplayHeader;
pub use sum_tree::SumTree;
pub use transition::Transition;
pub use uniform::ReplayBuffer;
