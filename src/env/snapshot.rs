//! [`Snapshot`]: environments whose whole state can be saved, so that a training run resumes
//! from a checkpoint exactly where it stopped.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;

/// An environment (or a set of copies: [`crate::env::SyncVecEnv`],
/// [`crate::lm::TokenRollouts`]) whose complete state (the episode in progress, step counters,
/// its random generator) can be taken out and put back. After `restore(snapshot())`, every later `reset`
/// and `step` returns what the original would have returned. Resumable training loops such
/// as [`crate::algo::dqn::train_dqn_resumable`] ask for it.
///
/// # Example
///
/// ```
/// use valuefn::env::classic::CartPoleConfig;
/// use valuefn::env::{Environment, Snapshot};
///
/// let mut env = CartPoleConfig::new().init()?;
/// env.reset(Some(3));
/// env.step(1)?;
/// let saved = env.snapshot();
/// let ahead = (env.step(0)?, env.reset(None));
///
/// let mut other = CartPoleConfig::new().init()?;
/// other.restore(saved)?;
/// assert_eq!((other.step(0)?, other.reset(None)), ahead);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub trait Snapshot {
    /// The saved state (plain data; serialised into checkpoints).
    type Snapshot: Serialize + DeserializeOwned;

    /// The current state.
    fn snapshot(&self) -> Self::Snapshot;

    /// Puts back a state taken from an environment built with the same settings.
    ///
    /// # Errors
    ///
    /// The environment's own errors for a state it could not be in (a non-finite coordinate, a
    /// step count beyond the limit): checked before anything changes.
    fn restore(&mut self, snapshot: Self::Snapshot) -> Result<()>;
}
