//! Random generators whose state is saved in checkpoints.

use chacha20::ChaCha12Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The state of a [`ChaCha12Rng`] (the generator behind rand's `StdRng`: the same seed gives
/// the same stream): its seed, stream and position, as 98 hex digits. Restoring it continues
/// the stream exactly where it was saved.
///
/// # Example
///
/// ```
/// use rand::{RngExt, SeedableRng};
/// use valuefn::checkpoint::{ChaCha12Rng, RngState};
///
/// let mut rng = ChaCha12Rng::seed_from_u64(7);
/// let _: u64 = rng.random();
/// let state = RngState::of(&rng);
/// let mut restored = state.restore()?;
/// assert_eq!(rng.random::<u64>(), restored.random::<u64>());
/// assert_eq!(
///     ChaCha12Rng::seed_from_u64(3).random::<u64>(),
///     rand::rngs::StdRng::seed_from_u64(3).random::<u64>(),
/// );
/// assert!(valuefn::checkpoint::RngState::from_hex("00ff").restore().is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState(String);

/// Bytes of a serialised ChaCha state: 32 of seed, 8 of stream, 9 of position.
const STATE_BYTES: usize = 49;

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &ChaCha12Rng) -> Self {
        Self(
            rng.serialize_state()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect(),
        )
    }

    /// A state from its hex digits (checked by [`RngState::restore`]).
    pub fn from_hex(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    /// A generator in this state.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the text is not 98 hex digits.
    pub fn restore(&self) -> Result<ChaCha12Rng> {
        let refuse = || Error::Decode {
            what: "random generator state",
            message: format!(
                "expected {} hex digits, got {:?}",
                2 * STATE_BYTES,
                self.0.chars().take(2 * STATE_BYTES + 2).collect::<String>()
            ),
        };
        let digits = self.0.as_bytes();
        if digits.len() != 2 * STATE_BYTES {
            return Err(refuse());
        }
        let mut state = [0u8; STATE_BYTES];
        for (byte, pair) in state.iter_mut().zip(digits.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| refuse())?;
            *byte = u8::from_str_radix(text, 16).map_err(|_| refuse())?;
        }
        Ok(ChaCha12Rng::deserialize_state(&state))
    }
}
