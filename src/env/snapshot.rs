//! [`Snapshot`]: environments whose whole state can be saved, so that a training run resumes
//! from a checkpoint exactly where it stopped.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// An environment (or a set of copies: [`crate::env::SyncVecEnv`],
/// [`crate::lm::TokenCollector`]) whose complete state (the episode in progress, step counters,
/// its random generator) can be taken out and put back. After `restore(snapshot())`, every later `reset`
/// and `step` returns what the original would have returned. Resumable training loops such
/// as [`crate::algo::dqn::train_dqn_resumable`] ask for it;
/// [`crate::algo::actor_critic::train_on_policy_resumable`] asks it of its hooks as well
/// (a KL penalty's `beta`), which is why `()` (nothing to save), `&mut T` and pairs `(A, B)`
/// (restored all or none) have it.
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

/// Restores each of `copies` from its state in `states`, all or none: when a copy refuses its
/// state, the copies restored before it are put back as they were. `what` names the states in
/// the error for a count other than one per copy. What every set of copies
/// ([`crate::env::SyncVecEnv`], [`crate::lm::TokenCollector`]) restores through.
pub(crate) fn restore_all<E: Snapshot>(
    what: &'static str,
    copies: &mut [E],
    states: Vec<E::Snapshot>,
) -> Result<()> {
    if states.len() != copies.len() {
        return Err(Error::ShapeMismatch {
            what,
            expected: vec![copies.len()],
            actual: vec![states.len()],
        });
    }
    let backup: Vec<E::Snapshot> = copies.iter().map(Snapshot::snapshot).collect();
    for (i, state) in states.into_iter().enumerate() {
        if let Err(error) = copies[i].restore(state) {
            // A copy's own earlier state is one it can be in: putting it back cannot fail.
            for (copy, state) in copies.iter_mut().zip(backup).take(i) {
                copy.restore(state)?;
            }
            return Err(error);
        }
    }
    Ok(())
}

/// Nothing to save: the hooks of a plain training run.
impl Snapshot for () {
    type Snapshot = ();

    fn snapshot(&self) {}

    fn restore(&mut self, (): ()) -> Result<()> {
        Ok(())
    }
}

/// State lent to a run (kept by the caller).
impl<T: Snapshot + ?Sized> Snapshot for &mut T {
    type Snapshot = T::Snapshot;

    fn snapshot(&self) -> T::Snapshot {
        (**self).snapshot()
    }

    fn restore(&mut self, snapshot: T::Snapshot) -> Result<()> {
        (**self).restore(snapshot)
    }
}

/// Both parts, all or none: when the second refuses its state, the first is put back.
impl<A: Snapshot, B: Snapshot> Snapshot for (A, B) {
    type Snapshot = (A::Snapshot, B::Snapshot);

    fn snapshot(&self) -> Self::Snapshot {
        (self.0.snapshot(), self.1.snapshot())
    }

    fn restore(&mut self, (first, second): Self::Snapshot) -> Result<()> {
        let before = self.0.snapshot();
        self.0.restore(first)?;
        if let Err(error) = self.1.restore(second) {
            // Its own earlier state is one the first part can be in.
            self.0.restore(before)?;
            return Err(error);
        }
        Ok(())
    }
}
